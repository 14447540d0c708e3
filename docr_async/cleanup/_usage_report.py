"""The usage report: what :func:`~docr_async.cleanup.compute_usage` finds, and its JSON form.

Data only (no computation beyond totals, no I/O); :mod:`docr_async.cleanup.usage` computes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import attrs

from ..models import GCType, Manifest, Tag
from ..resources import DEFAULT_GC_TYPE

__all__ = [
    "RepositoryListing",
    "RepositoryUsage",
    "UsageProgress",
    "UsageReport",
    "assumption",
]

UsageProgress = Callable[[str, int, int], None]
"""Called with (repository, repositories listed, repositories to list)."""


def _manifests(values: Iterable[Manifest]) -> tuple[Manifest, ...]:
    return tuple(values)


def _tags(values: Iterable[Tag]) -> tuple[Tag, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class RepositoryListing:
    """The full listings of one repository, the input of :func:`compute_usage`.

    Attributes:
        name: The repository.
        manifests: Every manifest (tagged and untagged), with their blobs.
        tags: Every tag; may be empty when no policy needs it (manifests carry their tags).
    """

    name: str
    manifests: tuple[Manifest, ...] = attrs.field(converter=_manifests)
    tags: tuple[Tag, ...] = attrs.field(default=(), converter=_tags)


@attrs.frozen(kw_only=True)
class RepositoryUsage:
    """Storage of one repository; every blob of the registry is counted once.

    Attributes:
        repository: The repository.
        unique_bytes: Blobs that only this repository references.
        shared_bytes: Blobs this repository references together with at least one other.
        tags: Tags.
        manifests: Manifests (tagged and untagged).
        untagged_manifests: Manifests no tag points at.
        untagged_bytes: Blobs only this repository's untagged manifests reference (what a garbage
            collection of untagged manifests and unreferenced blobs frees here, cleanup or not).
        oldest_push: The oldest manifest's push time (``updated_at``).
        newest_push: The newest manifest's push time (a re-tag of an old manifest is not seen).
        freed_bytes: With a policy: blobs only this repository references that no manifest
            references after the cleanup and the garbage collection (``None`` without a policy).
        manifests_without_blobs: Manifests listed without blobs; their compressed size is counted
            as unique (an estimate).
    """

    repository: str
    unique_bytes: int
    shared_bytes: int
    tags: int
    manifests: int
    untagged_manifests: int
    untagged_bytes: int
    oldest_push: datetime | None
    newest_push: datetime | None
    freed_bytes: int | None = None
    manifests_without_blobs: int = 0

    @property
    def total_bytes(self) -> int:
        """Unique plus shared bytes: everything this repository references."""
        return self.unique_bytes + self.shared_bytes

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "repository": self.repository,
            "unique_bytes": self.unique_bytes,
            "shared_bytes": self.shared_bytes,
            "total_bytes": self.total_bytes,
            "tags": self.tags,
            "manifests": self.manifests,
            "untagged_manifests": self.untagged_manifests,
            "untagged_bytes": self.untagged_bytes,
            "oldest_push": _iso(self.oldest_push),
            "newest_push": _iso(self.newest_push),
            "freed_bytes": self.freed_bytes,
            "manifests_without_blobs": self.manifests_without_blobs,
        }


@attrs.frozen(kw_only=True)
class UsageReport:
    """Where a registry's storage goes; with a policy, what a cleanup plus GC would free.

    The totals reconcile: ``referenced_bytes == sum(unique_bytes) + shared_blob_bytes`` and
    ``storage_usage_bytes == referenced_bytes + unreferenced_bytes``.

    Attributes:
        registry: The registry.
        created_at: The reference time (age rules of the policy).
        repositories: Per repository, largest first (by total bytes).
        shared_blob_bytes: Blobs referenced by several repositories, each counted once.
        referenced_bytes: Every blob some manifest references, each counted once.
        storage_usage_bytes: What the registry reports (computed asynchronously by DigitalOcean;
            may lag), or ``None`` if it reports nothing.
        storage_usage_bytes_updated_at: When DigitalOcean last computed it.
        untagged_shared_bytes: Blobs only untagged manifests reference, in several repositories.
        policy: The policy's description, or ``None``.
        gc_type: The garbage collection type the prediction assumes.
        freed_shared_bytes: With a policy: freed blobs that several repositories referenced.
    """

    registry: str
    created_at: datetime
    repositories: tuple[RepositoryUsage, ...]
    shared_blob_bytes: int
    referenced_bytes: int
    storage_usage_bytes: int | None
    storage_usage_bytes_updated_at: datetime | None = None
    untagged_shared_bytes: int = 0
    policy: dict[str, Any] | None = None
    gc_type: GCType = DEFAULT_GC_TYPE
    freed_shared_bytes: int | None = None

    @property
    def unreferenced_bytes(self) -> int | None:
        """``storage_usage_bytes - referenced_bytes``: blobs awaiting a GC (negative: a stale figure)."""
        if self.storage_usage_bytes is None:
            return None
        return self.storage_usage_bytes - self.referenced_bytes

    @property
    def gc_frees_blobs(self) -> bool:
        """False for ``untagged manifests only``, which deletes manifests but no blob."""
        return self.gc_type is not GCType.UNTAGGED_MANIFESTS_ONLY

    @property
    def reclaimable_now_bytes(self) -> int:
        """What a GC (of the assumed type) would free today, without any cleanup."""
        if not self.gc_frees_blobs:
            return 0
        untagged = 0
        if self.gc_type is GCType.UNTAGGED_MANIFESTS_AND_UNREFERENCED_BLOBS:
            untagged = sum(r.untagged_bytes for r in self.repositories) + self.untagged_shared_bytes
        return untagged + max(0, self.unreferenced_bytes or 0)

    @property
    def freed_bytes(self) -> int | None:
        """With a policy: every byte the cleanup plus GC would free (blobs awaiting GC included)."""
        if self.freed_shared_bytes is None:
            return None
        if not self.gc_frees_blobs:
            return 0
        per_repository = sum(r.freed_bytes or 0 for r in self.repositories)
        return per_repository + self.freed_shared_bytes + max(0, self.unreferenced_bytes or 0)

    def explanation(self) -> str:
        """One sentence reconciling the total with ``storage_usage_bytes``."""
        diff = self.unreferenced_bytes
        if diff is None:
            return "the registry reports no storage_usage_bytes"
        if diff == 0:
            return "storage_usage_bytes equals the referenced blobs: nothing awaits garbage collection"
        if diff > 0:
            return (
                f"{diff} bytes of storage_usage_bytes are blobs no manifest references "
                "(deleted images awaiting garbage collection)"
            )
        return (
            f"storage_usage_bytes is {-diff} bytes below the referenced blobs: DigitalOcean computes it "
            "asynchronously and it lags recent pushes"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``docr du -o json``)."""
        return {
            "registry": self.registry,
            "created_at": _iso(self.created_at),
            "repositories": [r.to_dict() for r in self.repositories],
            "totals": {
                "unique_bytes": sum(r.unique_bytes for r in self.repositories),
                "shared_blob_bytes": self.shared_blob_bytes,
                "referenced_bytes": self.referenced_bytes,
                "unreferenced_bytes": self.unreferenced_bytes,
                "storage_usage_bytes": self.storage_usage_bytes,
                "storage_usage_bytes_updated_at": _iso(self.storage_usage_bytes_updated_at),
                "tags": sum(r.tags for r in self.repositories),
                "manifests": sum(r.manifests for r in self.repositories),
                "untagged_manifests": sum(r.untagged_manifests for r in self.repositories),
                "untagged_bytes": sum(r.untagged_bytes for r in self.repositories),
                "untagged_shared_bytes": self.untagged_shared_bytes,
                "reclaimable_now_bytes": self.reclaimable_now_bytes,
            },
            "explanation": self.explanation(),
            "gc_type": self.gc_type.value,
            "policy": self.policy,
            "prediction": None
            if self.freed_shared_bytes is None
            else {
                "freed_bytes": self.freed_bytes,
                "freed_shared_bytes": self.freed_shared_bytes,
                "assumes": assumption(self.gc_type),
            },
        }


def assumption(gc_type: GCType) -> str:
    """What a prediction assumes about the garbage collection run after the cleanup."""
    if gc_type is GCType.UNTAGGED_MANIFESTS_AND_UNREFERENCED_BLOBS:
        return (
            "the cleanup is followed by a garbage collection of 'untagged manifests and unreferenced "
            "blobs', which also removes every manifest left untagged"
        )
    if gc_type is GCType.UNREFERENCED_BLOBS_ONLY:
        return (
            "the cleanup is followed by a garbage collection of 'unreferenced blobs only': untagged "
            "manifests stay unless the cleanup deletes them (--delete-untagged)"
        )
    return "a garbage collection of 'untagged manifests only' frees no blob storage"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
