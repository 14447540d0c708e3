"""Where a registry's storage goes, and what a cleanup plus garbage collection would free.

DOCR reports one number per registry (``storage_usage_bytes``). Summing manifest sizes to split it
per repository double-counts: blobs (layers, configs) are stored once per registry and shared
between manifests and between repositories. This module counts each blob once:

- a repository's *unique* bytes are the blobs only its manifests reference;
- its *shared* bytes are the blobs it references together with another repository;
- the registry's *referenced* bytes (unique of all + shared, each blob once) fall short of
  ``storage_usage_bytes`` by the blobs nothing references any more: they await a garbage collection.

With a retention policy, the bytes freed are computed by reachability, not from manifest sizes: the
plan's deletions are applied to the listings, the garbage collection is simulated, and a blob counts
as freed only when no surviving manifest in any repository references it.

The garbage collection's type matters. ``untagged manifests and unreferenced blobs`` (DigitalOcean's
recommendation and the default of :func:`~docr_async.cleanup.collect_garbage`) removes EVERY untagged
manifest, including those the policy keeps and those its tag deletions leave untagged;
``unreferenced blobs only`` removes only the blobs of manifests deleted by digest; ``untagged
manifests only`` frees no blob storage at all.

:func:`compute_usage` is pure (listings in, report out); :func:`disk_usage` lists and calls it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from ..models import GCType, Manifest, Tag
from ..names import validate_registry_name
from ..resources import DEFAULT_GC_TYPE
from .plan import DeletionKind
from .policy import RetentionPolicy
from .rules import RetentionRules

if TYPE_CHECKING:
    from .._client import DOCRClient

__all__ = [
    "RepositoryListing",
    "RepositoryUsage",
    "UsageProgress",
    "UsageReport",
    "assumption",
    "compute_usage",
    "disk_usage",
]

UsageProgress = Callable[[str, int, int], None]
"""Called with (repository, repositories listed, repositories to list)."""

_DEFAULT_GC = DEFAULT_GC_TYPE
"""What `docr cleanup --gc` and `collect_garbage` run by default: unreferenced blobs only."""


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
    gc_type: GCType = _DEFAULT_GC
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


def _as_rules(policy: RetentionPolicy | RetentionRules | None) -> RetentionRules | None:
    if policy is None or isinstance(policy, RetentionRules):
        return policy
    if isinstance(policy, RetentionPolicy):
        return RetentionRules.from_policy(policy)
    raise TypeError(f"policy must be a RetentionPolicy or RetentionRules, not {type(policy).__name__}")


def _describe(policy: RetentionPolicy | RetentionRules | None) -> dict[str, Any] | None:
    return None if policy is None else policy.describe()


class _Blobs:
    """Blob sizes, and which repositories (and which manifests) reference each blob."""

    def __init__(self) -> None:
        self.size: dict[str, int] = {}
        self.repos: dict[str, set[str]] = defaultdict(set)

    def add(self, repository: str, manifest: Manifest) -> list[str]:
        keys: list[str] = []
        if manifest.blobs:
            for blob in manifest.blobs:
                self.size[blob.digest] = blob.compressed_size_bytes or 0
                keys.append(blob.digest)
        else:  # no blob list: the manifest's own size stands in, as a blob of its own
            key = f"{repository}@{manifest.digest}"
            self.size[key] = manifest.compressed_size_bytes or 0
            keys.append(key)
        for key in keys:
            self.repos[key].add(repository)
        return keys


def compute_usage(
    registry: str,
    listings: Sequence[RepositoryListing],
    *,
    storage_usage_bytes: int | None,
    storage_usage_bytes_updated_at: datetime | None = None,
    policy: RetentionPolicy | RetentionRules | None = None,
    gc_type: GCType | str = _DEFAULT_GC,
    now: datetime | None = None,
) -> UsageReport:
    """The usage report of one registry from its full listings (pure: no I/O).

    Args:
        registry: The registry.
        listings: Every repository's manifests (and tags, which a policy needs).
        storage_usage_bytes: The registry's reported storage, reconciled against.
        storage_usage_bytes_updated_at: When it was computed.
        policy: With a policy, predict what a cleanup plus garbage collection frees.
        gc_type: The garbage collection type the prediction assumes.
        now: Reference time for the policy's age rules (default: now, UTC).

    Raises:
        ValueError: If ``gc_type`` is not a garbage collection type.
        TypeError: If ``policy`` is neither a policy nor rules.
    """
    gc = GCType(gc_type)
    rules = _as_rules(policy)
    now = now or datetime.now(UTC)
    blobs = _Blobs()
    refs: dict[tuple[str, str], list[str]] = {}  # (repository, digest) -> blob keys
    tags_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for listing in listings:
        for manifest in listing.manifests:
            key = (listing.name, manifest.digest)
            refs[key] = blobs.add(listing.name, manifest)
            tags_of[key].update(manifest.tags)
        for tag in listing.tags:
            tags_of[(listing.name, tag.manifest_digest)].add(tag.tag)

    # Blobs a GC of untagged manifests frees today: referenced by untagged manifests only.
    alive_tagged = _referenced(refs, lambda key: bool(tags_of[key]))
    # After the cleanup: what survives the simulated deletions and the GC.
    survivors: set[str] | None = None
    if rules is not None:
        survivors = _referenced(refs, _survival(listings, tags_of, rules, gc, now))

    rows: list[RepositoryUsage] = []
    shared_blob_bytes = untagged_shared = freed_shared = 0
    for blob, repos in blobs.repos.items():
        if len(repos) > 1:
            shared_blob_bytes += blobs.size[blob]
            if blob not in alive_tagged:
                untagged_shared += blobs.size[blob]
            if survivors is not None and blob not in survivors:
                freed_shared += blobs.size[blob]
    for listing in listings:
        name = listing.name
        mine = {b for m in listing.manifests for b in refs[(name, m.digest)]}
        unique = {b for b in mine if len(blobs.repos[b]) == 1}
        untagged = [m for m in listing.manifests if not tags_of[(name, m.digest)]]
        times = [m.updated_at for m in listing.manifests if m.updated_at is not None]
        all_tags = {t for m in listing.manifests for t in tags_of[(name, m.digest)]}
        rows.append(
            RepositoryUsage(
                repository=name,
                unique_bytes=sum(blobs.size[b] for b in unique),
                shared_bytes=sum(blobs.size[b] for b in mine - unique),
                tags=len(all_tags),
                manifests=len(listing.manifests),
                untagged_manifests=len(untagged),
                untagged_bytes=sum(blobs.size[b] for b in unique - alive_tagged),
                oldest_push=min(times, default=None),
                newest_push=max(times, default=None),
                freed_bytes=None
                if survivors is None
                else (
                    sum(blobs.size[b] for b in unique - survivors)
                    if gc is not GCType.UNTAGGED_MANIFESTS_ONLY
                    else 0
                ),
                manifests_without_blobs=sum(1 for m in listing.manifests if not m.blobs),
            )
        )
    rows.sort(key=lambda r: (-r.total_bytes, -r.unique_bytes, r.repository))
    return UsageReport(
        registry=registry,
        created_at=now,
        repositories=tuple(rows),
        shared_blob_bytes=shared_blob_bytes,
        referenced_bytes=sum(blobs.size.values()),
        storage_usage_bytes=storage_usage_bytes,
        storage_usage_bytes_updated_at=storage_usage_bytes_updated_at,
        untagged_shared_bytes=untagged_shared,
        policy=_describe(policy),
        gc_type=gc,
        freed_shared_bytes=None
        if survivors is None
        else (freed_shared if gc is not GCType.UNTAGGED_MANIFESTS_ONLY else 0),
    )


def _referenced(refs: dict[tuple[str, str], list[str]], alive: Callable[[tuple[str, str]], bool]) -> set[str]:
    return {b for key, keys in refs.items() if alive(key) for b in keys}


def _survival(
    listings: Sequence[RepositoryListing],
    tags_of: dict[tuple[str, str], set[str]],
    rules: RetentionRules,
    gc: GCType,
    now: datetime,
) -> Callable[[tuple[str, str]], bool]:
    """Which manifests survive the plan's deletions and then the garbage collection."""
    remaining = {key: set(tags) for key, tags in tags_of.items()}
    deleted: set[tuple[str, str]] = set()
    for listing in listings:
        plan = rules.evaluate(listing.name, listing.tags, listing.manifests, now).plan
        for deletion in plan.deletions:
            key = (listing.name, deletion.digest)
            if deletion.kind is DeletionKind.MANIFEST:
                deleted.add(key)
            elif deletion.tag is not None:
                remaining.get(key, set()).discard(deletion.tag)
    removes_untagged = gc is not GCType.UNREFERENCED_BLOBS_ONLY

    def alive(key: tuple[str, str]) -> bool:
        if key in deleted:
            return False
        return bool(remaining.get(key)) or not removes_untagged

    return alive


