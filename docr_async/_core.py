"""``ClientCore``: the narrow object resources are built on (transport, converter, settings).

A resource needs three things from a client: a way to send a request (the :class:`Transport`), a
way to turn a JSON body into models (the cattrs converter), and the listing settings (prefetch,
``max_pages``). :class:`ClientCore` holds exactly those, so resources never see the client and the
client is only configuration, ownership and the public namespaces. ``DOCRClient.with_options``
derives a new core with :meth:`ClientCore.with_options`; the copy shares the connection pool, the
rate limiter, the concurrency bound and the stats.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs
import cattrs

from ._default_registry import DefaultRegistry
from ._transport import Transport

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._limiter import Limiter
    from ._retry import RetryPolicy
    from ._transport import APIResponse, Timeout

__all__ = ["ClientCore", "Settings"]

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class Settings:
    """Client options the resources read (the transport holds the rest)."""

    prefetch: int
    """Pages fetched ahead while iterating a listing."""
    max_pages: int
    """A listing with more pages raises ``PaginationError``."""
    strict: bool
    """Whether the converter rejects unknown response fields."""


@attrs.frozen(kw_only=True)
class ClientCore:
    """Transport, converter and settings: everything a resource may use of its client."""

    transport: Transport
    converter: cattrs.Converter
    settings: Settings
    default_registry: DefaultRegistry = attrs.field(factory=DefaultRegistry)
    """The registry of calls that name none; shared (not copied) by ``with_options`` cores."""
    _item_hooks: dict[type, Callable[[Any], tuple[Any, ...]]] = attrs.field(
        factory=dict, init=False, repr=False, eq=False
    )
    """Memoised :meth:`items_hook` results of this core's converter."""

    def with_options(self, *, retry: RetryPolicy, timeout: Timeout, max_wait: float | None) -> ClientCore:
        """A core whose transport has other per-call options and shares everything else."""
        return attrs.evolve(
            self, transport=self.transport.copy(retry=retry, timeout=timeout, max_wait=max_wait)
        )

    @property
    def limiter(self) -> Limiter:
        """The client's shared rate limiter (its ``clock`` times every wait)."""
        return self.transport.limiter

    async def request(
        self, method: str, path: str, *, params: Mapping[str, str | int] | None = None, body: Any = None
    ) -> APIResponse:
        """Send one API call through the transport (retries, limiter, error mapping included)."""
        return await self.transport.request(method, path, params=params, json_body=body)

    def items_hook(self, cls: type[T]) -> Callable[[Any], tuple[T, ...]]:
        """The converter's function from a JSON array to ``tuple[cls, ...]`` (raises as :meth:`structure`).

        Looked up once per core and model instead of once per page (cattrs' dispatch is a cache
        lookup keyed by the generic alias, about as costly as structuring a small page's envelope).
        The memo belongs to this core and its converter: a ``with_options`` core starts its own.
        """
        found = self._item_hooks.get(cls)
        if found is None:
            item_type = tuple[cls, ...]  # type: ignore[valid-type]
            hook = self.converter.get_structure_hook(item_type)

            def structure_items(data: Any) -> tuple[T, ...]:
                items: tuple[T, ...] = hook(data, item_type)
                return items

            found = self._item_hooks[cls] = structure_items
        return cast("Callable[[Any], tuple[T, ...]]", found)

    def structure(self, data: Any, cls: type[T]) -> T:
        """Structure JSON data into ``cls`` with the client's converter (raises cattrs/shape errors)."""
        return self.converter.structure(data, cls)

    def scrub(self, text: str) -> str:
        """Remove the token from text that may reach an exception or a log line."""
        return self.transport.scrub(text)
