"""Tags."""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

from .._constants import DEFAULT_PER_PAGE
from ..models import Tag
from ..names import encode_repository, validate_tag
from ._scoped import RegistryScoped, split_repository

if TYPE_CHECKING:
    from ..pagination import AsyncPager, OnChange

__all__ = ["Tags"]


_tag_key = operator.attrgetter("tag")


class Tags(RegistryScoped):
    """Tags of a repository: ``client.tags`` (and ``client.legacy.tags``)."""

    def list(
        self,
        repository: str,
        *,
        registry: str | None = None,
        per_page: int = DEFAULT_PER_PAGE,
        page: int = 1,
        on_change: OnChange = "reread",
    ) -> AsyncPager[Tag]:
        """List a repository's tags, newest first.

        Await the result for the first page, or ``async for`` it for every tag.

        Args:
            repository: The repository (``my/app``), or a pasted ``registry.digitalocean.com/<reg>/<repo>``.
            registry: The registry name (default: the reference's, else the client's default registry).
            per_page: Page size, 1-200.
            page: The page to start from (1 = the newest).
            on_change: ``"reread"`` (default, bounded) or ``"raise"``, when the listing changed while it
                was read (see :mod:`docr_async.pagination`).

        Raises:
            ValidationError: On bad names, ``per_page`` or ``on_change`` (before any request).
            ListingChangedError: While iterating, if the listing changed (see ``on_change``).
        """
        given, repository = split_repository(repository, registry)
        path = self._registry_path(given, f"repositories/{encode_repository(repository)}/tags")
        return self._list(
            path, "tags", Tag, per_page=per_page, page=page, identity=_tag_key, on_change=on_change
        )

    async def delete(self, tag: str, *, repository: str, registry: str | None = None) -> None:
        """Delete one tag. Its manifest stays (untagged) until deleted or garbage-collected.

        Raises:
            ValidationError: On bad names (before any request).
            NotFoundError: If the tag does not exist.
            ConflictError: If garbage collection holds the registry read-only.
        """
        tag = validate_tag(tag)
        await self._delete_in_repository(repository, registry, f"/tags/{tag}")