async def disk_usage(
    client: DOCRClient,
    registry: str | None = None,
    *,
    policy: RetentionPolicy | RetentionRules | None = None,
    gc_type: GCType | str = _DEFAULT_GC,
    now: datetime | None = None,
    concurrency: int = 4,
    progress: UsageProgress | None = None,
) -> UsageReport:
    """List every repository's manifests (and tags, with a policy) and report the storage they use.

    Nothing is deleted. The registry is read first (its ``storage_usage_bytes``), then every
    listing is read completely; blobs are counted once per registry.

    Args:
        client: The client.
        registry: The registry (default: the client's default registry).
        policy: Also predict what a cleanup with this policy plus a garbage collection frees.
        gc_type: The garbage collection type the prediction assumes (default: untagged manifests
            and unreferenced blobs, which also removes manifests left untagged).
        now: Reference time for the policy's age rules (default: now, UTC).
        concurrency: Repositories listed at once.
        progress: Called after each repository is listed with (name, listed, to list).

    Raises:
        ValidationError: On a bad registry name (before any request).
        ValueError: On a bad ``gc_type``; TypeError on a bad ``policy`` (before any request).
        RegistryDiscoveryError: If no registry is given and there is no single default.
        DOCRError: If a request fails.
    """
    if registry is not None:
        registry = validate_registry_name(registry)
    gc = GCType(gc_type)
    rules = _as_rules(policy)
    now = now or datetime.now(UTC)
    found = await client.registries.get(registry)
    name = found.name or registry or ""
    names = [repo.name async for repo in client.repositories.list(name)]
    listed: dict[str, RepositoryListing] = {}
    gate = anyio.CapacityLimiter(max(1, concurrency))

    async def scan(repository: str) -> None:
        async with gate:
            manifests = await client.manifests.list(repository, registry=name).collect()
            tags = await client.tags.list(repository, registry=name).collect() if rules is not None else []
        listed[repository] = RepositoryListing(name=repository, manifests=manifests, tags=tags)
        if progress is not None:
            progress(repository, len(listed), len(names))

    try:
        async with anyio.create_task_group() as group:
            for repository in names:
                group.start_soon(scan, repository)
    except BaseExceptionGroup as group_error:
        raise group_error.exceptions[0] from None
    return compute_usage(
        name,
        [listed[n] for n in sorted(listed)],
        storage_usage_bytes=found.storage_usage_bytes,
        storage_usage_bytes_updated_at=found.storage_usage_bytes_updated_at,
        policy=policy,
        gc_type=gc,
        now=now,
    )
