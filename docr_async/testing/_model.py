"""The fake's mutable model objects: registries, repositories, manifests, tags, blobs, garbage
collections and the subscription, each with its JSON form as the API writes it."""

from __future__ import annotations

import functools
import math

import attrs

from ._catalog import TERMINAL_GC_STATUSES, TIERS
from ._errors import ReadOnlyRegistryError, find_or_404
from ._primitives import JSONDict, isoformat

__all__ = [
    "BlobRef",
    "FakeGarbageCollection",
    "FakeManifest",
    "FakeRegistry",
    "FakeRepository",
    "FakeSubscription",
    "FakeTag",
]


@attrs.frozen
class BlobRef:
    """A blob a manifest references: its digest and compressed size."""

    digest: str
    compressed_size_bytes: int

    def to_json(self) -> JSONDict:
        """Serialise as ``repository_blob``."""
        return {"digest": self.digest, "compressed_size_bytes": self.compressed_size_bytes}


@attrs.define(eq=False)
class FakeManifest:
    """An image manifest in a repository. ``tags`` is empty for an untagged manifest."""

    digest: str
    blobs: tuple[BlobRef, ...]
    size_bytes: int
    updated_at: float
    tags: set[str] = attrs.field(factory=set)

    @functools.cached_property
    def compressed_size_bytes(self) -> int:
        """Sum of the compressed sizes of the manifest's blobs (a manifest's blobs never change)."""
        return sum(b.compressed_size_bytes for b in self.blobs)

    def to_json(self, registry_name: str, repository: str) -> JSONDict:
        """Serialise as ``repository_manifest``."""
        return {
            "registry_name": registry_name,
            "repository": repository,
            "digest": self.digest,
            "compressed_size_bytes": self.compressed_size_bytes,
            "size_bytes": self.size_bytes,
            "updated_at": isoformat(self.updated_at),
            "tags": sorted(self.tags),
            "blobs": [b.to_json() for b in self.blobs],
        }


@attrs.define(eq=False)
class FakeTag:
    """A tag pointing at a manifest."""

    name: str
    manifest: FakeManifest
    updated_at: float

    def to_json(self, registry_name: str, repository: str) -> JSONDict:
        """Serialise as ``repository_tag``."""
        return {
            "registry_name": registry_name,
            "repository": repository,
            "tag": self.name,
            "manifest_digest": self.manifest.digest,
            "compressed_size_bytes": self.manifest.compressed_size_bytes,
            "size_bytes": self.manifest.size_bytes,
            "updated_at": isoformat(self.updated_at),
        }


@attrs.define(eq=False)
class FakeRepository:
    """A repository: manifests by digest and tags by name. Sorted listings are cached."""

    name: str
    base_layers: tuple[BlobRef, ...] = ()
    manifests: dict[str, FakeManifest] = attrs.field(factory=dict)
    tags: dict[str, FakeTag] = attrs.field(factory=dict)
    _sorted_tags: list[FakeTag] | None = attrs.field(default=None, repr=False)
    _sorted_manifests: list[FakeManifest] | None = attrs.field(default=None, repr=False)

    def invalidate(self) -> None:
        """Drop the cached listings; called by every mutation."""
        self._sorted_tags = None
        self._sorted_manifests = None

    def sorted_tags(self) -> list[FakeTag]:
        """Tags newest first (``updated_at``), ties by name."""
        if self._sorted_tags is None:
            self._sorted_tags = sorted(self.tags.values(), key=lambda t: (-t.updated_at, t.name))
        return self._sorted_tags

    def sorted_manifests(self) -> list[FakeManifest]:
        """Manifests newest first (``updated_at``), ties by digest."""
        if self._sorted_manifests is None:
            self._sorted_manifests = sorted(self.manifests.values(), key=lambda m: (-m.updated_at, m.digest))
        return self._sorted_manifests

    @property
    def untagged_count(self) -> int:
        """Number of manifests without any tag."""
        return sum(1 for m in self.manifests.values() if not m.tags)

    def to_json_v1(self, registry_name: str) -> JSONDict:
        """Serialise as ``repository`` (V1 listing): ``latest_tag`` is omitted when there is no tag."""
        out: JSONDict = {"registry_name": registry_name, "name": self.name, "tag_count": len(self.tags)}
        tags = self.sorted_tags()
        if tags:
            out["latest_tag"] = tags[0].to_json(registry_name, self.name)
        return out

    def to_json_v2(self, registry_name: str) -> JSONDict:
        """Serialise as ``repository_v2``."""
        out: JSONDict = {
            "registry_name": registry_name,
            "name": self.name,
            "tag_count": len(self.tags),
            "manifest_count": len(self.manifests),
        }
        manifests = self.sorted_manifests()
        if manifests:
            out["latest_manifest"] = manifests[0].to_json(registry_name, self.name)
        return out


