"""Native policy files: an ordered list of rules, each a repository selection and a retention policy.

Pure: parses and validates an already-loaded TOML/JSON document (see :mod:`docr_async.cleanup.rules`
for files and for the first-match semantics). Errors name the rule and the field:
``rule 2 (dev/*): keep_last must be an integer >= 0``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence  # noqa: TC003
from datetime import datetime  # noqa: TC003
from typing import TYPE_CHECKING, Any

import attrs

from ..exceptions import ValidationError
from .decisions import Decision, PolicyFileError, RepositoryDecisions, Verdict, newest_first
from .deletions import DeletionKind, RepositoryPlan, plan_repository
from .policy import Pattern, RetentionPolicy, parse_duration

if TYPE_CHECKING:
    from ..models import Manifest, Tag

__all__ = ["Rule", "parse_native_rules"]

_PATTERN_FIELDS = ("repositories", "exclude_repositories", "include_tags", "exclude_tags", "protect")
_FIELDS = (
    "name",
    *_PATTERN_FIELDS,
    "keep_last",
    "older_than",
    "default_protect",
    "delete_untagged",
    "untagged_older_than",
)
_TOP_LEVEL = ("version", "rules")


@attrs.frozen(kw_only=True)
class Rule:
    """One rule of a native policy file: the repositories it selects and the policy applied to them.

    Attributes:
        index: The rule's 1-based position in the file.
        name: Its optional ``name``.
        policy: The retention policy; its ``include_repositories`` / ``exclude_repositories`` are the
            rule's ``repositories`` / ``exclude_repositories``.
    """

    index: int
    name: str | None = None
    policy: RetentionPolicy

    def __attrs_post_init__(self) -> None:
        if not self.policy.include_repositories:
            raise PolicyFileError(
                f"{self.label}: repositories must not be empty", rule=self.index, field="repositories"
            )

    @property
    def label(self) -> str:
        """``rule 2 (dev/*)``: how reasons and errors name this rule (its name, else its patterns)."""
        return (
            f"rule {self.index} ({self.name or ', '.join(str(p) for p in self.policy.include_repositories)})"
        )

    @property
    def touches_tags(self) -> bool:
        """False when the rule only deletes untagged manifests (the tag listing is not needed)."""
        return self.policy.touches_tags

    def selects_repository(self, name: str) -> bool:
        """True if this rule selects the repository (whether or not an earlier rule does)."""
        return self.policy.selects_repository(name)

    def tag_exemption(self, tag: str) -> str | None:
        """Why this rule never deletes the tag (protected, excluded, not included), or None."""
        return self.policy.tag_exemption(tag)

    def evaluate(
        self,
        repository: str,
        tags: Sequence[Tag],
        manifests: Sequence[Manifest],
        now: datetime,
        *,
        rule_index: int | None = None,
    ) -> RepositoryDecisions:
        """Decide per tag and per untagged manifest, exactly as :func:`plan_repository` with :attr:`policy`.

        The arguments are those of :meth:`RetentionRules.evaluate`; ``rule_index`` is ignored (the
        rule's own :attr:`index` is recorded on every decision and deletion).
        """
        base = plan_repository(repository, tags, manifests, self.policy, now)
        prefix = f"{self.label}: "
        plan = RepositoryPlan(
            deletions=tuple(
                attrs.evolve(d, reason=prefix + d.reason, rule=self.label, rule_index=self.index)
                for d in base.deletions
            ),
            kept=tuple(attrs.evolve(k, reason=prefix + k.reason) for k in base.kept),
            orphaned_digests=base.orphaned_digests,
        )
        decisions: list[Decision] = []
        decided_tags: set[str] = set()
        decided_digests: set[str] = set()

        tag_times = {t.tag: t.updated_at for t in tags}
        manifest_times = {m.digest: m.updated_at for m in manifests}

        def add(digest: str, tag: str | None, verdict: Verdict, reason: str) -> None:
            pushed = tag_times.get(tag or "") or manifest_times.get(digest)
            if tag is None:
                decided_digests.add(digest)
                decisions.append(
                    Decision.for_manifest(
                        repository, digest, verdict, reason, rule=self.label, updated_at=pushed
                    )
                )
            else:
                decided_tags.add(tag)
                decisions.append(
                    Decision.for_tag(
                        repository, digest, tag, verdict, reason, rule=self.label, updated_at=pushed
                    )
                )

        for d in plan.deletions:
            # A tag deletion names its tag; a manifest deletion removes its tags (none when untagged).
            for t in (d.tag,) if d.kind is DeletionKind.TAG else d.tags or (None,):
                add(d.digest, t, Verdict.DELETE, d.reason)
        for k in plan.kept:
            add(k.digest, k.tag, Verdict.KEEP, k.reason)

        listed_tags = {t.tag for t in tags}
        for manifest in manifests:
            for t in manifest.tags:
                if t not in decided_tags and t not in listed_tags:
                    add(
                        manifest.digest,
                        t,
                        Verdict.KEEP,
                        prefix + "not in the tag listing (pushed during the scan?)",
                    )
            untagged = not manifest.tags and not any(t.manifest_digest == manifest.digest for t in tags)
            if untagged and manifest.digest not in decided_digests:
                add(
                    manifest.digest,
                    None,
                    Verdict.KEEP,
                    prefix + "untagged manifests are not deleted by this rule",
                )
        return RepositoryDecisions(
            repository=repository,
            rule=self.label,
            rule_index=self.index,
            decisions=newest_first(decisions),
            plan=plan,
        )

    def describe(self) -> dict[str, Any]:
        """JSON-ready form (stored in plan files)."""
        return {"index": self.index, "name": self.name, "policy": self.policy.describe()}


def _suggest(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _rule_label(raw: dict[str, Any], index: int) -> str:
    name = raw.get("name")
    if isinstance(name, str) and name:
        return f"rule {index} ({name})"
    repos = raw.get("repositories")
    if isinstance(repos, str):
        repos = [repos]
    if isinstance(repos, list) and repos and all(isinstance(r, str) for r in repos):
        return f"rule {index} ({', '.join(repos)})"
    return f"rule {index}"


def _patterns(raw: dict[str, Any], field: str, label: str, index: int) -> tuple[Pattern, ...]:
    value = raw.get(field, [])
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise PolicyFileError(
            f"{label}: {field} must be a pattern or a list of patterns", rule=index, field=field, value=value
        )
    try:
        return tuple(Pattern(v) for v in items)
    except ValidationError as exc:
        raise PolicyFileError(
            f"{label}: {field} entry {exc.value!r} {exc.reason}", rule=index, field=field, value=exc.value
        ) from None


def _duration(raw: dict[str, Any], field: str, label: str, index: int) -> Any:
    value = raw.get(field)
    if value is None:
        return None
    if not isinstance(value, str):  # a bare number is ambiguous (seconds? days?): refuse it
        raise PolicyFileError(
            f"{label}: {field} must be a duration string such as '30d', '12h' or '2w'",
            rule=index,
            field=field,
            value=value,
        )
    try:
        return parse_duration(value, field=field)
    except ValidationError as exc:
        raise PolicyFileError(
            f"{label}: {field} {exc.reason}", rule=index, field=field, value=value
        ) from None


def _flag(raw: dict[str, Any], field: str, default: bool, label: str, index: int) -> bool:
    value = raw.get(field, default)
    if not isinstance(value, bool):
        raise PolicyFileError(f"{label}: {field} must be true or false", rule=index, field=field, value=value)
    return value


def _parse_rule(raw: Any, index: int, protect: tuple[Pattern, ...]) -> Rule:
    if not isinstance(raw, dict):
        raise PolicyFileError(
            f"rule {index}: must be a table (an object)", rule=index, field="rule", value=raw
        )
    label = _rule_label(raw, index)
    for key in raw:
        if key not in _FIELDS:
            raise PolicyFileError(
                f"{label}: unknown field {key!r}{_suggest(key, _FIELDS)}",
                rule=index,
                field=key,
                value=raw[key],
            )
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or not name):
        raise PolicyFileError(
            f"{label}: name must be a non-empty string", rule=index, field="name", value=name
        )
    if "repositories" not in raw:
        raise PolicyFileError(
            f"{label}: repositories is required (the repositories this rule applies to)",
            rule=index,
            field="repositories",
        )
    patterns = {field: _patterns(raw, field, label, index) for field in _PATTERN_FIELDS}
    if not patterns["repositories"]:
        raise PolicyFileError(
            f"{label}: repositories must not be empty",
            rule=index,
            field="repositories",
            value=raw["repositories"],
        )
    keep_last = raw.get("keep_last")
    if keep_last is not None and (
        not isinstance(keep_last, int) or isinstance(keep_last, bool) or keep_last < 0
    ):
        raise PolicyFileError(
            f"{label}: keep_last must be an integer >= 0", rule=index, field="keep_last", value=keep_last
        )
    delete_untagged = _flag(raw, "delete_untagged", False, label, index)
    untagged_older_than = _duration(raw, "untagged_older_than", label, index)
    if untagged_older_than is not None and not delete_untagged:
        raise PolicyFileError(
            f"{label}: untagged_older_than needs delete_untagged = true",
            rule=index,
            field="untagged_older_than",
            value=raw["untagged_older_than"],
        )
    older_than = _duration(raw, "older_than", label, index)
    default = (Pattern("latest"),) if _flag(raw, "default_protect", True, label, index) else ()
    try:
        policy = RetentionPolicy(
            keep_last=keep_last,
            older_than=older_than,
            include_tags=patterns["include_tags"],
            exclude_tags=patterns["exclude_tags"],
            protected_tags=default + patterns["protect"] + protect,
            include_repositories=patterns["repositories"],
            exclude_repositories=patterns["exclude_repositories"],
            delete_untagged=delete_untagged,
            untagged_older_than=untagged_older_than,
        )
    except ValidationError as exc:
        raise PolicyFileError(
            f"{label}: deletes nothing: set keep_last, older_than, include_tags or delete_untagged"
            if exc.field == "policy"
            else f"{label}: {exc.field} {exc.reason}",
            rule=index,
            field=exc.field,
            value=exc.value,
        ) from None
    return Rule(index=index, name=name, policy=policy)


def parse_native_rules(data: Any, protect: tuple[Pattern, ...], source: str) -> tuple[Rule, ...]:
    """Validate a native policy document (parsed TOML/JSON) into its rules, in file order.

    Args:
        data: The document.
        protect: Patterns protected in every rule, in addition to the rule's own.
        source: Named in file-level errors.

    Raises:
        PolicyFileError: Naming the rule and the field.
    """
    if not isinstance(data, dict):
        raise PolicyFileError(
            f"{source}: a policy file must be a table (an object)", value=type(data).__name__
        )
    for key in data:
        if key not in _TOP_LEVEL:
            raise PolicyFileError(
                f"{source}: unknown top-level field {key!r}{_suggest(key, _TOP_LEVEL)}",
                field=key,
                value=data[key],
            )
    version = data.get("version", 1)
    if type(version) is not int or version != 1:  # true and 1.0 compare equal to 1
        raise PolicyFileError(f"{source}: version must be 1", field="version", value=data.get("version"))
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise PolicyFileError(
            f"{source}: rules must be a non-empty list ([[rules]] tables in TOML)",
            field="rules",
            value=raw_rules,
        )
    return tuple(_parse_rule(raw, index, protect) for index, raw in enumerate(raw_rules, start=1))
