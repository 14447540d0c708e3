"""Retention policy files: per-repository rule lists (TOML or JSON) and ECR lifecycle policies. Pure.

A native policy file is an ordered list of rules. Each rule selects repositories (globs or ``re:``
patterns) and carries the options of :class:`~docr_async.cleanup.policy.RetentionPolicy`. The first
rule that selects a repository applies to it; a repository that no rule selects is left alone::

    [[rules]]
    repositories = ["prod/*"]
    keep_last = 50

    [[rules]]
    repositories = ["dev/*"]
    keep_last = 5
    older_than = "7d"
    delete_untagged = true

A JSON document whose rules carry ``rulePriority`` is an AWS ECR lifecycle policy instead; it is
accepted unchanged (see :mod:`docr_async.cleanup.ecr`) and applies to every selected repository.

Everything is validated on load; errors name the rule and the field
(``rule 2 (dev/*): keep_last must be an integer >= 0``). Loading reads the file; evaluating is pure.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Sequence  # noqa: TC003
from datetime import datetime  # noqa: TC003
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..exceptions import ValidationError
from .decisions import Decision, PolicyFileError, RepositoryDecisions, Verdict
from .ecr import EcrLifecyclePolicy, is_ecr_document
from .plan import DeletionKind, RepositoryPlan, plan_repository
from .policy import Pattern, RetentionPolicy, parse_duration

if TYPE_CHECKING:
    from ..models import Manifest, Tag

__all__ = ["RetentionRules", "Rule"]

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
FORMAT_NATIVE = "docr-rules"
FORMAT_ECR = "ecr-lifecycle"


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

        Args:
            repository: The repository.
            tags: Its full tag listing.
            manifests: Its full manifest listing.
            now: Reference time for age rules.
            rule_index: Ignored (the rule's own :attr:`index` is recorded); accepted for symmetry.
        """
        base = plan_repository(repository, tags, manifests, self.policy, now)
        prefix = f"{self.label}: "
        plan = RepositoryPlan(
            deletions=tuple(attrs.evolve(d, reason=prefix + d.reason) for d in base.deletions),
            kept=tuple(attrs.evolve(k, reason=prefix + k.reason) for k in base.kept),
            orphaned_digests=base.orphaned_digests,
        )
        decisions: list[Decision] = []
        decided_tags: set[str] = set()
        decided_digests: set[str] = set()

        def add(kind: DeletionKind, digest: str, tag: str | None, verdict: Verdict, reason: str) -> None:
            decisions.append(
                Decision(
                    kind=kind,
                    repository=repository,
                    digest=digest,
                    tag=tag,
                    verdict=verdict,
                    reason=reason,
                    rule=self.label,
                )
            )
            if tag is None:
                decided_digests.add(digest)
            else:
                decided_tags.add(tag)

        for d in plan.deletions:
            if d.kind is DeletionKind.TAG and d.tag is not None:
                add(DeletionKind.TAG, d.digest, d.tag, Verdict.DELETE, d.reason)
            elif d.tags:
                for t in d.tags:
                    add(DeletionKind.TAG, d.digest, t, Verdict.DELETE, d.reason)
            else:
                add(DeletionKind.MANIFEST, d.digest, None, Verdict.DELETE, d.reason)
        for k in plan.kept:
            add(
                DeletionKind.TAG if k.tag is not None else DeletionKind.MANIFEST,
                k.digest,
                k.tag,
                Verdict.KEEP,
                k.reason,
            )

        listed_tags = {t.tag for t in tags}
        for manifest in manifests:
            for t in manifest.tags:
                if t not in decided_tags and t not in listed_tags:
                    add(
                        DeletionKind.TAG,
                        manifest.digest,
                        t,
                        Verdict.KEEP,
                        prefix + "not in the tag listing (pushed during the scan?)",
                    )
            untagged = not manifest.tags and not any(t.manifest_digest == manifest.digest for t in tags)
            if untagged and manifest.digest not in decided_digests:
                add(
                    DeletionKind.MANIFEST,
                    manifest.digest,
                    None,
                    Verdict.KEEP,
                    prefix + "untagged manifests are not deleted by this rule",
                )
        return RepositoryDecisions(
            repository=repository,
            rule=self.label,
            rule_index=self.index,
            decisions=tuple(decisions),
            plan=plan,
        )

    def describe(self) -> dict[str, Any]:
        """JSON-ready form (stored in plan files)."""
        return {"index": self.index, "name": self.name, "policy": self.policy.describe()}


PolicyRule = Rule | EcrLifecyclePolicy
"""A rule a repository can be handed to: one native rule, or a whole ECR lifecycle policy."""


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


def _parse_native(data: Any, protect: tuple[Pattern, ...], source: str) -> tuple[Rule, ...]:
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
    if data.get("version", 1) != 1:
        raise PolicyFileError(f"{source}: version must be 1", field="version", value=data.get("version"))
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise PolicyFileError(
            f"{source}: rules must be a non-empty list ([[rules]] tables in TOML)",
            field="rules",
            value=raw_rules,
        )
    return tuple(_parse_rule(raw, index, protect) for index, raw in enumerate(raw_rules, start=1))