@attrs.define(eq=False)
class FakeGarbageCollection:
    """A garbage collection. Its status is a pure function of time, see :meth:`progress`."""

    uuid: str
    registry_name: str
    type: str
    created_at: float
    step_seconds: float
    plan: tuple[str, ...]
    include_type: bool = False
    cancelled_at: float | None = None
    blobs_deleted: int = 0
    freed_bytes: int = 0
    finished: bool = False

    def progress(self, now: float) -> tuple[str, float]:
        """Return ``(status, time of the last status change)`` at ``now``."""
        if self.cancelled_at is not None:
            done_at = self.cancelled_at + max(self.step_seconds, 0.0)
            if now >= done_at:
                return "cancelled", done_at
            return "cancelling", self.cancelled_at
        last = len(self.plan) - 1
        if self.step_seconds <= 0:
            index = last
        else:
            index = min(last, max(0, math.floor((now - self.created_at) / self.step_seconds)))
        return self.plan[index], self.created_at + index * max(self.step_seconds, 0.0)

    def status(self, now: float) -> str:
        """The status at ``now``."""
        return self.progress(now)[0]

    def is_active(self, now: float) -> bool:
        """True until the GC reaches ``succeeded``, ``failed`` or ``cancelled``."""
        return self.status(now) not in TERMINAL_GC_STATUSES

    def to_json(self, now: float) -> JSONDict:
        """Serialise as ``garbage_collection`` (plus ``type`` if configured)."""
        status, updated = self.progress(now)
        out: JSONDict = {
            "uuid": self.uuid,
            "registry_name": self.registry_name,
            "status": status,
            "created_at": isoformat(self.created_at),
            "updated_at": isoformat(updated),
            "blobs_deleted": self.blobs_deleted,
            "freed_bytes": self.freed_bytes,
        }
        if self.include_type:
            out["type"] = self.type
        return out


@attrs.define(eq=False)
class FakeRegistry:
    """A registry: repositories, a deduplicated blob store, and its GC history (oldest first)."""

    name: str
    region: str
    created_at: float
    repositories: dict[str, FakeRepository] = attrs.field(factory=dict)
    blobs: dict[str, int] = attrs.field(factory=dict)
    storage_usage_bytes: int = 0
    storage_usage_bytes_updated_at: float = 0.0
    garbage_collections: list[FakeGarbageCollection] = attrs.field(factory=list)
    active_gc: FakeGarbageCollection | None = None
    _sorted_repo_names: list[str] | None = attrs.field(default=None, repr=False)

    def sorted_repository_names(self) -> list[str]:
        """Repository names in lexical order (cached)."""
        if self._sorted_repo_names is None:
            self._sorted_repo_names = sorted(self.repositories)
        return self._sorted_repo_names

    def add_blob(self, blob: BlobRef, now: float) -> None:
        """Store a blob once per registry; storage counts each distinct blob once."""
        if blob.digest not in self.blobs:
            self.blobs[blob.digest] = blob.compressed_size_bytes
            self.storage_usage_bytes += blob.compressed_size_bytes
            self.storage_usage_bytes_updated_at = now

    def add_repository(self, repo: FakeRepository) -> None:
        """Register a new repository."""
        self.repositories[repo.name] = repo
        self._sorted_repo_names = None

    def remove_repository(self, name: str) -> None:
        """Forget a repository; its blobs stay in the store until a GC removes them."""
        del self.repositories[name]
        self._sorted_repo_names = None

    def repository(self, name: str) -> FakeRepository:
        """Return a repository or raise 404."""
        return find_or_404(self.repositories, name, "repository not found")

    def referenced_blobs(self) -> set[str]:
        """Digests referenced by at least one manifest."""
        return {
            b.digest for repo in self.repositories.values() for m in repo.manifests.values() for b in m.blobs
        }

    def ensure_writable(self) -> None:
        """Raise :class:`ReadOnlyRegistryError` while a GC is active (call ``tick`` first)."""
        if self.active_gc is not None:
            raise ReadOnlyRegistryError(
                f"registry {self.name} is in read-only mode while garbage collection "
                f"{self.active_gc.uuid} is active; try again after it finishes"
            )

    def to_json(self, subscription: FakeSubscription | None = None) -> JSONDict:
        """Serialise as ``registry`` (with a subscription) or ``multiregistry`` (without)."""
        out: JSONDict = {
            "name": self.name,
            "created_at": isoformat(self.created_at),
            "region": self.region,
            "storage_usage_bytes": self.storage_usage_bytes,
            "storage_usage_bytes_updated_at": isoformat(self.storage_usage_bytes_updated_at),
        }
        if subscription is not None:
            out["subscription"] = subscription.to_json()
        return out


@attrs.define(eq=False)
class FakeSubscription:
    """The account's subscription (one per account)."""

    tier: str
    created_at: float
    updated_at: float

    def to_json(self) -> JSONDict:
        """Serialise as ``subscription``."""
        return {
            "tier": TIERS[self.tier].to_json(),
            "created_at": isoformat(self.created_at),
            "updated_at": isoformat(self.updated_at),
        }
