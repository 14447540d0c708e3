"""AWS ECR lifecycle policies, accepted unchanged and evaluated with ECR's documented semantics. Pure.

The specification is AWS's public documentation ("Lifecycle policy properties", "Lifecycle policy
evaluation rules" and "Examples of lifecycle policies" in the Amazon ECR User Guide):

- an image is a manifest; its tags are every tag pointing at it;
- rules are evaluated in ``rulePriority`` order, lowest first; an image is expired by exactly one or
  zero rules;
- an image that matches the tag selection of a rule is decided by that rule: a lower-priority rule
  still *counts* it (``imageCountMoreThan`` ranks everything it selects) but can never expire it;
- ``tagStatus``: ``tagged`` (with ``tagPrefixList`` or ``tagPatternList``), ``untagged`` or ``any``
  (only as the highest ``rulePriority``); every entry of the list must match one of the image's tags;
- ``imageCountMoreThan`` keeps the newest ``countNumber`` selected images (by push time);
  ``sinceImagePushed`` with ``countUnit: days`` expires images pushed more than ``countNumber`` days ago.

What DOCR cannot honour is refused on load (:class:`~docr_async.cleanup.decisions.PolicyFileError`):
``sinceImagePulled`` and ``sinceImageTransitioned`` (DOCR records no pull or transition times),
``transition`` actions and ``storageClass`` (DOCR has one storage class), and unknown keys.

On top of ECR's semantics, DOCR's safety rules apply: an image carrying a protected tag (``latest``
by default) is never expired, and an image with no push time is never expired.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence  # noqa: TC003
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from .decisions import Decision, PolicyFileError, RepositoryDecisions, Verdict
from .plan import Deletion, DeletionKind, Kept, RepositoryPlan
from .policy import Pattern

if TYPE_CHECKING:
    from ..models import Manifest, Tag

__all__ = ["EcrLifecyclePolicy", "EcrRule", "is_ecr_document"]

_NEWEST = datetime.max.replace(tzinfo=UTC)
_RULE_KEYS = {"rulePriority", "description", "selection", "action"}
_SELECTION_KEYS = {"tagStatus", "tagPatternList", "tagPrefixList", "countType", "countUnit", "countNumber"}
_UNSUPPORTED_SELECTION = {
    "storageClass": "DOCR has a single storage class; remove selection.storageClass",
}
_UNSUPPORTED_COUNT_TYPES = {
    "sinceImagePulled": "DOCR records no pull times, so sinceImagePulled cannot be honoured",
    "sinceImageTransitioned": (
        "DOCR has no archive storage class, so sinceImageTransitioned cannot be honoured"
    ),
}
_MAX_WILDCARDS = 4


def is_ecr_document(data: object) -> bool:
    """True if ``data`` looks like an ECR lifecycle policy (a rule carries ``rulePriority``)."""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        return False
    return any(isinstance(rule, dict) and "rulePriority" in rule for rule in data["rules"])


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


@attrs.frozen(kw_only=True)
class EcrRule:
    """One validated ECR lifecycle rule.

    Attributes:
        position: The rule's 1-based position in the document's ``rules`` list.
        priority: ``rulePriority``.
        description: ``description`` (may be empty).
        tag_status: ``tagged``, ``untagged`` or ``any``.
        tag_prefixes: ``tagPrefixList`` (empty when not given).
        tag_patterns: ``tagPatternList`` (empty when not given); ``*`` is the only wildcard.
        count_type: ``imageCountMoreThan`` or ``sinceImagePushed``.
        count_number: ``countNumber`` (images to keep, or days).
    """

    position: int
    priority: int
    description: str = ""
    tag_status: str
    tag_prefixes: tuple[str, ...] = ()
    tag_patterns: tuple[str, ...] = ()
    count_type: str
    count_number: int
    _regexes: tuple[re.Pattern[str], ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_regexes", tuple(_wildcard(p) for p in self.tag_patterns))

    @property
    def label(self) -> str:
        """``rule 2 (ECR priority 20)``: how reasons and errors name this rule."""
        return f"rule {self.position} (ECR priority {self.priority})"

    def selects(self, tags: frozenset[str]) -> bool:
        """True if an image carrying ``tags`` matches this rule's tag selection."""
        if self.tag_status == "untagged":
            return not tags
        if self.tag_status == "any":
            return True
        if not tags:
            return False
        if self.tag_prefixes:
            return all(any(t.startswith(p) for t in tags) for p in self.tag_prefixes)
        return all(any(r.fullmatch(t) for t in tags) for r in self._regexes)


def _fail(message: str, *, position: int | None, field: str, value: object) -> PolicyFileError:
    return PolicyFileError(message, rule=position, field=field, value=value)


def _string_list(raw: Any, name: str, label: str, position: int) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) and v for v in raw):
        raise _fail(
            f"{label}: selection.{name} must be a non-empty list of non-empty strings",
            position=position,
            field=f"selection.{name}",
            value=raw,
        )
    return tuple(raw)


