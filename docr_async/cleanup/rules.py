"""Retention policy files: per-repository rule lists (TOML or JSON) and ECR lifecycle policies. Pure.

A native policy file is an ordered list of rules (:mod:`docr_async.cleanup.native_rules`). Each rule
selects repositories (globs or ``re:`` patterns) and carries the options of
:class:`~docr_async.cleanup.policy.RetentionPolicy`. The first rule that selects a repository applies
to it; a repository that no rule selects is left alone::

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

Everything is validated on load; errors name the rule and the field. Loading reads the file;
evaluating is pure.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence  # noqa: TC003
from datetime import datetime  # noqa: TC003
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..exceptions import ValidationError
from .decisions import Decision, PolicyFileError, RepositoryDecisions, Verdict, newest_first
from .deletions import RepositoryPlan
from .ecr import EcrLifecyclePolicy, is_ecr_document
from .native_rules import Rule, parse_native_rules
from .policy import Pattern, RetentionPolicy

if TYPE_CHECKING:
    from ..models import Manifest, Tag

__all__ = ["MAX_POLICY_FILE_BYTES", "PolicyRule", "RetentionRules", "Rule"]

MAX_POLICY_FILE_BYTES = 1 << 20
"""The largest policy file read (1 MiB): anything larger (or an endless device) is refused."""

FORMAT_NATIVE = "docr-rules"
FORMAT_ECR = "ecr-lifecycle"


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (TOML refuses it; ``json`` keeps the last)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKeyError(key)
        out[key] = value
    return out


PolicyRule = Rule | EcrLifecyclePolicy
"""A rule a repository can be handed to: one native rule, or a whole ECR lifecycle policy."""


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
        return cls(rules=parse_native_rules(data, extra, source), source=source)

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

        The file is UTF-8 (a leading byte order mark is ignored) and at most
        :data:`MAX_POLICY_FILE_BYTES` (1 MiB) long.

        Args:
            path: The file.
            protect: Tags protected in addition (see :meth:`from_dict`).
            default_protect: For an ECR policy, protect ``latest``.

        Raises:
            PolicyFileError: If the file cannot be read or parsed, or is invalid.
        """
        path = Path(path)
        try:
            with path.open("rb") as stream:
                raw = stream.read(MAX_POLICY_FILE_BYTES + 1)
            # utf-8-sig: a byte order mark (Windows editors write one) is dropped, as RFC 8259 allows.
            text = raw.decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyFileError(f"{path}: cannot read the policy file: {exc}", value=str(path)) from None
        if len(raw) > MAX_POLICY_FILE_BYTES:
            raise PolicyFileError(
                f"{path}: larger than 1 MiB; a policy file is a short list of rules", value=str(path)
            )
        data: Any
        if path.suffix.lower() == ".toml":
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise PolicyFileError(f"{path}: not valid TOML: {exc}", value=str(path)) from None
        else:
            try:
                data = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
            except _DuplicateKeyError as exc:
                raise PolicyFileError(
                    f"{path}: key {exc.key!r} is given twice in one object (JSON would keep the last"
                    " one silently)",
                    field=exc.key,
                    value=str(path),
                ) from None
            except (ValueError, RecursionError) as exc:
                raise PolicyFileError(f"{path}: not valid JSON: {exc}", value=str(path)) from None
        return cls.from_dict(data, protect=protect, default_protect=default_protect, source=str(path))

    @classmethod
    def from_policy(cls, policy: RetentionPolicy, *, name: str = "command line") -> RetentionRules:
        """One rule applying ``policy`` to the repositories it selects (the command-line options).

        Lets a single :class:`RetentionPolicy` go through the same evaluation as a policy file; reasons
        read ``rule 1 (command line): ...``.
        """
        if not policy.include_repositories:
            policy = attrs.evolve(policy, include_repositories=(Pattern("*"),))
        return cls(rules=(Rule(index=1, name=name, policy=policy),), source=name)

    def restricted(
        self, *, include: Sequence[str | Pattern] = (), exclude: Sequence[str | Pattern] = ()
    ) -> RetentionRules:
        """A copy that handles fewer repositories (adds include/exclude filters; never widens)."""
        if self.include_repositories and include:
            raise PolicyFileError(
                f"{self.source}: repository include filters are already set; narrow with exclude instead",
                field="include_repositories",
            )
        return attrs.evolve(
            self,
            include_repositories=self.include_repositories + _as_patterns(include),
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
                Decision.for_tag(
                    repository, t.manifest_digest, t.tag, Verdict.KEEP, reason, updated_at=t.updated_at
                )
                for t in tags
            ]
            decisions += [
                Decision.for_manifest(repository, m.digest, Verdict.KEEP, reason, updated_at=m.updated_at)
                for m in manifests
                if not m.tags and not any(t.manifest_digest == m.digest for t in tags)
            ]
            return RepositoryDecisions(
                repository=repository,
                rule=None,
                rule_index=None,
                decisions=newest_first(decisions),
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
