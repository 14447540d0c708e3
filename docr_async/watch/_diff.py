"""Pure functions: what changed in a repository, as events, and how each event updates the state."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from .events import (
    ManifestDeleted,
    TagDeleted,
    TagMoved,
    TagPushed,
    WatchEvent,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..models import Tag
    from .state import RepositoryState

__all__ = ["apply_event", "diff_repository", "parse_stamp", "tag_map"]


def stamp(value: datetime | None) -> str:
    """A datetime as stored in the state (ISO 8601, ``""`` for none)."""
    return value.isoformat() if value is not None else ""


def parse_stamp(value: str) -> datetime | None:
    """The inverse of :func:`stamp`."""
    return datetime.fromisoformat(value) if value else None


def tag_map(tags: Iterable[Tag]) -> dict[str, tuple[str, str]]:
    """``{tag: (digest, updated_at)}`` of a tag listing."""
    return {t.tag: (t.manifest_digest, stamp(t.updated_at)) for t in tags}


def diff_repository(
    old: RepositoryState,
    tags: dict[str, tuple[str, str]],
    manifests: set[str] | None,
    *,
    registry: str,
    repository: str,
    observed_at: datetime,
) -> list[WatchEvent]:
    """The events that turn ``old`` into the listed ``tags`` (and ``manifests``, when listed).

    Order: tag deletions, manifest deletions, then pushes and moves oldest first (by the tag's
    ``updated_at``). A tag re-pushed onto the digest it already had is no event.
    """
    common: dict[str, Any] = {"registry": registry, "repository": repository, "observed_at": observed_at}
    events: list[WatchEvent] = []
    for name in sorted(set(old.tags) - set(tags)):
        digest, updated = old.tags[name]
        events.append(TagDeleted(tag=name, digest=digest, previous_updated_at=parse_stamp(updated), **common))
    if manifests is not None:
        events.extend(ManifestDeleted(digest=d, **common) for d in sorted(old.manifests - manifests))
    changes: list[tuple[str, str, WatchEvent]] = []
    for name, (digest, updated) in tags.items():
        before = old.tags.get(name)
        when = parse_stamp(updated)
        if before is None:
            changes.append((updated, name, TagPushed(tag=name, digest=digest, occurred_at=when, **common)))
        elif before[0] != digest:
            changes.append(
                (
                    updated,
                    name,
                    TagMoved(tag=name, digest=digest, previous_digest=before[0], occurred_at=when, **common),
                )
            )
    events.extend(event for _, _, event in sorted(changes, key=lambda c: (c[0], c[1])))
    return events


def apply_event(repo: RepositoryState, event: WatchEvent) -> None:
    """Update ``repo`` by one event of :func:`diff_repository`."""
    if isinstance(event, TagPushed | TagMoved):
        repo.tags[event.tag] = (event.digest, stamp(event.occurred_at))
        repo.manifests.add(event.digest)
    elif isinstance(event, TagDeleted):
        repo.tags.pop(event.tag, None)
    elif isinstance(event, ManifestDeleted):
        repo.manifests.discard(event.digest)
