"""Manifests (digests)."""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

from .._constants import DEFAULT_PER_PAGE
from ..models import Manifest
from ..names import encode_repository, validate_digest
from ._scoped import RegistryScoped, split_repository

if TYPE_CHECKING:
    from ..pagination import AsyncPager, OnChange

__all__ = ["Manifests"]


_digest = operator.attrgetter("digest")


class Manifests(RegistryScoped):
    """Manifests of a repository: ``client.manifests`` (and ``client.legacy.manifests``)."""

    def list(
        self,
        repository: str,
        *,
        registry: str | None = None,
        per_page: int = DEFAULT_PER_PAGE,
        page: int = 1,
        on_change: OnChange = "reread",
    ) -> AsyncPager[Manifest]:
        """List a repository's manifests (tagged and untagged), newest first.

        The arguments are those of ``client.tags.list`` (``on_change``: ``"reread"`` or ``"raise"``).

        Raises:
            ValidationError: On bad names, ``per_page`` or ``on_change`` (before any request).
            ListingChangedError: While iterating, if the listing changed (see ``on_change``).
        """
        given, repository = split_repository(repository, registry)
        path = self._registry_path(given, f"repositories/{encode_repository(repository)}/digests")
        return self._list(
            path, "manifests", Manifest, per_page=per_page, page=page, identity=_digest, on_change=on_change
        )

    async def delete(self, digest: str, *, repository: str, registry: str | None = None) -> None:
        """Delete a manifest. This removes EVERY tag pointing at it.

        Raises:
            ValidationError: On bad names or digest (before any request).
            NotFoundError: If the manifest does not exist.
            ConflictError: If garbage collection holds the registry read-only.
        """
        digest = validate_digest(digest)
        await self._delete_in_repository(repository, registry, f"/digests/{digest}")
