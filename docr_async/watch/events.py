"""The typed events :meth:`DOCRClient.watch` yields.

Every event is a frozen attrs class with the registry, the repository (``""`` for registry-wide
events), when the watcher observed it (``observed_at``), when the API says it happened
(``occurred_at``, when the API says) and a stable :attr:`WatchEvent.id`: the same change gets the same
id after a restart from a saved state, so a bot can de-duplicate announcements.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, ClassVar

import attrs

__all__ = [
    "EVENT_KINDS",
    "GarbageCollectionFinished",
    "GarbageCollectionStarted",
    "ManifestDeleted",
    "RepositoryCreated",
    "RepositoryDeleted",
    "StorageChanged",
    "TagDeleted",
    "TagMoved",
    "TagPushed",
    "WatchEvent",
]


def _stamp(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


@attrs.frozen(kw_only=True)
class WatchEvent:
    """What every event carries.

    Attributes:
        registry: The registry.
        repository: The repository (``""`` for garbage collection and storage events).
        observed_at: When the watcher saw the change (its clock, timezone-aware UTC).
        occurred_at: When the API says it happened, if it says (a tag's ``updated_at``...).
    """

    kind: ClassVar[str] = "event"
    """The event's name in JSON output (``tag_pushed``...)."""

    registry: str
    repository: str = ""
    observed_at: datetime | None = attrs.field(default=None, eq=False)
    occurred_at: datetime | None = None

    def _identity(self) -> tuple[str, ...]:
        return (self.registry, self.repository, _stamp(self.occurred_at))

    @property
    def id(self) -> str:
        """A stable id: the same change has the same id, also after a restart from a saved state."""
        text = "\x00".join((self.kind, *self._identity()))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict: ``kind``, ``id`` and every field (datetimes as ISO 8601 strings)."""
        data: dict[str, Any] = {"kind": self.kind, "id": self.id}
        for name, value in attrs.asdict(self, recurse=False).items():
            data[name] = value.isoformat() if isinstance(value, datetime) else value
        return data


@attrs.frozen(kw_only=True)
class TagPushed(WatchEvent):
    """A new tag appeared (``occurred_at``: the tag's ``updated_at``)."""

    kind: ClassVar[str] = "tag_pushed"
    tag: str
    """The tag."""
    digest: str
    """The manifest it points at."""

    def _identity(self) -> tuple[str, ...]:
        return (*super()._identity(), self.tag, self.digest)


@attrs.frozen(kw_only=True)
class TagMoved(WatchEvent):
    """A tag now points at another manifest."""

    kind: ClassVar[str] = "tag_moved"
    tag: str
    """The tag."""
    digest: str
    """The manifest it points at now."""
    previous_digest: str
    """The manifest it pointed at before."""

    def _identity(self) -> tuple[str, ...]:
        return (*super()._identity(), self.tag, self.digest, self.previous_digest)


@attrs.frozen(kw_only=True)
class TagDeleted(WatchEvent):
    """A tag disappeared (deleted, or removed with its manifest); ``occurred_at`` is unknown."""

    kind: ClassVar[str] = "tag_deleted"
    tag: str
    """The tag."""
    digest: str
    """The manifest it pointed at."""
    previous_updated_at: datetime | None = None
    """When the deleted tag had last been pushed (part of the id: a tag deleted twice differs)."""

    def _identity(self) -> tuple[str, ...]:
        return (*super()._identity(), self.tag, self.digest, _stamp(self.previous_updated_at))


@attrs.frozen(kw_only=True)
class ManifestDeleted(WatchEvent):
    """A manifest disappeared (deleted, or removed by a garbage collection)."""

    kind: ClassVar[str] = "manifest_deleted"
    digest: str
    """The manifest digest."""

    def _identity(self) -> tuple[str, ...]:
        return (*super()._identity(), self.digest)


@attrs.frozen(kw_only=True)
class RepositoryCreated(WatchEvent):
    """A repository appeared (its tags follow as :class:`TagPushed` events)."""

    kind: ClassVar[str] = "repository_created"


@attrs.frozen(kw_only=True)
class RepositoryDeleted(WatchEvent):
    """A repository disappeared with its tags and manifests (no per-tag events follow)."""

    kind: ClassVar[str] = "repository_deleted"
    last_digest: str = ""
    """The latest manifest it had, as last seen (part of the id)."""

    def _identity(self) -> tuple[str, ...]:
        return (*super()._identity(), self.last_digest)


@attrs.frozen(kw_only=True)
class GarbageCollectionStarted(WatchEvent):
    """A garbage collection started (``occurred_at``: its ``created_at``)."""

    kind: ClassVar[str] = "garbage_collection_started"
    uuid: str
    """The garbage collection."""
    type: str | None = None
    """What it removes, when the API says."""

    def _identity(self) -> tuple[str, ...]:
        return (self.registry, self.uuid)


@attrs.frozen(kw_only=True)
class GarbageCollectionFinished(WatchEvent):
    """A garbage collection ended: succeeded, failed or cancelled (``occurred_at``: ``updated_at``)."""

    kind: ClassVar[str] = "garbage_collection_finished"
    uuid: str
    """The garbage collection."""
    status: str
    """``succeeded``, ``failed`` or ``cancelled``."""
    freed_bytes: int | None = None
    """Bytes freed (when it succeeded)."""
    blobs_deleted: int | None = None
    """Blobs removed (when it succeeded)."""

    def _identity(self) -> tuple[str, ...]:
        return (self.registry, self.uuid)


@attrs.frozen(kw_only=True)
class StorageChanged(WatchEvent):
    """The registry's storage usage changed (``occurred_at``: ``storage_usage_bytes_updated_at``)."""

    kind: ClassVar[str] = "storage_changed"
    storage_usage_bytes: int
    """The usage now."""
    previous_bytes: int | None = None
    """The usage before (``None``: unknown)."""

    def _identity(self) -> tuple[str, ...]:
        return (*super()._identity(), str(self.storage_usage_bytes))


EVENT_KINDS: dict[str, type[WatchEvent]] = {
    cls.kind: cls
    for cls in (
        TagPushed,
        TagMoved,
        TagDeleted,
        ManifestDeleted,
        RepositoryCreated,
        RepositoryDeleted,
        GarbageCollectionStarted,
        GarbageCollectionFinished,
        StorageChanged,
    )
}
"""Every event class by its :attr:`WatchEvent.kind` (for ``kinds=`` and JSON consumers)."""
