"""Repositories."""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

from .._constants import DEFAULT_PER_PAGE
from ..models import Repository, RepositoryV2
from ._scoped import RegistryScoped, optional_registry

if TYPE_CHECKING:
    from ..pagination import AsyncPager, OnChange

__all__ = ["LegacyRepositories", "Repositories"]


_name = operator.attrgetter("name")


class _RepositoryListing(RegistryScoped):
    def list(
        self,
        registry: str | None = None,
        *,
        per_page: int = DEFAULT_PER_PAGE,
        page_token: str | None = None,
        on_change: OnChange = "reread",
    ) -> AsyncPager[RepositoryV2]:
        """List the repositories of a registry (V2 listing, cursor-paginated).

        Await the result for the first page, or ``async for`` it for every repository.

        Args:
            registry: The registry name (default: the client's default registry).
            per_page: Page size, 1-200.
            page_token: Resume a listing from a saved :attr:`Page.next_page_token`.
            on_change: ``"reread"`` (default, bounded) or ``"raise"``, when the listing changed while it
                was read (see :mod:`docr_async.pagination`).
                A cursor listing checks ``total``, duplicates and (read from its start) the item
                count; what a cursor shift it cannot see means is in ``docr_async.pagination``.

        Raises:
            ValidationError: On a bad registry name, ``per_page`` or ``on_change`` (before any request).
            ListingChangedError: While iterating, if the listing changed (see ``on_change``).
        """
        path = self._registry_path(optional_registry(registry), "repositoriesV2")
        return self._list(
            path,
            "repositories",
            RepositoryV2,
            per_page=per_page,
            page_token=page_token,
            token_based=True,
            identity=_name,
            on_change=on_change,
        )


class Repositories(_RepositoryListing):
    """Repositories in the multi-registry API: ``client.repositories``."""

    async def delete(self, repository: str, *, registry: str | None = None) -> None:
        """Delete a repository with all its tags and manifests.

        Args:
            repository: The repository (``my/app``), or a pasted ``registry.digitalocean.com/<reg>/<repo>``.
            registry: The registry name (default: the reference's, else the client's default registry).

        Raises:
            NotFoundError: If it does not exist.
            ConflictError: If garbage collection holds the registry read-only.
        """
        await self._delete_in_repository(repository, registry)


class LegacyRepositories(_RepositoryListing):
    """Repositories in the deprecated single-registry API: ``client.legacy.repositories``."""

    def list_v1(
        self,
        registry: str | None = None,
        *,
        per_page: int = DEFAULT_PER_PAGE,
        page: int = 1,
        on_change: OnChange = "reread",
    ) -> AsyncPager[Repository]:
        """List repositories with the superseded V1 listing (``latest_tag`` instead of ``latest_manifest``).

        Args:
            registry: The registry name (default: the client's default registry).
            per_page: Page size, 1-200.
            page: The page to start from.
            on_change: ``"reread"`` (default, bounded) or ``"raise"``, when the listing changed while it
                was read (see :mod:`docr_async.pagination`).
                Name-ordered by page number: an add after the read position together with a delete
                before it can go unseen (see ``docr_async.pagination``).

        Raises:
            ValidationError: On a bad registry name, ``per_page`` or ``on_change``.
            ListingChangedError: While iterating, if the listing changed (see ``on_change``).
        """
        path = self._registry_path(optional_registry(registry), "repositories")
        return self._list(
            path,
            "repositories",
            Repository,
            per_page=per_page,
            page=page,
            identity=_name,
            on_change=on_change,
        )
