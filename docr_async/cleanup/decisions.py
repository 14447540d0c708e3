"""Per-tag and per-manifest verdicts of a policy file, with the reason a human reads. Pure: no I/O.

Both kinds of policy file (native rule lists and AWS ECR lifecycle policies) evaluate one repository
into a :class:`RepositoryDecisions`: one :class:`Decision` per tag or manifest (keep or delete, and
why), plus the :class:`~docr_async.cleanup.plan.RepositoryPlan` the planner executes. ``--explain``
prints the decisions; the plan carries the deletions.
"""

from __future__ import annotations

from collections.abc import Iterable  # noqa: TC003
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import attrs

from ..exceptions import ValidationError
from .deletions import DeletionKind, RepositoryPlan

__all__ = ["Decision", "PolicyFileError", "RepositoryDecisions", "Verdict", "newest_first"]

_NEWEST = datetime.max.replace(tzinfo=UTC)


class PolicyFileError(ValidationError):
    """A policy file (native rules or an ECR lifecycle policy) is invalid; raised on load.

    The message names the rule and the field: ``rule 2 (dev/*): keep_last must be an int >= 0``.

    Attributes:
        rule: The rule's 1-based position in the file (in priority order for ECR), or ``None``
            when the error concerns the whole file.
        field: The offending field (``keep_last``, ``selection.tagStatus``, ...).
        value: The offending value, as given.
        reason: What is wrong, without the rule prefix.
    """

    def __init__(
        self, message: str, *, rule: int | None = None, field: str = "policy file", value: object = None
    ):
        super().__init__(field, value, message)
        self.rule = rule
        self.args = (message,)

    def __str__(self) -> str:
        return str(self.args[0])


class Verdict(StrEnum):
    """What a policy decides for one tag or manifest."""

    KEEP = "keep"
    DELETE = "delete"


@attrs.frozen(kw_only=True)
class Decision:
    """The verdict on one tag (``kind == "tag"``) or one manifest (``kind == "manifest"``).

    Attributes:
        kind: ``tag`` or ``manifest`` (an ECR image, or an untagged manifest).
        repository: The repository.
        digest: The manifest digest (for a tag: the manifest it points at).
        tag: The tag, for a tag decision.
        tags: For a manifest decision: the tags it carries (deleted with it).
        verdict: ``keep`` or ``delete``.
        reason: Why, prefixed with the deciding rule (``rule 1 (prod/*): among the newest 50``).
        rule: The label of the rule that decided (``rule 1 (prod/*)``), or ``None`` when none did.
        updated_at: When the tag or manifest was last pushed, as listed.
    """

    kind: DeletionKind
    repository: str
    digest: str
    tag: str | None = None
    tags: tuple[str, ...] = ()
    verdict: Verdict
    reason: str
    rule: str | None = None
    updated_at: datetime | None = None

    @classmethod
    def for_tag(
        cls,
        repository: str,
        digest: str,
        tag: str,
        verdict: Verdict,
        reason: str,
        *,
        rule: str | None = None,
        updated_at: datetime | None = None,
    ) -> Decision:
        """A decision on one tag (pointing at ``digest``)."""
        decision = cls.for_manifest(repository, digest, verdict, reason, rule=rule, updated_at=updated_at)
        return attrs.evolve(decision, kind=DeletionKind.TAG, tag=tag)

    @classmethod
    def for_manifest(
        cls,
        repository: str,
        digest: str,
        verdict: Verdict,
        reason: str,
        *,
        rule: str | None = None,
        tags: tuple[str, ...] = (),
        updated_at: datetime | None = None,
    ) -> Decision:
        """A decision on one manifest (carrying ``tags``, deleted with it)."""
        return cls(
            kind=DeletionKind.MANIFEST,
            repository=repository,
            digest=digest,
            tags=tags,
            verdict=verdict,
            reason=reason,
            rule=rule,
            updated_at=updated_at,
        )

    @property
    def deleted(self) -> bool:
        """True when the verdict is delete."""
        return self.verdict is Verdict.DELETE

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``--explain`` JSON)."""
        return {
            "kind": self.kind.value,
            "repository": self.repository,
            "digest": self.digest,
            "tag": self.tag,
            "tags": list(self.tags),
            "verdict": self.verdict.value,
            "reason": self.reason,
            "rule": self.rule,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


def newest_first(decisions: Iterable[Decision]) -> tuple[Decision, ...]:
    """Decisions in ``--explain`` order: newest push first (unknown times first), then by name."""
    return tuple(
        sorted(decisions, key=lambda d: (-(d.updated_at or _NEWEST).timestamp(), d.tag or "", d.digest))
    )


@attrs.frozen(kw_only=True)
class RepositoryDecisions:
    """What a policy file decides for one repository.

    Attributes:
        repository: The repository.
        rule: The label of the rule that applies (``rule 2 (dev/*)``, ``ECR lifecycle policy``),
            or ``None`` when no rule selects the repository (it is left alone).
        rule_index: That rule's 1-based position in the file, or ``None``.
        decisions: One decision per tag and per manifest that is not covered by a tag decision.
        plan: The deletions and kept items for the planner (empty when no rule applies).
    """

    repository: str
    rule: str | None
    rule_index: int | None
    decisions: tuple[Decision, ...]
    plan: RepositoryPlan

    @property
    def deleted_tags(self) -> frozenset[str]:
        """Tags that disappear (deleted one by one or with their manifest)."""
        out: set[str] = set()
        for d in self.decisions:
            if d.deleted:
                out.update((d.tag,) if d.tag is not None else d.tags)
        return frozenset(out)

    @property
    def kept_tags(self) -> frozenset[str]:
        """Tags that survive."""
        out: set[str] = set()
        for d in self.decisions:
            if not d.deleted:
                out.update((d.tag,) if d.tag is not None else d.tags)
        return frozenset(out) - self.deleted_tags

    @property
    def leaves_no_tags(self) -> bool:
        """True when the repository has tags and every one of them would be deleted.

        The delete-everything guard of the cleanup refuses such a plan unless explicitly allowed.
        """
        return bool(self.deleted_tags) and not self.kept_tags

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (one repository of the ``--explain`` JSON)."""
        return {
            "repository": self.repository,
            "rule": self.rule,
            "rule_index": self.rule_index,
            "decisions": [d.to_dict() for d in self.decisions],
        }
