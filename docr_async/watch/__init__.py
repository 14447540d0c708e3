"""Registry events for bots: ``async for event in client.watch(): ...`` (see :class:`Watcher`)."""

from __future__ import annotations

from ._types import PollStats, WatchClient
from .events import (
    EVENT_KINDS,
    GarbageCollectionFinished,
    GarbageCollectionStarted,
    ManifestDeleted,
    RepositoryCreated,
    RepositoryDeleted,
    StorageChanged,
    TagDeleted,
    TagMoved,
    TagPushed,
    WatchEvent,
)
from .state import RepositoryState, WatchState
from .watcher import Watcher

__all__ = [
    "EVENT_KINDS",
    "GarbageCollectionFinished",
    "GarbageCollectionStarted",
    "ManifestDeleted",
    "PollStats",
    "RepositoryCreated",
    "RepositoryDeleted",
    "RepositoryState",
    "StorageChanged",
    "TagDeleted",
    "TagMoved",
    "TagPushed",
    "WatchClient",
    "WatchEvent",
    "WatchState",
    "Watcher",
]
