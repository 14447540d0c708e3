"""Resources whose calls live under one registry, which a call may leave to the client's default."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..exceptions import ValidationError
from ..models import RegistryList
from ..names import (
    REGISTRY_HOST,
    encode_repository,
    resolve_repository,
    validate_registry_name,
    validate_repository_name,
)
from ._base import MODERN, Resource, _invalid

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["RegistryScoped", "optional_registry", "split_repository"]


def optional_registry(registry: str | None) -> str | None:
    """Check a registry name a call may omit (``None``: the client's default).

    Raises:
        ValidationError: If a name is given and is not a registry name.
    """
    return None if registry is None else validate_registry_name(registry)


def split_repository(repository: str, registry: str | None) -> tuple[str | None, str]:
    """``(registry or None, repository)``, validated, from what a user passed.

    As :func:`~docr_async.names.resolve_repository`, except that a plain repository without
    ``registry=`` gives ``None`` for the registry (the client's default) instead of an error.

    Raises:
        ValidationError: If either name is invalid or they disagree.
    """
    if registry is None and not (isinstance(repository, str) and repository.startswith(REGISTRY_HOST + "/")):
        return None, validate_repository_name(repository)
    return resolve_repository(repository, registry)


class RegistryScoped(Resource):
    """A resource whose calls name a registry, or fall back to the client's default registry."""

    async def _registry(self, registry: str | None) -> str:
        """``registry`` (already checked), else the client's default (discovered at most once).

        Raises:
            RegistryDiscoveryError: If no default is configured and the account has several
                registries or none.
        """
        if registry is not None:
            return registry
        return await self._core.default_registry.resolve(self._registry_names)

    def _registry_path(self, registry: str | None, tail: str) -> str | Callable[[], Awaitable[str]]:
        """A listing's path, ``{prefix}/{registry}/{tail}``: built now when the registry is known,
        else on the first fetch.

        Listings are plain functions returning a pager, so a default that still has to be
        discovered is resolved inside the pager's first request, never before iteration.
        """
        prefix = self._prefix
        known = registry if registry is not None else self._core.default_registry.known
        if known is not None:
            return f"{prefix}/{known}/{tail}"

        async def path() -> str:
            return f"{prefix}/{await self._registry(None)}/{tail}"

        return path

    async def _delete_in_repository(self, repository: str, registry: str | None, tail: str = "") -> None:
        """``DELETE {prefix}/{registry}/repositories/{repository}{tail}``, the names checked first.

        Raises:
            ValidationError: On bad names (before any request).
        """
        given, repository = split_repository(repository, registry)
        registry = await self._registry(given)
        await self._call(
            "DELETE", f"{self._prefix}/{registry}/repositories/{encode_repository(repository)}{tail}"
        )

    async def _registry_names(self) -> tuple[str, ...]:
        """The account's registry names (one ``GET /v2/registries``).

        Raises:
            InvalidResponseError: If the list has a name that cannot be a registry name (it would
                otherwise end up in request paths).
        """
        response = await self._call("GET", MODERN)
        names = tuple(registry.name for registry in self._structure(response, RegistryList).registries)
        for name in names:
            try:
                validate_registry_name(name)
            except ValidationError as exc:
                message = self._core.scrub(f"the registry list has an unusable name: {exc}")
                raise _invalid(response, message) from None
        return names
