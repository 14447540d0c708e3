"""The deprecated single-registry API (``/v2/registry``), in one clearly named place.

Accounts with more than one registry get 412 from ``get`` and ``delete`` here
(:class:`~docr_async.exceptions.PreconditionFailedError`, with a hint to use ``client.registries``).
Everything else is also offered by the multi-registry API; only ``repositories.list_v1`` (superseded)
and the single-registry create/get/delete are unique to this family.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from ..models import DockerCredentials, Registry, TierSlug
from ._base import LEGACY
from .garbage_collections import GarbageCollections
from .manifests import Manifests
from .registries import AccountCalls, create_body, validate_credentials_query
from .repositories import LegacyRepositories
from .tags import Tags

if TYPE_CHECKING:
    from .._core import ClientCore

__all__ = ["Legacy"]


class Legacy(AccountCalls):
    """``client.legacy``: the deprecated ``/v2/registry`` family (all 18 operations)."""

    def __init__(self, core: ClientCore) -> None:
        super().__init__(core, LEGACY)

    @cached_property
    def repositories(self) -> LegacyRepositories:
        """Repository listings (V2 and the superseded V1)."""
        return LegacyRepositories(self._core, LEGACY)

    @cached_property
    def tags(self) -> Tags:
        """Tag listing and deletion."""
        return Tags(self._core, LEGACY)

    @cached_property
    def manifests(self) -> Manifests:
        """Manifest listing and deletion."""
        return Manifests(self._core, LEGACY)

    @cached_property
    def garbage_collections(self) -> GarbageCollections:
        """Garbage collection."""
        return GarbageCollections(self._core, LEGACY)

    async def get(self) -> Registry:
        """Get the account's registry.

        Raises:
            PreconditionFailedError: If the account has several registries.
        """
        return self._structure(await self._call("GET", self._prefix), Registry, "registry")

    async def create(
        self, name: str, *, subscription_tier: TierSlug | str, region: str | None = None
    ) -> Registry:
        """Create the account's registry (the tier is required in this API)."""
        body = create_body(name, subscription_tier, region, new=True)
        return self._structure(await self._call("POST", self._prefix, body=body), Registry, "registry")

    async def delete(self) -> None:
        """Delete the account's registry.

        Raises:
            PreconditionFailedError: If the account has several registries.
        """
        await self._call("DELETE", self._prefix)

    async def docker_credentials(
        self, *, expiry_seconds: int | None = None, read_write: bool = False
    ) -> DockerCredentials:
        """Get docker credentials for the account's registry (see ``Registries.docker_credentials``)."""
        params = validate_credentials_query(expiry_seconds, read_write)
        response = await self._call("GET", f"{self._prefix}/docker-credentials", params=params)
        return self._structure(response, DockerCredentials)
