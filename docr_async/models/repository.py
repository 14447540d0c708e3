"""Repositories, tags, manifests and blobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

__all__ = ["Blob", "Manifest", "Repository", "RepositoryV2", "Tag"]


@attrs.frozen(kw_only=True)
class Blob:
    """A layer or config blob of a manifest."""

    digest: str = ""
    """Content digest."""
    compressed_size_bytes: int | None = None
    """Compressed size."""
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    """Fields the API sent that this version does not know."""


@attrs.frozen(kw_only=True)
class Tag:
    """A tag of a repository (``repository_tag``)."""

    registry_name: str = ""
    """The registry."""
    repository: str = ""
    """The repository (unencoded, may contain ``/``)."""
    tag: str = ""
    """The tag."""
    manifest_digest: str = ""
    """The digest of the manifest the tag points to."""
    compressed_size_bytes: int | None = None
    """Compressed size of the image."""
    size_bytes: int | None = None
    """Uncompressed size; computed asynchronously, may be missing."""
    updated_at: datetime | None = None
    """When the tag was last pushed."""
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    """Fields the API sent that this version does not know."""


@attrs.frozen(kw_only=True)
class Manifest:
    """A manifest of a repository (``repository_manifest``)."""

    registry_name: str = ""
    """The registry."""
    repository: str = ""
    """The repository (unencoded)."""
    digest: str = ""
    """The manifest digest (``sha256:...``)."""
    compressed_size_bytes: int | None = None
    """Compressed size."""
    size_bytes: int | None = None
    """Uncompressed size; computed asynchronously, may be missing."""
    updated_at: datetime | None = None
    """When the manifest was last pushed."""
    tags: tuple[str, ...] = ()
    """Tags pointing at it; empty means untagged."""
    blobs: tuple[Blob, ...] = ()
    """Its blobs."""
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    """Fields the API sent that this version does not know."""

    @property
    def is_untagged(self) -> bool:
        """True when no tag points at this manifest."""
        return not self.tags


@attrs.frozen(kw_only=True)
class Repository:
    """A repository as listed by the legacy V1 listing (``repository``)."""

    registry_name: str = ""
    """The registry."""
    name: str = ""
    """Repository name (unencoded, may contain ``/``)."""
    latest_tag: Tag | None = None
    """The most recently pushed tag."""
    tag_count: int | None = None
    """Number of tags."""
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    """Fields the API sent that this version does not know."""


@attrs.frozen(kw_only=True)
class RepositoryV2:
    """A repository as listed by the V2 listing (``repository_v2``)."""

    registry_name: str = ""
    """The registry."""
    name: str = ""
    """Repository name (unencoded, may contain ``/``)."""
    latest_manifest: Manifest | None = None
    """The most recently pushed manifest."""
    tag_count: int | None = None
    """Number of tags."""
    manifest_count: int | None = None
    """Number of manifests (tagged and untagged)."""
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    """Fields the API sent that this version does not know."""
