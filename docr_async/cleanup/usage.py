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
recommendation) removes EVERY untagged manifest, including those the policy keeps and those its tag
deletions leave untagged; ``unreferenced blobs only`` (the default of
:func:`~docr_async.cleanup.collect_garbage`, of ``docr cleanup --gc`` and of the prediction here)
removes only the blobs of manifests deleted by digest; ``untagged manifests only`` frees no blob
storage at all.

The report's classes live in :mod:`docr_async.cleanup._usage_report` and are re-exported here.

:func:`compute_usage` is pure (listings in, report out); :func:`disk_usage` lists and calls it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..models import GCType, Manifest
from ..names import validate_registry_name
from ..resources import DEFAULT_GC_TYPE
from ._scan import list_repositories
from ._usage_report import RepositoryListing, RepositoryUsage, UsageProgress, UsageReport, assumption
from .plan import DeletionKind
from .policy import RetentionPolicy
from .rules import RetentionRules

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

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

_DEFAULT_GC = DEFAULT_GC_TYPE
"""What `docr cleanup --gc` and `collect_garbage` run by default: unreferenced blobs only."""


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
        gc_type: The garbage collection type the prediction assumes (default: unreferenced
            blobs only, as ``collect_garbage``).
        now: Reference time for the policy's age rules (default: now, UTC).
        concurrency: Repositories listed at once.
        progress: Called after each repository is listed with (name, listed, to list).

    Raises:
        ValidationError: On a bad registry name (before any request).
        ValueError: On a bad ``gc_type``; TypeError on a bad ``policy`` (before any request).
        RegistryDiscoveryError: If no registry is given and there is no single default.
        DOCRError: If a request fails (one failed listing is raised as itself).
        ExceptionGroup: If listings of several repositories fail at once (all of them, for ``except*``).
    """
    if registry is not None:
        registry = validate_registry_name(registry)
    gc = GCType(gc_type)
    rules = _as_rules(policy)
    now = now or datetime.now(UTC)
    found = await client.registries.get(registry)
    name = found.name or registry or ""
    names = [repo.name async for repo in client.repositories.list(name)]
    lists = await list_repositories(
        client,
        name,
        names,
        wants_tags=lambda _: rules is not None,
        concurrency=concurrency,
        on_listed=progress,
    )
    listed = {
        repository: RepositoryListing(name=repository, manifests=manifests, tags=tags)
        for repository, (tags, manifests) in lists.items()
    }
    return compute_usage(
        name,
        [listed[n] for n in sorted(listed)],
        storage_usage_bytes=found.storage_usage_bytes,
        storage_usage_bytes_updated_at=found.storage_usage_bytes_updated_at,
        policy=policy,
        gc_type=gc,
        now=now,
    )
