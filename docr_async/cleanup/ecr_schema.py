"""ECR lifecycle policy documents: the rule model and its validation. Pure.

Follows AWS's "Lifecycle policy properties" and "Lifecycle policy evaluation rules" (Amazon ECR User
Guide). What DOCR cannot honour is refused, never ignored: ``sinceImagePulled`` and
``sinceImageTransitioned`` (DOCR records no pull or transition times), ``transition`` actions and
``storageClass`` (DOCR has one storage class), and any unknown key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence  # noqa: TC003
from typing import Any, TypeGuard

import attrs

from .decisions import PolicyFileError

__all__ = ["EcrRule", "is_ecr_document", "parse_ecr_rules"]

_RULE_KEYS = {"rulePriority", "description", "selection", "action"}
_SELECTION_KEYS = {"tagStatus", "tagPatternList", "tagPrefixList", "countType", "countUnit", "countNumber"}
_REFUSED_COUNT_TYPES = {
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
        """True if an image carrying ``tags`` matches this rule's tag selection.

        Every entry of the prefix or pattern list must match at least one of the image's tags.
        """
        if self.tag_status == "untagged":
            return not tags
        if self.tag_status == "any":
            return True
        if not tags:
            return False
        if self.tag_prefixes:
            return all(any(t.startswith(p) for t in tags) for p in self.tag_prefixes)
        return all(any(r.fullmatch(t) for t in tags) for r in self._regexes)


class _Rule:
    """Error reporting bound to one rule of the document."""

    def __init__(self, position: int, label: str) -> None:
        self.position = position
        self.label = label

    def error(self, field: str, value: object, problem: str) -> PolicyFileError:
        return PolicyFileError(f"{self.label}: {problem}", rule=self.position, field=field, value=value)


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _tag_lists(selection: dict[str, Any], status: Any, at: _Rule) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(tagPrefixList, tagPatternList)`` of a selection, validated against its ``tagStatus``."""
    given = [key for key in ("tagPrefixList", "tagPatternList") if key in selection]
    if status != "tagged":
        if given:
            raise at.error(
                f"selection.{given[0]}",
                selection[given[0]],
                f"selection.{given[0]} is only allowed with tagStatus 'tagged'",
            )
        return (), ()
    if len(given) != 1:
        key = given[0] if given else "tagPatternList"
        raise at.error(
            f"selection.{key}",
            selection,
            "a tagged rule needs exactly one of selection.tagPrefixList and selection.tagPatternList",
        )
    key = given[0]
    values = selection[key]
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise at.error(
            f"selection.{key}", values, f"selection.{key} must be a non-empty list of non-empty strings"
        )
    for value in values:
        if key == "tagPatternList" and value.count("*") > _MAX_WILDCARDS:
            raise at.error(
                f"selection.{key}",
                value,
                f"selection.{key} entry {value!r} has more than {_MAX_WILDCARDS} wildcards",
            )
    return (tuple(values), ()) if key == "tagPrefixList" else ((), tuple(values))


def _count(selection: dict[str, Any], at: _Rule) -> tuple[str, int]:
    """``(countType, countNumber)``, with ``countUnit`` checked."""
    count_type = selection.get("countType")
    if count_type in _REFUSED_COUNT_TYPES:
        raise at.error(
            "selection.countType", count_type, f"selection.countType: {_REFUSED_COUNT_TYPES[count_type]}"
        )
    if count_type not in ("imageCountMoreThan", "sinceImagePushed"):
        raise at.error(
            "selection.countType",
            count_type,
            "selection.countType must be 'imageCountMoreThan' or 'sinceImagePushed'",
        )
    number = selection.get("countNumber")
    if not _is_count(number):
        raise at.error("selection.countNumber", number, "selection.countNumber must be an integer >= 1")
    unit = selection.get("countUnit")
    if count_type == "sinceImagePushed" and unit != "days":
        raise at.error(
            "selection.countUnit",
            unit,
            "selection.countUnit must be 'days' with countType 'sinceImagePushed'",
        )
    if count_type == "imageCountMoreThan" and "countUnit" in selection:
        raise at.error(
            "selection.countUnit",
            unit,
            "selection.countUnit is only allowed with countType 'sinceImagePushed'",
        )
    return count_type, number