def _parse_rule(raw: Any, position: int) -> EcrRule:
    label = f"rule {position}"
    if not isinstance(raw, dict):
        raise _fail(f"{label}: must be an object", position=position, field="rule", value=raw)
    priority = raw.get("rulePriority")
    if not isinstance(priority, int) or isinstance(priority, bool) or priority < 1:
        raise _fail(
            f"{label}: rulePriority must be an integer >= 1",
            position=position,
            field="rulePriority",
            value=priority,
        )
    label = f"rule {position} (ECR priority {priority})"
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise _fail(f"{label}: unknown field {unknown[0]!r}", position=position, field=unknown[0], value=raw)
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise _fail(
            f"{label}: description must be a string",
            position=position,
            field="description",
            value=description,
        )

    action = raw.get("action")
    if not isinstance(action, dict):
        raise _fail(
            f'{label}: action must be an object such as {{"type": "expire"}}',
            position=position,
            field="action",
            value=action,
        )
    if action.get("type") == "transition" or "targetStorageClass" in action:
        raise _fail(
            f"{label}: action.type 'transition' cannot be honoured: DOCR has no archive storage class"
            " (only 'expire' is supported)",
            position=position,
            field="action.type",
            value=action.get("type"),
        )
    if action.get("type") != "expire":
        raise _fail(
            f"{label}: action.type must be 'expire'",
            position=position,
            field="action.type",
            value=action.get("type"),
        )
    extra = sorted(set(action) - {"type"})
    if extra:
        raise _fail(
            f"{label}: unknown field 'action.{extra[0]}'",
            position=position,
            field=f"action.{extra[0]}",
            value=action,
        )

    selection = raw.get("selection")
    if not isinstance(selection, dict):
        raise _fail(
            f"{label}: selection must be an object", position=position, field="selection", value=selection
        )
    for key, why in _UNSUPPORTED_SELECTION.items():
        if key in selection:
            raise _fail(
                f"{label}: selection.{key}: {why}",
                position=position,
                field=f"selection.{key}",
                value=selection[key],
            )
    unknown = sorted(set(selection) - _SELECTION_KEYS)
    if unknown:
        raise _fail(
            f"{label}: unknown field 'selection.{unknown[0]}'",
            position=position,
            field=f"selection.{unknown[0]}",
            value=selection,
        )

    status = selection.get("tagStatus")
    if status not in ("tagged", "untagged", "any"):
        raise _fail(
            f"{label}: selection.tagStatus must be 'tagged', 'untagged' or 'any'",
            position=position,
            field="selection.tagStatus",
            value=status,
        )
    has_prefixes, has_patterns = "tagPrefixList" in selection, "tagPatternList" in selection
    prefixes: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    if status == "tagged":
        if has_prefixes == has_patterns:
            raise _fail(
                f"{label}: a tagged rule needs exactly one of selection.tagPrefixList and"
                " selection.tagPatternList",
                position=position,
                field="selection.tagPrefixList" if has_prefixes else "selection.tagPatternList",
                value=selection,
            )
        if has_prefixes:
            prefixes = _string_list(selection["tagPrefixList"], "tagPrefixList", label, position)
        else:
            patterns = _string_list(selection["tagPatternList"], "tagPatternList", label, position)
            for pattern in patterns:
                if pattern.count("*") > _MAX_WILDCARDS:
                    raise _fail(
                        f"{label}: selection.tagPatternList entry {pattern!r} has more than"
                        f" {_MAX_WILDCARDS} wildcards",
                        position=position,
                        field="selection.tagPatternList",
                        value=pattern,
                    )
    elif has_prefixes or has_patterns:
        key = "tagPrefixList" if has_prefixes else "tagPatternList"
        raise _fail(
            f"{label}: selection.{key} is only allowed with tagStatus 'tagged'",
            position=position,
            field=f"selection.{key}",
            value=selection[key],
        )

    count_type = selection.get("countType")
    if count_type in _UNSUPPORTED_COUNT_TYPES:
        raise _fail(
            f"{label}: selection.countType: {_UNSUPPORTED_COUNT_TYPES[count_type]}",
            position=position,
            field="selection.countType",
            value=count_type,
        )
    if count_type not in ("imageCountMoreThan", "sinceImagePushed"):
        raise _fail(
            f"{label}: selection.countType must be 'imageCountMoreThan' or 'sinceImagePushed'",
            position=position,
            field="selection.countType",
            value=count_type,
        )
    number = selection.get("countNumber")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise _fail(
            f"{label}: selection.countNumber must be an integer >= 1",
            position=position,
            field="selection.countNumber",
            value=number,
        )
    unit = selection.get("countUnit")
    if count_type == "sinceImagePushed" and unit != "days":
        raise _fail(
            f"{label}: selection.countUnit must be 'days' with countType 'sinceImagePushed'",
            position=position,
            field="selection.countUnit",
            value=unit,
        )
    if count_type == "imageCountMoreThan" and "countUnit" in selection:
        raise _fail(
            f"{label}: selection.countUnit is only allowed with countType 'sinceImagePushed'",
            position=position,
            field="selection.countUnit",
            value=unit,
        )
    return EcrRule(
        position=position,
        priority=priority,
        description=description,
        tag_status=status,
        tag_prefixes=prefixes,
        tag_patterns=patterns,
        count_type=count_type,
        count_number=number,
    )


