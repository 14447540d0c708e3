"""Build a cleanup plan from full listings. Nothing is deleted here.

Listings are read completely before anything is deleted: deleting while paginating shifts
page-numbered listings and silently skips items.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..names import validate_registry_name
from ._scan import Listings, list_repositories
from .decisions import RepositoryDecisions
from .deletions import RepositoryPlan, plan_repository
from .plan import CleanupPlan, Deletion, Kept, expected_freed_bytes
from .policy import RetentionPolicy
from .rules import RetentionRules

if TYPE_CHECKING:
    from .._client import DOCRClient
    from ..models import Manifest, Tag

__all__ = ["build_plan", "explain_policy"]

ScanProgress = Callable[[str, int, int], None]
"""Called with (repository, repositories scanned, repositories to scan)."""


async def build_plan(
    client: DOCRClient,
    registry: str,
    policy: RetentionPolicy | RetentionRules,
    *,
    now: datetime | None = None,
    concurrency: int = 4,
    on_repository: ScanProgress | None = None,
) -> CleanupPlan:
    """List every selected repository's tags and manifests, then plan what the policy deletes.

    With a :class:`RetentionPolicy`, every repository it selects is planned by it (plan format 1).
    With :class:`RetentionRules` (a policy file), each repository is planned by the first rule
    that selects it (:meth:`RetentionRules.evaluate`), a repository no rule selects is left alone
    (not even listed), and every deletion records its rule (plan format 2).

    Args:
        client: The client.
        registry: The registry to clean.
        policy: What to delete: one policy, or a policy file's rules.
        now: Reference time for age rules (default: now, UTC).
        concurrency: Repositories scanned at once.
        on_repository: Progress callback, called after each repository is scanned.

    Raises:
        ValidationError: On a bad registry name (before any request).
        TypeError: If ``policy`` is neither a :class:`RetentionPolicy` nor :class:`RetentionRules`.
        DOCRError: If a listing fails (one failure is raised as itself).
        ExceptionGroup: If listings of several repositories fail at once (all of them, for ``except*``).
    """
    registry = validate_registry_name(registry)
    now = now or datetime.now(UTC)
    _, scanned = await _scan(
        client, registry, policy, concurrency=concurrency, on_repository=on_repository, all_tags=False
    )
    deletions: list[Deletion] = []
    kept: list[Kept] = []
    removed: set[tuple[str, str]] = set()
    all_manifests: list[Manifest] = []
    tags_scanned = 0
    for name in sorted(scanned):
        tags, manifests = scanned[name]
        tags_scanned += len(tags)
        all_manifests.extend(manifests)
        repo_plan = _plan_one(policy, name, tags, manifests, now)
        deletions.extend(repo_plan.deletions)
        kept.extend(repo_plan.kept)
        removed.update((name, digest) for digest in repo_plan.orphaned_digests)
    return CleanupPlan(
        registry=registry,
        created_at=now,
        policy=policy,
        deletions=tuple(deletions),
        kept=tuple(kept),
        repositories=tuple(sorted(scanned)),
        tags_scanned=tags_scanned,
        manifests_scanned=len(all_manifests),
        expected_freed_bytes=expected_freed_bytes(all_manifests, removed),
    )


async def explain_policy(
    client: DOCRClient,
    registry: str,
    policy: RetentionPolicy | RetentionRules,
    *,
    now: datetime | None = None,
    concurrency: int = 4,
    on_repository: ScanProgress | None = None,
) -> tuple[RepositoryDecisions, ...]:
    """Which rule applies to each repository, and keep or delete, with the reason, per tag and manifest.

    Lists like :func:`build_plan` (the tag listing always, so every tag gets its line) and deletes
    nothing. The decisions are exactly those :func:`build_plan` turns into deletions.

    Args:
        client: The client.
        registry: The registry.
        policy: One policy (explained as ``rule 1 (command line)``) or a policy file's rules.
        now: Reference time for age rules (default: now, UTC).
        concurrency: Repositories scanned at once.
        on_repository: Progress callback, called after each repository is scanned.

    Returns:
        One entry per repository of the registry, by name; a repository no rule selects has
        ``rule=None`` and no decisions (it is not listed).

    Raises:
        ValidationError: On a bad registry name (before any request).
        TypeError: If ``policy`` is neither a :class:`RetentionPolicy` nor :class:`RetentionRules`.
        DOCRError: If a listing fails.
    """
    registry = validate_registry_name(registry)
    now = now or datetime.now(UTC)
    rules = policy if isinstance(policy, RetentionRules) else RetentionRules.from_policy(policy)
    names, scanned = await _scan(
        client, registry, rules, concurrency=concurrency, on_repository=on_repository, all_tags=True
    )
    empty = RepositoryPlan(deletions=(), kept=(), orphaned_digests=frozenset())
    return tuple(
        rules.evaluate(name, *scanned[name], now)
        if name in scanned
        else RepositoryDecisions(repository=name, rule=None, rule_index=None, decisions=(), plan=empty)
        for name in sorted(names)
    )


async def _scan(
    client: DOCRClient,
    registry: str,
    policy: RetentionPolicy | RetentionRules,
    *,
    concurrency: int,
    on_repository: ScanProgress | None,
    all_tags: bool,
) -> tuple[list[str], Listings]:
    """Every repository's name, and the full listings of those the policy selects."""
    if not isinstance(policy, RetentionPolicy | RetentionRules):
        raise TypeError(f"policy must be a RetentionPolicy or RetentionRules, not {type(policy).__name__}")
    every = [repo.name async for repo in client.repositories.list(registry)]
    names = [name for name in every if policy.selects_repository(name)]
    scanned = await list_repositories(
        client,
        registry,
        names,
        wants_tags=lambda name: all_tags or _lists_tags(policy, name),
        concurrency=concurrency,
        on_listed=on_repository,
    )
    return every, scanned


def _lists_tags(policy: RetentionPolicy | RetentionRules, repository: str) -> bool:
    """Whether planning the repository needs its tag listing (not for an untagged-only policy)."""
    if isinstance(policy, RetentionPolicy):
        return policy.touches_tags
    found = policy.rule_for(repository)
    return found is not None and found[1].touches_tags


def _plan_one(
    policy: RetentionPolicy | RetentionRules,
    repository: str,
    tags: list[Tag],
    manifests: list[Manifest],
    now: datetime,
) -> RepositoryPlan:
    """One repository's plan: by the single policy, or by the repository's own rule."""
    if isinstance(policy, RetentionPolicy):
        return plan_repository(repository, tags, manifests, policy, now)
    return policy.evaluate(repository, tags, manifests, now).plan