def _parse_rule(raw: Any, position: int) -> EcrRule:
    at = _Rule(position, f"rule {position}")
    if not isinstance(raw, dict):
        raise at.error("rule", raw, "must be an object")
    priority = raw.get("rulePriority")
    if not _is_count(priority):
        raise at.error("rulePriority", priority, "rulePriority must be an integer >= 1")
    at.label = f"rule {position} (ECR priority {priority})"
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise at.error(unknown[0], raw[unknown[0]], f"unknown field {unknown[0]!r}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise at.error("description", description, "description must be a string")

    action = raw.get("action")
    if not isinstance(action, dict):
        raise at.error("action", action, 'action must be an object such as {"type": "expire"}')
    if action.get("type") == "transition" or "targetStorageClass" in action:
        raise at.error(
            "action.type",
            action.get("type"),
            "action.type 'transition' cannot be honoured: DOCR has no archive storage class (only 'expire' is"
            " supported)",
        )
    if action.get("type") != "expire":
        raise at.error("action.type", action.get("type"), "action.type must be 'expire'")
    if set(action) != {"type"}:
        extra = sorted(set(action) - {"type"})[0]
        raise at.error(f"action.{extra}", action[extra], f"unknown field 'action.{extra}'")

    selection = raw.get("selection")
    if not isinstance(selection, dict):
        raise at.error("selection", selection, "selection must be an object")
    if "storageClass" in selection:
        raise at.error(
            "selection.storageClass",
            selection["storageClass"],
            "selection.storageClass: DOCR has a single storage class; remove selection.storageClass",
        )
    unknown = sorted(set(selection) - _SELECTION_KEYS)
    if unknown:
        raise at.error(
            f"selection.{unknown[0]}", selection[unknown[0]], f"unknown field 'selection.{unknown[0]}'"
        )
    status = selection.get("tagStatus")
    if status not in ("tagged", "untagged", "any"):
        raise at.error(
            "selection.tagStatus", status, "selection.tagStatus must be 'tagged', 'untagged' or 'any'"
        )
    prefixes, patterns = _tag_lists(selection, status, at)
    count_type, number = _count(selection, at)
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
    """The constraints between rules: unique priorities, ``any`` last, one untagged rule, unique lists."""

    def error(rule: EcrRule, field: str, value: object, problem: str) -> PolicyFileError:
        return _Rule(rule.position, rule.label).error(field, value, problem)

    by_priority: dict[int, EcrRule] = {}
    for rule in rules:
        if rule.priority in by_priority:
            other = by_priority[rule.priority].position
            raise error(
                rule,
                "rulePriority",
                rule.priority,
                f"rulePriority {rule.priority} is also used by rule {other}",
            )
        by_priority[rule.priority] = rule
    ordered = sorted(rules, key=lambda r: r.priority)
    for rule in ordered[:-1]:
        if rule.tag_status == "any":
            raise error(
                rule,
                "selection.tagStatus",
                "any",
                "a rule with tagStatus 'any' must have the highest rulePriority",
            )
    untagged = [r for r in ordered if r.tag_status == "untagged"]
    if len(untagged) > 1:
        raise error(
            untagged[1],
            "selection.tagStatus",
            "untagged",
            f"only one rule may select untagged images (so does {untagged[0].label})",
        )
    lists: dict[tuple[str, frozenset[str]], EcrRule] = {}
    for rule in ordered:
        if rule.tag_status == "tagged":
            kind = "tagPrefixList" if rule.tag_prefixes else "tagPatternList"
            key = (kind, frozenset(rule.tag_prefixes or rule.tag_patterns))
            if key in lists:
                raise error(
                    rule,
                    f"selection.{kind}",
                    sorted(key[1]),
                    f"the same tag list as {lists[key].label}; each rule must select a unique set of tags",
                )
            lists[key] = rule


def parse_ecr_rules(document: Any) -> tuple[EcrRule, ...]:
    """Validate an ECR lifecycle policy document; its rules in priority order (lowest first).

    Raises:
        PolicyFileError: If the document is invalid or uses something DOCR cannot honour; the
            message names the rule (``rule 2 (ECR priority 20)``) and the field.
    """
    if not isinstance(document, dict):
        raise PolicyFileError("an ECR lifecycle policy must be a JSON object", value=type(document).__name__)
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
    return tuple(sorted(rules, key=lambda r: r.priority))
