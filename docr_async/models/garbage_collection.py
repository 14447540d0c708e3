"""Garbage collections."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs

__all__ = ["GCStatus", "GCType", "GarbageCollection"]


class GCType(StrEnum):
    """What a garbage collection removes."""

    UNTAGGED_MANIFESTS_ONLY = "untagged manifests only"
    UNREFERENCED_BLOBS_ONLY = "unreferenced blobs only"
    UNTAGGED_MANIFESTS_AND_UNREFERENCED_BLOBS = "untagged manifests and unreferenced blobs"


class GCStatus(StrEnum):
    """Statuses in the spec. The API also sends others (``waiting for delete requests``), so
    :attr:`GarbageCollection.status` stays a plain string; compare it with these members."""

    REQUESTED = "requested"
    WAITING_FOR_WRITE_JWTS_TO_EXPIRE = "waiting for write JWTs to expire"
    SCANNING_MANIFESTS = "scanning manifests"
    DELETING_UNREFERENCED_BLOBS = "deleting unreferenced blobs"
    CANCELLING = "cancelling"
    FAILED = "failed"
    SUCCEEDED = "succeeded"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset({GCStatus.SUCCEEDED, GCStatus.FAILED, GCStatus.CANCELLED})


@attrs.frozen(kw_only=True)
class GarbageCollection:
    """A garbage collection run."""

    uuid: str = ""
    """Its id."""
    registry_name: str = ""
    """The registry it runs on."""
    status: str = ""
    """A :class:`GCStatus` value, or an unknown status string kept as sent."""
    created_at: datetime | None = None
    """When it was requested."""
    updated_at: datetime | None = None
    """When its status last changed."""
    blobs_deleted: int | None = None
    """Blobs removed (filled in when it succeeds)."""
    freed_bytes: int | None = None
    """Bytes freed (filled in when it succeeds)."""
    type: str | None = None
    """Its :class:`GCType`, when the API reports it (undocumented field)."""
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    """Fields the API sent that this version does not know."""

    @property
    def is_terminal(self) -> bool:
        """True once it has succeeded, failed or been cancelled; every other status is active."""
        return self.status in TERMINAL_STATUSES
