"""What every resource class shares: one way to call, structure, and list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import cattrs
from cattrs.errors import CattrsError

from .._builders import frozen_builder
from ..exceptions import InvalidResponseError, ValidationError
from ..pagination import AsyncPager, OnChange, Page, Query, validate_on_change, validate_per_page

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Hashable, Mapping

    from .._core import ClientCore
    from .._transport import APIResponse

__all__ = ["LEGACY", "MODERN", "Resource"]

T = TypeVar("T")

MODERN = "/v2/registries"
"""Path prefix of the multi-registry API."""
LEGACY = "/v2/registry"
"""Path prefix of the deprecated single-registry API."""

# What structuring a body of the wrong shape raises. ``CattrsError`` covers the strict converter's
# ``ForbiddenExtraKeysError``, which is not a ``BaseValidationError`` (it escaped as a raw cattrs error).
_SHAPE_ERRORS = (
    TypeError,
    ValueError,
    KeyError,
    AttributeError,
    cattrs.BaseValidationError,
    CattrsError,
    OverflowError,  # int(inf) from a JSON 1e400, datetime.fromtimestamp(1e300)
)


_build_page = frozen_builder(Page)


class Resource:
    """Base of the resource namespaces: holds the client's core and the API family's path prefix."""

    def __init__(self, core: ClientCore, prefix: str = MODERN) -> None:
        self._core = core
        self._prefix = prefix

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self._prefix!r})"

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
    ) -> APIResponse:
        return await self._core.request(method, path, params=params, body=body)

    def _structure(self, response: APIResponse, cls: type[T], key: str | None = None) -> T:
        """Structure ``response.data[key]`` (or the whole body) into ``cls``.

        Raises:
            InvalidResponseError: If the body does not have the documented shape.
        """
        data = response.data
        try:
            if key is not None:
                if not isinstance(data, dict) or key not in data:
                    raise TypeError(f"expected an object with key {key!r}")
                data = data[key]
            return self._core.structure(data, cls)
        except _SHAPE_ERRORS as exc:
            # Server text (a bad value) may echo the token back: scrub it like error messages.
            message = self._core.scrub(f"unexpected response shape: {exc}")
        # Raised outside the except block, so the structuring error (holding the raw values) is
        # not chained to it.
        raise _invalid(response, message)

    def _list(
        self,
        path: str | Callable[[], Awaitable[str]],
        key: str,
        cls: type[T],
        *,
        per_page: int,
        page: int = 1,
        page_token: str | None = None,
        token_based: bool = False,
        identity: Callable[[T], Hashable],
        on_change: OnChange = "reread",
    ) -> AsyncPager[T]:
        """An :class:`AsyncPager` over a paged listing at ``path`` whose items are under ``key``.

        ``path`` may be a coroutine function giving the path, called on every fetch (the first one
        may discover the client's default registry). ``identity`` gives an item's key (tag name,
        digest, uuid, name), for de-duplication and for detecting a listing that changed while it
        was read (``on_change``).

        Raises:
            ValidationError: If ``per_page``, ``page`` or ``on_change`` is invalid (before any request).
        """
        on_change = validate_on_change(on_change)
        if not isinstance(page, int) or isinstance(page, bool) or page < 1:
            raise ValidationError("page", page, "must be an int >= 1")
        query: Query = {"per_page": str(validate_per_page(per_page)), "page": str(page)}
        if page_token is not None:
            if not isinstance(page_token, str) or not page_token:
                raise ValidationError("page_token", page_token, "must be a non-empty string")
            query["page_token"] = page_token
        core = self._core
        request = core.request
        structure_items = core.items_hook(cls)

        async def fetch(q: Query) -> Page[T]:
            # A callable path resolves the client's default registry on the first fetch.
            response = await request("GET", path if isinstance(path, str) else await path(), params=q)
            data = response.data
            if not isinstance(data, dict):
                raise _invalid(response, "expected a JSON object")
            if key not in data and (data.get("meta") or {}).get("total") != 0:
                # An empty listing may omit its array; one that reports items may not.
                raise _invalid(response, f"expected a JSON object with key {key!r}")
            shape_error = None
            try:
                items = structure_items(data.get(key) or [])
                meta = data.get("meta") or {}
                total = meta.get("total")
                links = (data.get("links") or {}).get("pages") or {}
                if not isinstance(links, dict):
                    raise TypeError(f"links.pages must be an object, got {type(links).__name__}")
            except _SHAPE_ERRORS as exc:
                shape_error = core.scrub(f"unexpected listing shape: {exc}")
            if shape_error is not None:  # raised here, not chained to the structuring error
                raise _invalid(response, shape_error)
            return _build_page(
                items=items,
                total=total if isinstance(total, int) else None,
                query=q,
                links={k: v for k, v in links.items() if isinstance(v, str)},
                rate_limit=response.rate_limit,
                request_id=response.request_id,
            )

        return AsyncPager(
            fetch,
            query,
            token_based=token_based,
            prefetch=core.settings.prefetch,
            max_pages=core.settings.max_pages,
            key=identity,
            on_change=on_change,
        )


def _invalid(response: APIResponse, message: str) -> InvalidResponseError:
    return InvalidResponseError(
        status=response.status,
        message=message,
        request_id=response.request_id,
        method=response.method,
        url=response.url,
        rate_limit=response.rate_limit,
        retries=response.retries,
    )
