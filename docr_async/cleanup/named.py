"""Deleting items the user names (``docr tags delete v1 v2``), with the executor's guarantees.

A mistyped registry, repository or item must never look like a success. :func:`plan_named_deletions`
checks that the registry and the repository exist (a typed :class:`NotFoundError` otherwise) and
looks every named item up in a fresh listing, then returns a plan the :class:`CleanupExecutor`
runs with its just-in-time verification (a tag moved in the meantime is still skipped).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import attrs

from ..exceptions import NotFoundError, ValidationError
from ..names import resolve_repository, validate_digest, validate_tag
from .deletions import Deletion
from .plan import CleanupPlan
from .policy import RetentionPolicy
from .verify import not_found, require_registry

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .._client import DOCRClient

__all__ = ["NamedDeletions", "plan_named_deletions"]

NAMED = "named on the command line"

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class NamedDeletions:
    """What :func:`plan_named_deletions` found.

    Attributes:
        plan: The deletions of the items that exist (run it with a :class:`CleanupExecutor`).
        missing: The named items that do not exist (only with ``missing_ok=True``).
    """

    plan: CleanupPlan
    missing: tuple[str, ...] = ()


async def plan_named_deletions(
    client: DOCRClient,
    repository: str,
    *,
    registry: str | None = None,
    tags: Sequence[str] = (),
    digests: Sequence[str] = (),
    missing_ok: bool = False,
) -> NamedDeletions:
    """A plan deleting exactly the named tags (or manifests, by digest) of one repository.

    The plan's policy selects exactly these items (the user named them, so nothing is protected);
    run it with ``allow_empty_repositories=True`` if deleting them may leave the repository empty.

    Args:
        client: The client.
        repository: The repository (``team/web``), or a pasted ``registry.digitalocean.com/...`` one.
        registry: The registry (optional when ``repository`` is a full reference).
        tags: Tags to delete.
        digests: Manifest digests to delete (with every tag pointing at them).
        missing_ok: An item that does not exist is reported in ``missing`` instead of raising
            (a missing registry or repository is always an error).

    Raises:
        ValidationError: On a bad name, or when neither or both of ``tags`` and ``digests`` are
            given (before any request).
        NotFoundError: If the registry or the repository does not exist, or (without
            ``missing_ok``) a named item does not.
    """
    registry, repository = resolve_repository(repository, registry)
    wanted_tags = list(dict.fromkeys(validate_tag(t) for t in tags))
    wanted_digests = list(dict.fromkeys(validate_digest(d) for d in digests))
    if bool(wanted_tags) == bool(wanted_digests):
        raise ValidationError("items", (tags, digests), "name tags or digests (one kind, at least one)")
    await require_registry(client, registry)
    try:
        listed_tags = await client.tags.list(repository, registry=registry).collect()
        manifests = (
            await client.manifests.list(repository, registry=registry).collect() if wanted_digests else []
        )
    except NotFoundError as exc:
        raise not_found(exc, f"repository {repository} not found in registry {registry}") from exc
    if wanted_tags:
        by_name = {t.tag: t for t in listed_tags}
        deletions, missing = _look_up(
            wanted_tags, by_name.get, lambda tag: Deletion.of_tag(repository, tag, NAMED)
        )
    else:
        tags_of: dict[str, set[str]] = defaultdict(set)
        for tag in listed_tags:
            tags_of[tag.manifest_digest].add(tag.tag)
        by_digest = {m.digest: m for m in manifests}
        deletions, missing = _look_up(
            wanted_digests,
            by_digest.get,
            lambda m: Deletion.of_manifest(repository, m, tags_of[m.digest] | set(m.tags), NAMED),
        )
    if missing and not missing_ok:
        what = "tag" if wanted_tags else "manifest"
        raise NotFoundError(
            status=404,
            message=f"{what} {', '.join(missing)} not found in {registry}/{repository}",
            error_id="not_found",
        )
    named = {t for d in deletions for t in ((d.tag,) if d.tag else d.tags)}
    policy = RetentionPolicy(
        include_tags=tuple(sorted(named)) or ("-",),  # "-" matches no tag: the policy needs a rule
        protected_tags=(),
        include_repositories=(repository,),
        delete_untagged=bool(wanted_digests),
    )
    plan = CleanupPlan(
        registry=registry,
        created_at=datetime.now(UTC),
        policy=policy,
        deletions=tuple(deletions),
        repositories=(repository,),
        tags_scanned=len(listed_tags),
        manifests_scanned=len(manifests),
    )
    return NamedDeletions(plan=plan, missing=tuple(missing))


def _look_up(
    names: Sequence[str], find: Callable[[str], T | None], delete: Callable[[T], Deletion]
) -> tuple[list[Deletion], list[str]]:
    """The deletions of the named items that exist, and the names of those that do not."""
    deletions: list[Deletion] = []
    missing: list[str] = []
    for name in names:
        item = find(name)
        if item is None:
            missing.append(name)
        else:
            deletions.append(delete(item))
    return deletions, missing
