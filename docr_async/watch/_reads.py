"""What one poll reads from the registry, as steps: an event (or none) and the state change with it.

The :class:`~docr_async.watch.Watcher` decides *when* to read and how much it may spend; this
module decides *what* a read means. Each method sends the requests of one read and returns the
steps; nothing is applied here, so the watcher applies each change just before it yields its event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

import attrs

from ..exceptions import NotFoundError
from ..models.garbage_collection import TERMINAL_STATUSES
from ._diff import apply_event, diff_repository, stamp, tag_map
from ._types import WatchClient
from .events import (
    GarbageCollectionFinished,
    GarbageCollectionStarted,
    RepositoryCreated,
    RepositoryDeleted,
    StorageChanged,
    WatchEvent,
)
from .state import Fingerprint, RepositoryState, WatchState

if TYPE_CHECKING:
    from ..models import RepositoryV2

__all__ = ["PER_PAGE", "Reads", "Step", "deleted_step", "fingerprint"]

PER_PAGE = 200

Step = tuple["WatchEvent | None", "Callable[[], object]"]
"""An event (or none) and the state change that goes with it, applied just before it is yielded."""


def fingerprint(repo: RepositoryV2) -> Fingerprint:
    """What the repository listing tells of a repository: latest digest and push, tag and manifest counts."""
    latest = repo.latest_manifest
    return (
        latest.digest if latest else "",
        stamp(latest.updated_at) if latest else "",
        repo.tag_count or 0,
        repo.manifest_count or 0,
    )


def deleted_step(state: WatchState, name: str, now: datetime) -> Step:
    """A repository the listing no longer shows: its deletion event, and forgetting it."""
    event = RepositoryDeleted(
        registry=state.registry,
        repository=name,
        last_digest=state.repositories[name].fingerprint[0],
        observed_at=now,
    )
    return (event, partial(state.repositories.pop, name, None))


def _when(fp: Fingerprint) -> datetime | None:
    return datetime.fromisoformat(fp[1]) if fp[1] else None


@attrs.frozen
class Reads:
    """The reads of one poll of ``state.registry``, timed by ``now`` (``observed_at``)."""

    client: WatchClient
    state: WatchState
    now: Callable[[], datetime]

    async def repositories(self, only: frozenset[str] | None) -> dict[str, Fingerprint]:
        """The repository listing (only the watched ones), as fingerprints."""
        repos = await self.client.repositories.list(self.state.registry, per_page=PER_PAGE).collect()
        return {r.name: fingerprint(r) for r in repos if only is None or r.name in only}

    async def _read(
        self, name: str, *, manifests: bool
    ) -> tuple[dict[str, tuple[str, str]], set[str] | None]:
        registry = self.state.registry
        tags = tag_map(await self.client.tags.list(name, registry=registry, per_page=PER_PAGE).collect())
        if not manifests:
            return tags, None
        listed = await self.client.manifests.list(name, registry=registry, per_page=PER_PAGE).collect()
        return tags, {m.digest for m in listed}

    async def create(self, name: str, fp: Fingerprint, now: datetime) -> list[Step]:
        """A new repository: its creation event, then everything in it."""
        state = self.state
        repo = RepositoryState()
        created = RepositoryCreated(
            registry=state.registry, repository=name, occurred_at=_when(fp), observed_at=now
        )
        steps: list[Step] = [(created, partial(state.repositories.__setitem__, name, repo))]
        return steps + await self.refresh(name, fp, with_manifests=True, repo=repo)

    async def baseline(self, name: str, *, replay: bool) -> list[Step]:
        """Read a pending repository: silently, or (``replay``) as a created one."""
        state = self.state
        fp = state.pending[name]
        drop: Step = (None, partial(state.pending.pop, name, None))
        if replay:
            return [drop, *await self.create(name, fp, self.now())]
        try:
            tags, manifests = await self._read(name, manifests=True)
        except NotFoundError:
            return [drop]
        repo = RepositoryState(fingerprint=fp, tags=tags, manifests=manifests or set())
        return [drop, (None, partial(state.repositories.__setitem__, name, repo))]

    async def refresh(
        self, name: str, fp: Fingerprint, *, with_manifests: bool, repo: RepositoryState | None = None
    ) -> list[Step]:
        """Re-read one repository: its changes, then recording ``fp`` once all are applied."""
        if repo is None:
            repo = self.state.repositories[name]
        need_manifests = with_manifests and (fp[3] != repo.fingerprint[3] or fp[0] not in repo.manifests)
        try:
            tags, manifests = await self._read(name, manifests=need_manifests)
        except NotFoundError:
            return []  # deleted since the listing: the next listing reports it
        events = diff_repository(
            repo, tags, manifests, registry=self.state.registry, repository=name, observed_at=self.now()
        )
        steps: list[Step] = [(event, partial(apply_event, repo, event)) for event in events]

        def done() -> None:
            assert repo is not None
            repo.tags = tags
            if manifests is not None:
                repo.manifests = manifests
            repo.manifests.update(digest for digest, _ in tags.values())
            repo.fingerprint = fp

        steps.append((None, done))
        return steps

    async def garbage_collections(self, *, record_only: bool = False) -> tuple[list[Step], bool]:
        """Started and finished garbage collections, and whether one is still running."""
        state = self.state
        page = await self.client.garbage_collections.list(state.registry, per_page=20)
        active = any(not gc.is_terminal for gc in page.items)
        if record_only:
            state.garbage_collections.update((gc.uuid, gc.status) for gc in page.items)
            return [], active
        now = self.now()
        steps: list[Step] = []
        for gc in sorted(page.items, key=lambda g: (stamp(g.created_at), g.uuid)):
            known = state.garbage_collections.get(gc.uuid)
            record = partial(state.garbage_collections.__setitem__, gc.uuid)
            if known is None:
                started = GarbageCollectionStarted(
                    registry=state.registry,
                    uuid=gc.uuid,
                    type=gc.type,
                    occurred_at=gc.created_at,
                    observed_at=now,
                )
                steps.append((started, partial(record, "requested")))
            if gc.is_terminal and known not in TERMINAL_STATUSES:
                finished = GarbageCollectionFinished(
                    registry=state.registry,
                    uuid=gc.uuid,
                    status=gc.status,
                    freed_bytes=gc.freed_bytes,
                    blobs_deleted=gc.blobs_deleted,
                    occurred_at=gc.updated_at,
                    observed_at=now,
                )
                steps.append((finished, partial(record, gc.status)))
            elif not gc.is_terminal:
                steps.append((None, partial(record, gc.status)))
        return steps, active

    async def storage(self) -> list[Step]:
        """The registry's storage, when it changed."""
        state = self.state
        registry = await self.client.registries.get(state.registry)
        used = registry.storage_usage_bytes
        if used is None or used == state.storage_usage_bytes:
            return []
        changed = StorageChanged(
            registry=state.registry,
            storage_usage_bytes=used,
            previous_bytes=state.storage_usage_bytes,
            occurred_at=registry.storage_usage_bytes_updated_at,
            observed_at=self.now(),
        )
        return [(changed, partial(setattr, state, "storage_usage_bytes", used))]