def _check_rule_set(rules: Sequence[EcrRule]) -> None:
    seen: dict[int, EcrRule] = {}
    for rule in rules:
        if rule.priority in seen:
            raise _fail(
                f"{rule.label}: rulePriority {rule.priority} is also used by"
                f" rule {seen[rule.priority].position}",
                position=rule.position,
                field="rulePriority",
                value=rule.priority,
            )
        seen[rule.priority] = rule
    ordered = sorted(rules, key=lambda r: r.priority)
    for rule in ordered[:-1]:
        if rule.tag_status == "any":
            raise _fail(
                f"{rule.label}: a rule with tagStatus 'any' must have the highest rulePriority",
                position=rule.position,
                field="selection.tagStatus",
                value="any",
            )
    untagged = [r for r in ordered if r.tag_status == "untagged"]
    if len(untagged) > 1:
        raise _fail(
            f"{untagged[1].label}: only one rule may select untagged images (so does {untagged[0].label})",
            position=untagged[1].position,
            field="selection.tagStatus",
            value="untagged",
        )
    lists: dict[tuple[str, frozenset[str]], EcrRule] = {}
    for rule in ordered:
        if rule.tag_status != "tagged":
            continue
        key = (
            ("prefix", frozenset(rule.tag_prefixes))
            if rule.tag_prefixes
            else ("pattern", frozenset(rule.tag_patterns))
        )
        if key in lists:
            raise _fail(
                f"{rule.label}: the same tag list as {lists[key].label};"
                " each rule must select a unique set of tags",
                position=rule.position,
                field="selection.tagPrefixList" if key[0] == "prefix" else "selection.tagPatternList",
                value=sorted(key[1]),
            )
        lists[key] = rule


@attrs.frozen(kw_only=True)
class _Image:
    digest: str
    tags: frozenset[str]
    pushed_at: datetime | None
    compressed_size_bytes: int | None


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
        if not isinstance(document, dict):
            raise PolicyFileError(
                "an ECR lifecycle policy must be a JSON object", value=type(document).__name__
            )
        unknown = sorted(set(document) - {"rules"})
        if unknown:
            raise PolicyFileError(
                f"ECR lifecycle policy: unknown top-level field {unknown[0]!r} (only 'rules' is allowed)",
                field=unknown[0],
                value=document[unknown[0]],
            )
        raw_rules = document.get("rules")
        if not isinstance(raw_rules, list) or not raw_rules:
            raise PolicyFileError(
                "ECR lifecycle policy: rules must be a non-empty list", field="rules", value=raw_rules
            )
        rules = [_parse_rule(raw, position) for position, raw in enumerate(raw_rules, start=1)]
        _check_rule_set(rules)
        return cls(
            document=document,
            rules=tuple(sorted(rules, key=lambda r: r.priority)),
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
                compressed_size_bytes=m.compressed_size_bytes,
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
            decisions.append(
                Decision(
                    kind=DeletionKind.MANIFEST,
                    repository=repository,
                    digest=img.digest,
                    tags=ordered_tags,
                    verdict=Verdict.DELETE if expire else Verdict.KEEP,
                    reason=reason,
                    rule=rule_label,
                )
            )
            if expire:
                deletions.append(
                    Deletion(
                        kind=DeletionKind.MANIFEST,
                        repository=repository,
                        digest=img.digest,
                        tags=ordered_tags,
                        updated_at=img.pushed_at,
                        compressed_size_bytes=img.compressed_size_bytes,
                        reason=reason,
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
                    Decision(
                        kind=DeletionKind.TAG,
                        repository=repository,
                        digest=tag.manifest_digest,
                        tag=tag.tag,
                        verdict=Verdict.KEEP,
                        reason=reason,
                    )
                )
                kept.append(
                    Kept(repository=repository, digest=tag.manifest_digest, tag=tag.tag, reason=reason)
                )
        return RepositoryDecisions(
            repository=repository,
            rule=self.label,
            rule_index=rule_index,
            decisions=tuple(decisions),
            plan=RepositoryPlan(
                deletions=tuple(deletions),
                kept=tuple(kept),
                orphaned_digests=frozenset(d.digest for d in deletions),
            ),
        )

    def describe(self) -> dict[str, Any]:
        """JSON-ready form: the document unchanged, plus the protected tags."""
        return {"document": self.document, "protected_tags": [str(p) for p in self.protected_tags]}
