"""AWS ECR lifecycle policies, accepted unchanged and evaluated with ECR's documented semantics. Pure.

The specification is AWS's public documentation ("Lifecycle policy properties", "Lifecycle policy
evaluation rules" and "Examples of lifecycle policies" in the Amazon ECR User Guide):

- an image is a manifest; its tags are every tag pointing at it; its push time is ``updated_at``;
- rules are evaluated in ``rulePriority`` order, lowest first; an image is expired by one rule or none;
- an image that matches the tag selection of a rule is decided by that rule: a lower-priority rule
  still *counts* it (``imageCountMoreThan`` ranks everything it selects) but can never expire it;
- ``imageCountMoreThan`` keeps the newest ``countNumber`` selected images (by push time);
  ``sinceImagePushed`` with ``countUnit: days`` expires images pushed more than ``countNumber`` days ago.

Validation lives in :mod:`docr_async.cleanup.ecr_schema`. On top of ECR's semantics, DOCR's safety
rules apply: an image carrying a protected tag (``latest`` by default) or without a push time is
never expired.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence  # noqa: TC003
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from ..models import Manifest
from .decisions import Decision, RepositoryDecisions, Verdict, newest_first
from .deletions import Deletion, Kept, RepositoryPlan
from .ecr_schema import EcrRule, is_ecr_document, parse_ecr_rules
from .policy import Pattern

if TYPE_CHECKING:
    from ..models import Tag

__all__ = ["EcrLifecyclePolicy", "EcrRule", "is_ecr_document"]

_NEWEST = datetime.max.replace(tzinfo=UTC)


@attrs.frozen(kw_only=True)
class _Image:
    digest: str
    tags: frozenset[str]
    pushed_at: datetime | None
    manifest: Manifest


@attrs.frozen(kw_only=True)
class EcrLifecyclePolicy:
    """An AWS ECR lifecycle policy document, validated, applied to each repository it is given.

    Attributes:
        document: The document exactly as loaded (stored in plan files).
        rules: Its rules, in priority order (lowest ``rulePriority`` first).
        protected_tags: An image carrying one of these is never expired (default: ``latest``).
    """

    document: dict[str, Any] = attrs.field(repr=False)
    rules: tuple[EcrRule, ...]
    protected_tags: tuple[Pattern, ...] = (Pattern("latest"),)

    label: ClassVar[str] = "ECR lifecycle policy"
    touches_tags: ClassVar[bool] = True

    @classmethod
    def from_document(
        cls, document: Any, *, protected_tags: Sequence[str | Pattern] = ("latest",)
    ) -> EcrLifecyclePolicy:
        """Validate an ECR lifecycle policy document (the parsed JSON).

        Args:
            document: The document, e.g. ``json.load`` of ``ecr-lifecycle.json``.
            protected_tags: Images carrying one of these tags are never expired.

        Raises:
            PolicyFileError: If the document is invalid or uses something DOCR cannot honour.
        """
        return cls(
            document=document,
            rules=parse_ecr_rules(document),
            protected_tags=tuple(p if isinstance(p, Pattern) else Pattern(p) for p in protected_tags),
        )

    def selects_repository(self, name: str) -> bool:
        """Always True: the policy applies to every repository it is given (narrow with filters)."""
        return True

    def tag_exemption(self, tag: str) -> str | None:
        """``"protected"`` for a protected tag (never deleted), else None."""
        return "protected" if any(p.matches(tag) for p in self.protected_tags) else None

    def _verdicts(self, images: Sequence[_Image], now: datetime) -> dict[str, tuple[EcrRule, bool, str]]:
        """Digest -> (deciding rule, expire?, reason) for every image some rule selects."""
        decided: dict[str, tuple[EcrRule, bool, str]] = {}
        for rule in self.rules:
            selected = [img for img in images if rule.selects(img.tags)]
            if rule.count_type == "imageCountMoreThan":
                ranked = sorted(selected, key=lambda i: (i.pushed_at or _NEWEST, i.digest), reverse=True)
                newest = {img.digest for img in ranked[: rule.count_number]}
                total = len(selected)
            else:
                cutoff = now - timedelta(days=rule.count_number)
            for img in selected:
                if img.digest in decided:
                    continue  # a higher-priority rule matched it: this rule counts it but cannot expire it
                if img.pushed_at is None:
                    decided[img.digest] = (rule, False, "no push time reported")
                elif rule.count_type == "imageCountMoreThan":
                    if img.digest in newest:
                        reason = f"among the newest {rule.count_number} of the {total} images it selects"
                        decided[img.digest] = (rule, False, reason)
                    else:
                        reason = f"not among the newest {rule.count_number} of the {total} images it selects"
                        decided[img.digest] = (rule, True, reason)
                elif img.pushed_at < cutoff:
                    decided[img.digest] = (rule, True, f"pushed more than {rule.count_number} days ago")
                else:
                    decided[img.digest] = (rule, False, f"pushed within the last {rule.count_number} days")
        return decided

    def evaluate(
        self,
        repository: str,
        tags: Sequence[Tag],
        manifests: Sequence[Manifest],
        now: datetime,
        *,
        rule_index: int | None = 1,
    ) -> RepositoryDecisions:
        """Decide, per image (manifest), keep or expire; expiring deletes the manifest with its tags.

        Args:
            repository: The repository.
            tags: Its full tag listing.
            manifests: Its full manifest listing.
            now: Reference time for ``sinceImagePushed``.
            rule_index: Recorded as the deciding entry's position (the façade passes its own).
        """
        tags_of: dict[str, set[str]] = defaultdict(set)
        for tag in tags:
            tags_of[tag.manifest_digest].add(tag.tag)
        for manifest in manifests:
            tags_of[manifest.digest].update(manifest.tags)
        images = [
            _Image(
                digest=m.digest,
                tags=frozenset(tags_of[m.digest]),
                pushed_at=m.updated_at,
                manifest=m,
            )
            for m in {m.digest: m for m in manifests}.values()
        ]
        decided = self._verdicts(images, now)

        decisions: list[Decision] = []
        deletions: list[Deletion] = []
        kept: list[Kept] = []
        for img in sorted(images, key=lambda i: (i.pushed_at or _NEWEST, i.digest), reverse=True):
            rule_label: str | None
            if img.digest in decided:
                rule, expire, why = decided[img.digest]
                rule_label = rule.label
                reason = f"{rule.label}: {why}"
                protected = sorted(t for t in img.tags if self.tag_exemption(t))
                if expire and protected:
                    expire = False
                    reason += f", but it carries protected tag {protected[0]!r}"
            else:
                rule_label, expire, reason = None, False, "no rule of the ECR lifecycle policy selects it"
            ordered_tags = tuple(sorted(img.tags))
            verdict = Verdict.DELETE if expire else Verdict.KEEP
            decisions.append(
                Decision.for_manifest(
                    repository,
                    img.digest,
                    verdict,
                    reason,
                    rule=rule_label,
                    tags=ordered_tags,
                    updated_at=img.pushed_at,
                )
            )
            if expire:
                deletions.append(
                    Deletion.of_manifest(
                        repository, img.manifest, img.tags, reason, rule=rule_label, rule_index=rule_index
                    )
                )
            else:
                kept.extend(
                    Kept(repository=repository, digest=img.digest, tag=t, reason=reason)
                    for t in ordered_tags or (None,)
                )
        listed = {img.digest for img in images}
        for tag in sorted(tags, key=lambda t: t.tag):
            if tag.manifest_digest not in listed:  # pushed between the two listings: not seen as an image
                reason = "its manifest is not in the manifest listing (pushed during the scan?)"
                decisions.append(
                    Decision.for_tag(
                        repository,
                        tag.manifest_digest,
                        tag.tag,
                        Verdict.KEEP,
                        reason,
                        updated_at=tag.updated_at,
                    )
                )
                kept.append(
                    Kept(repository=repository, digest=tag.manifest_digest, tag=tag.tag, reason=reason)
                )
        return RepositoryDecisions(
            repository=repository,
            rule=self.label,
            rule_index=rule_index,
            decisions=newest_first(decisions),
            plan=RepositoryPlan(
                deletions=tuple(deletions),
                kept=tuple(kept),
                orphaned_digests=frozenset(d.digest for d in deletions),
            ),
        )

    def describe(self) -> dict[str, Any]:
        """JSON-ready form: the document unchanged, plus the protected tags."""
        return {"document": self.document, "protected_tags": [str(p) for p in self.protected_tags]}