def _as_patterns(values: Sequence[str | Pattern]) -> tuple[Pattern, ...]:
    if isinstance(values, str):
        values = (values,)
    return tuple(v if isinstance(v, Pattern) else Pattern(v) for v in values)


@attrs.frozen(kw_only=True)
class RetentionRules:
    """A loaded policy file: an ordered list of rules, the first one selecting a repository applies.

    Build it with :meth:`from_file`, :meth:`from_dict` or :meth:`from_ecr`. For an ECR lifecycle
    policy the list holds a single :class:`~docr_async.cleanup.ecr.EcrLifecyclePolicy` that applies
    to every repository the filters select.

    Attributes:
        rules: The rules, in file order (``Rule``), or the one ``EcrLifecyclePolicy``.
        include_repositories: Extra filter: only matching repositories are handled (all when empty).
        exclude_repositories: Extra filter: matching repositories are left alone.
        source: Where the rules came from (a path), for messages.
    """

    rules: tuple[PolicyRule, ...]
    include_repositories: tuple[Pattern, ...] = attrs.field(default=(), converter=_as_patterns)
    exclude_repositories: tuple[Pattern, ...] = attrs.field(default=(), converter=_as_patterns)
    source: str = attrs.field(default="policy", eq=False)

    def __attrs_post_init__(self) -> None:
        if not self.rules:
            raise PolicyFileError(f"{self.source}: no rules")
        ecr = [r for r in self.rules if isinstance(r, EcrLifecyclePolicy)]
        if ecr and len(self.rules) != 1:
            raise PolicyFileError(f"{self.source}: an ECR lifecycle policy cannot be mixed with other rules")

    @property
    def kind(self) -> str:
        """``docr-rules`` for a native rule list, ``ecr-lifecycle`` for an ECR lifecycle policy."""
        return FORMAT_ECR if isinstance(self.rules[0], EcrLifecyclePolicy) else FORMAT_NATIVE

    @classmethod
    def from_dict(
        cls, data: Any, *, protect: Sequence[str] = (), default_protect: bool = True, source: str = "policy"
    ) -> RetentionRules:
        """Validate a parsed policy document: native rules, or an ECR lifecycle policy (by ``rulePriority``).

        Args:
            data: The parsed TOML or JSON.
            protect: Tags protected in addition (added to every rule, or to the ECR policy).
            default_protect: For an ECR policy, protect ``latest`` (native rules set ``default_protect``
                per rule; passing False with a native file is an error).
            source: Named in error messages.

        Raises:
            PolicyFileError: If the document is invalid; the message names the rule and the field.
        """
        try:
            extra = _as_patterns(protect)
        except ValidationError as exc:
            raise PolicyFileError(
                f"protect {exc.value!r} {exc.reason}", field="protect", value=exc.value
            ) from None
        if is_ecr_document(data):
            return cls.from_ecr(data, protect=extra, default_protect=default_protect, source=source)
        if not default_protect:
            raise PolicyFileError(
                f"{source}: default_protect=False applies to ECR lifecycle policies; in a native file set"
                " default_protect = false in the rules concerned",
                field="default_protect",
                value=False,
            )
        return cls(rules=_parse_native(data, extra, source), source=source)

    @classmethod
    def from_ecr(
        cls,
        document: Any,
        *,
        protect: Sequence[str | Pattern] = (),
        default_protect: bool = True,
        include_repositories: Sequence[str | Pattern] = (),
        exclude_repositories: Sequence[str | Pattern] = (),
        source: str = "policy",
    ) -> RetentionRules:
        """Accept an AWS ECR lifecycle policy document unchanged, applied to every selected repository.

        Args:
            document: The parsed ECR lifecycle policy JSON.
            protect: Tags protected in addition to ``latest``.
            default_protect: Protect ``latest`` (default True).
            include_repositories: Only these repositories are handled (all when empty).
            exclude_repositories: These repositories are left alone.
            source: Named in error messages.

        Raises:
            PolicyFileError: If the document is invalid or uses what DOCR cannot honour.
        """
        protected = ((Pattern("latest"),) if default_protect else ()) + _as_patterns(protect)
        policy = EcrLifecyclePolicy.from_document(document, protected_tags=protected)
        return cls(
            rules=(policy,),
            include_repositories=include_repositories,
            exclude_repositories=exclude_repositories,
            source=source,
        )

    @classmethod
    def from_file(
        cls, path: str | Path, *, protect: Sequence[str] = (), default_protect: bool = True
    ) -> RetentionRules:
        """Read a policy file: TOML (``.toml``) or JSON (anything else), native or ECR.

        Args:
            path: The file.
            protect: Tags protected in addition (see :meth:`from_dict`).
            default_protect: For an ECR policy, protect ``latest``.

        Raises:
            PolicyFileError: If the file cannot be read or parsed, or is invalid.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyFileError(f"{path}: cannot read the policy file: {exc}", value=str(path)) from None
        data: Any
        if path.suffix.lower() == ".toml":
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise PolicyFileError(f"{path}: not valid TOML: {exc}", value=str(path)) from None
        else:
            try:
                data = json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise PolicyFileError(f"{path}: not valid JSON: {exc}", value=str(path)) from None
        return cls.from_dict(data, protect=protect, default_protect=default_protect, source=str(path))

    def restricted(
        self, *, include: Sequence[str | Pattern] = (), exclude: Sequence[str | Pattern] = ()
    ) -> RetentionRules:
        """A copy that handles fewer repositories (adds include/exclude filters; never widens)."""
        include_all = self.include_repositories + _as_patterns(include)
        if self.include_repositories and include:
            raise PolicyFileError(
                f"{self.source}: repository include filters are already set; narrow with exclude instead",
                field="include_repositories",
            )
        return attrs.evolve(
            self,
            include_repositories=include_all,
            exclude_repositories=self.exclude_repositories + _as_patterns(exclude),
        )

    def _filtered(self, repository: str) -> bool:
        if self.include_repositories and not any(p.matches(repository) for p in self.include_repositories):
            return True
        return any(p.matches(repository) for p in self.exclude_repositories)

    def rule_for(self, repository: str) -> tuple[int, PolicyRule] | None:
        """The rule that applies to the repository and its 1-based position, or None (left alone)."""
        if self._filtered(repository):
            return None
        for index, rule in enumerate(self.rules, start=1):
            if rule.selects_repository(repository):
                return index, rule
        return None

    def selects_repository(self, repository: str) -> bool:
        """True if some rule applies to the repository."""
        return self.rule_for(repository) is not None

    def tag_exemption(self, repository: str, tag: str) -> str | None:
        """Why the tag must never be deleted under these rules, or None (executor enforcement)."""
        found = self.rule_for(repository)
        if found is None:
            return "no rule selects this repository"
        return found[1].tag_exemption(tag)

    def evaluate(
        self, repository: str, tags: Sequence[Tag], manifests: Sequence[Manifest], now: datetime
    ) -> RepositoryDecisions:
        """Keep-or-delete per tag and manifest of one repository, with reasons, and its plan.

        Args:
            repository: The repository.
            tags: Its full tag listing.
            manifests: Its full manifest listing.
            now: Reference time for age rules.
        """
        found = self.rule_for(repository)
        if found is None:
            reason = "no rule selects this repository: left alone"
            decisions = [
                Decision(
                    kind=DeletionKind.TAG,
                    repository=repository,
                    digest=t.manifest_digest,
                    tag=t.tag,
                    verdict=Verdict.KEEP,
                    reason=reason,
                )
                for t in tags
            ]
            decisions += [
                Decision(
                    kind=DeletionKind.MANIFEST,
                    repository=repository,
                    digest=m.digest,
                    verdict=Verdict.KEEP,
                    reason=reason,
                )
                for m in manifests
                if not m.tags and not any(t.manifest_digest == m.digest for t in tags)
            ]
            return RepositoryDecisions(
                repository=repository,
                rule=None,
                rule_index=None,
                decisions=tuple(decisions),
                plan=RepositoryPlan(deletions=(), kept=(), orphaned_digests=frozenset()),
            )
        index, rule = found
        return rule.evaluate(repository, tags, manifests, now, rule_index=index)

    def describe(self) -> dict[str, Any]:
        """JSON-ready form (stored in plan files, format version 2)."""
        out: dict[str, Any] = {
            "format": self.kind,
            "include_repositories": [str(p) for p in self.include_repositories],
            "exclude_repositories": [str(p) for p in self.exclude_repositories],
        }
        if self.kind == FORMAT_ECR:
            out.update(self.rules[0].describe())
        else:
            out["rules"] = [rule.describe() for rule in self.rules]
        return out

    @classmethod
    def from_description(cls, data: Any) -> RetentionRules:
        """Rebuild rules from :meth:`describe` output (a plan file), re-validating everything.

        Raises:
            PolicyFileError: If the description is malformed.
        """
        if not isinstance(data, dict) or data.get("format") not in (FORMAT_NATIVE, FORMAT_ECR):
            raise PolicyFileError("plan rules: format must be 'docr-rules' or 'ecr-lifecycle'", value=data)
        try:
            include = tuple(data.get("include_repositories", ()))
            exclude = tuple(data.get("exclude_repositories", ()))
            if data["format"] == FORMAT_ECR:
                return cls.from_ecr(
                    data["document"],
                    protect=tuple(data.get("protected_tags", ("latest",))),
                    default_protect=False,
                    include_repositories=include,
                    exclude_repositories=exclude,
                    source="plan",
                )
            rules = tuple(
                Rule(
                    index=int(r["index"]),
                    name=r.get("name"),
                    policy=RetentionPolicy.from_description(r["policy"]),
                )
                for r in data["rules"]
            )
            if [r.index for r in rules] != list(range(1, len(rules) + 1)):
                raise PolicyFileError("plan rules: rule indexes must be 1, 2, 3, ...", value=data["rules"])
            return cls(rules=rules, include_repositories=include, exclude_repositories=exclude, source="plan")
        except PolicyFileError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PolicyFileError(f"plan rules: malformed description: {exc!r}", value=data) from None
