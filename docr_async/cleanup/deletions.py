"""Deletions and what each repository keeps: the per-repository half of a cleanup plan. Pure.

The plan is manifest-aware. Deleting a manifest removes every tag pointing at it, so:

- a manifest that still carries a kept tag is never deleted: its doomed tags are deleted one by one;
- a manifest whose tags are ALL doomed is deleted by digest (one request instead of one per tag)
  only when the policy also deletes untagged manifests, since that is exactly what the tag
  deletions followed by an untagged-manifest cleanup would do; otherwise its tags are deleted one
  by one and the manifest is left untagged;
- an untagged manifest is deleted only when the policy asks for it, and never when the tag listing
  shows a tag pointing at it (a push raced the listing).

:mod:`docr_async.cleanup.plan` assembles these into a :class:`~docr_async.cleanup.plan.CleanupPlan`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence  # noqa: TC003
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import attrs

from .._converter import parse_datetime
from ..exceptions import ValidationError
from ..models import Manifest, Tag  # noqa: TC001 -- annotations of attrs classes
from ..names import validate_digest, validate_repository_name, validate_tag
from .policy import RetentionPolicy  # noqa: TC001

__all__ = ["Deletion", "DeletionKind", "Kept", "RepositoryPlan", "plan_repository"]

_NEWEST = datetime.max.replace(tzinfo=UTC)


def _list(value: Any) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _rule_index(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"rule_index must be an integer >= 1, not {value!r}")
    return value


class DeletionKind(StrEnum):
    """What one deletion request removes."""

    TAG = "tag"
    MANIFEST = "manifest"


@attrs.frozen(kw_only=True)
class Deletion:
    """One planned deletion request.

    Attributes:
        kind: ``tag`` (delete one tag) or ``manifest`` (delete by digest, with all its tags).
        repository: The repository.
        digest: The manifest digest (for a tag: the manifest it points at).
        tag: The tag, for ``kind == "tag"``.
        tags: For a manifest: the tags removed with it (empty when untagged).
        updated_at: When the tag or manifest was last pushed.
        compressed_size_bytes: The image's compressed size, as reported.
        reason: Why the policy deletes it.
        rule: With a policy file: the label of the rule behind it (``rule 1 (prod/*)``, or the ECR
            rule ``rule 2 (ECR priority 20)``); ``None`` for a single :class:`RetentionPolicy`.
        rule_index: With a policy file: the 1-based position, in the file, of the rule that applies
            to the repository (the executor checks it is still the repository's rule).
    """

    kind: DeletionKind
    repository: str
    digest: str
    tag: str | None = None
    tags: tuple[str, ...] = ()
    updated_at: datetime | None = None
    compressed_size_bytes: int | None = None
    reason: str = ""
    rule: str | None = None
    rule_index: int | None = None

    @classmethod
    def of_tag(
        cls, repository: str, tag: Tag, reason: str, *, rule: str | None = None, rule_index: int | None = None
    ) -> Deletion:
        """The deletion of one listed tag of ``repository``."""
        return cls(
            kind=DeletionKind.TAG,
            repository=repository,
            digest=tag.manifest_digest,
            tag=tag.tag,
            updated_at=tag.updated_at,
            compressed_size_bytes=tag.compressed_size_bytes,
            reason=reason,
            rule=rule,
            rule_index=rule_index,
        )

    @classmethod
    def of_manifest(
        cls,
        repository: str,
        manifest: Manifest,
        tags: Iterable[str],
        reason: str,
        *,
        rule: str | None = None,
        rule_index: int | None = None,
    ) -> Deletion:
        """The deletion, by digest, of a listed manifest of ``repository`` with ``tags`` (all its tags)."""
        return cls(
            kind=DeletionKind.MANIFEST,
            repository=repository,
            digest=manifest.digest,
            tags=tuple(sorted(tags)),
            updated_at=manifest.updated_at,
            compressed_size_bytes=manifest.compressed_size_bytes,
            reason=reason,
            rule=rule,
            rule_index=rule_index,
        )

    @property
    def key(self) -> str:
        """A stable identifier: ``repo:tag`` or ``repo@digest``."""
        return (
            f"{self.repository}:{self.tag}"
            if self.kind is DeletionKind.TAG
            else f"{self.repository}@{self.digest}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind.value,
            "repository": self.repository,
            "digest": self.digest,
            "tag": self.tag,
            "tags": list(self.tags),
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "compressed_size_bytes": self.compressed_size_bytes,
            "reason": self.reason,
            **({} if self.rule_index is None else {"rule": self.rule, "rule_index": self.rule_index}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deletion:
        """Rebuild (and re-validate every name) from :meth:`to_dict` output.

        Raises:
            ValidationError: If a field is missing or a name is invalid.
        """
        try:
            kind = DeletionKind(data["kind"])
            tag = data.get("tag")
            return cls(
                kind=kind,
                repository=validate_repository_name(data["repository"]),
                digest=validate_digest(data["digest"]),
                tag=validate_tag(tag) if kind is DeletionKind.TAG else None,
                tags=tuple(validate_tag(t) for t in _list(data.get("tags") or ())),
                updated_at=parse_datetime(data["updated_at"]) if data.get("updated_at") else None,
                compressed_size_bytes=data.get("compressed_size_bytes"),
                reason=str(data.get("reason", "")),
                rule=None if data.get("rule") is None else str(data["rule"]),
                rule_index=_rule_index(data.get("rule_index")),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            if isinstance(exc, ValidationError):
                raise
            raise ValidationError("plan deletion", data, f"is malformed: {exc!r}") from None


@attrs.frozen(kw_only=True)
class Kept:
    """A tag (or untagged manifest) the policy keeps, and why."""

    repository: str
    digest: str
    tag: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"repository": self.repository, "digest": self.digest, "tag": self.tag, "reason": self.reason}


@attrs.frozen(kw_only=True)
class RepositoryPlan:
    """The plan for one repository."""

    deletions: tuple[Deletion, ...]
    kept: tuple[Kept, ...]
    orphaned_digests: frozenset[str]
    """Manifests left with no tag (freed by a garbage collection that removes untagged manifests)."""


def plan_repository(
    repository: str,
    tags: Sequence[Tag],
    manifests: Sequence[Manifest],
    policy: RetentionPolicy,
    now: datetime,
) -> RepositoryPlan:
    """Decide what to delete in one repository (pure).

    Args:
        repository: The repository name.
        tags: Every tag of the repository (a full listing).
        manifests: Every manifest of the repository (a full listing).
        policy: The retention policy.
        now: The reference time for age rules.
    """
    kept: list[Kept] = []
    doomed: dict[str, Tag] = {}
    reasons: dict[str, str] = {}

    if policy.touches_tags:
        candidates: list[Tag] = []
        for tag in tags:
            exemption = policy.tag_exemption(tag.tag)
            if exemption is None:
                candidates.append(tag)
            else:
                kept.append(
                    Kept(repository=repository, digest=tag.manifest_digest, tag=tag.tag, reason=exemption)
                )
        # Newest first; a tag without a push time sorts as newest (when in doubt, keep).
        candidates.sort(key=lambda t: t.updated_at or _NEWEST, reverse=True)
        cutoff = policy.cutoff(now)
        for index, tag in enumerate(candidates):
            if policy.keep_last is not None and index < policy.keep_last:
                reason = f"among the newest {policy.keep_last}"
            elif tag.updated_at is None:
                reason = "no push time reported"
            elif cutoff is not None and tag.updated_at >= cutoff:
                reason = "newer than the age limit"
            else:
                doomed[tag.tag] = tag
                rules = []
                if policy.keep_last is not None:
                    rules.append(f"not among the newest {policy.keep_last}")
                if cutoff is not None:
                    rules.append("older than the age limit")
                reasons[tag.tag] = " and ".join(rules) or "matched by include patterns"
                continue
            kept.append(Kept(repository=repository, digest=tag.manifest_digest, tag=tag.tag, reason=reason))
    else:
        kept.extend(
            Kept(repository=repository, digest=t.manifest_digest, tag=t.tag, reason="policy touches no tags")
            for t in tags
        )

    by_digest = {m.digest: m for m in manifests}
    tags_of: dict[str, set[str]] = defaultdict(set)
    for tag in tags:
        tags_of[tag.manifest_digest].add(tag.tag)
    for manifest in manifests:
        tags_of[manifest.digest].update(manifest.tags)

    deletions: list[Deletion] = []
    orphaned: set[str] = set()
    doomed_by_digest: dict[str, list[Tag]] = defaultdict(list)
    for tag in doomed.values():
        doomed_by_digest[tag.manifest_digest].append(tag)
    for digest, doomed_tags in doomed_by_digest.items():
        all_tags = tags_of[digest]
        owner = by_digest.get(digest)
        whole = all_tags <= doomed.keys()
        if whole:
            orphaned.add(digest)
        if whole and policy.delete_untagged and owner is not None:
            reason = "every tag of this manifest expires: " + reasons[doomed_tags[0].tag]
            deletions.append(Deletion.of_manifest(repository, owner, all_tags, reason))
            continue
        deletions.extend(
            Deletion.of_tag(
                repository, tag, reasons[tag.tag] + ("" if whole else " (manifest shared with a kept tag)")
            )
            for tag in sorted(doomed_tags, key=lambda t: t.tag)
        )

    if policy.delete_untagged:
        cutoff = policy.untagged_cutoff(now)
        for manifest in manifests:
            if manifest.tags or tags_of[manifest.digest]:
                continue
            if cutoff is not None and (manifest.updated_at is None or manifest.updated_at >= cutoff):
                kept.append(
                    Kept(
                        repository=repository, digest=manifest.digest, tag=None, reason="untagged, but recent"
                    )
                )
                continue
            orphaned.add(manifest.digest)
            deletions.append(Deletion.of_manifest(repository, manifest, (), "untagged manifest"))
    return RepositoryPlan(deletions=tuple(deletions), kept=tuple(kept), orphaned_digests=frozenset(orphaned))
