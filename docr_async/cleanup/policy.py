"""Retention policies: which tags and untagged manifests to delete. Pure: no I/O.

A policy selects *candidate* tags per repository (include/exclude patterns, never a protected tag),
then keeps the newest ``keep_last`` candidates and any candidate newer than ``older_than``.
Everything a policy does not select is kept. A policy without any rule (no ``keep_last``, no
``older_than``, no ``include_tags`` and no ``delete_untagged``) is refused as deleting nothing.
A policy may select every tag of a repository (``keep_last=0`` with no protected tags, or a zero
``older_than``); the executor then refuses the plan as a whole, naming the repositories it would
leave without any tag, unless ``allow_empty_repositories=True`` (``--allow-empty-repositories``).

Patterns are globs (``v1.*``, ``pr-*``) or regular expressions with an ``re:`` prefix
(``re:^sha-[0-9a-f]{7}$``); a regex must match the whole tag.
"""

from __future__ import annotations

import fnmatch
import importlib
import re
from datetime import datetime, timedelta
from typing import Any

import attrs

from ..exceptions import ValidationError

__all__ = ["Pattern", "RetentionPolicy", "parse_duration"]

_sre: Any = importlib.import_module("re._parser")  # the stdlib's own regex parser (no stubs)
_BACKTRACKING_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT)


def _variable_width(item: tuple[Any, Any]) -> bool:
    """True if a parsed regex item can match strings of different lengths in more than one way
    when repeated: a non-fixed repeat, or an alternation with such a branch."""
    op, arg = item
    if op in _BACKTRACKING_REPEATS:
        return bool(arg[0] != arg[1])
    if op is _sre.SUBPATTERN:
        return _only_variable(arg[-1])
    if op is _sre.BRANCH:
        return any(_only_variable(branch) for branch in arg[1])
    return False


def _only_variable(items: Any) -> bool:
    """True if a sequence is made only of variable-width parts (``a+``, ``\\s?``, ``(a+|b)``)."""
    return bool(items) and all(_variable_width(item) for item in items)


def _exponential(items: Any) -> bool:
    """True if a parsed regex holds an unbounded repeat of a body made only of variable-width
    parts, like ``(a+)+`` or ``(\\w+\\s?)*``: Python's ``re`` may try every way to split the input
    between the rounds, exponential in its length. Possessive repeats and atomic groups never
    backtrack and are not reported. A heuristic: it refuses the classic shapes, not every slow regex."""
    for op, arg in items:
        if op in _BACKTRACKING_REPEATS:
            body = arg[2]
            if arg[1] == _sre.MAXREPEAT and _only_variable(body) and _has_unbounded(body):
                return True
            if _exponential(body):
                return True
        elif (op is _sre.SUBPATTERN and _exponential(arg[-1])) or (
            op is _sre.BRANCH and any(_exponential(branch) for branch in arg[1])
        ):
            return True
    return False


def _has_unbounded(items: Any) -> bool:
    for op, arg in items:
        if op in _BACKTRACKING_REPEATS and (arg[1] == _sre.MAXREPEAT or _has_unbounded(arg[2])):
            return True
        if op is _sre.SUBPATTERN and _has_unbounded(arg[-1]):
            return True
        if op is _sre.BRANCH and any(_has_unbounded(branch) for branch in arg[1]):
            return True
    return False


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d|w)")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _timedelta(value: object, seconds: float, field: str) -> timedelta:
    try:
        return timedelta(seconds=seconds)
    except (OverflowError, ValueError):  # inf, nan, or more than 999999999 days
        raise ValidationError(field, value, "must be a finite duration") from None


def parse_duration(value: str | timedelta | float, *, field: str = "duration") -> timedelta:
    """Parse ``"90d"``, ``"12h"``, ``"2w"``, ``"1d12h"``, seconds, or a timedelta.

    Raises:
        ValidationError: If the value is not a non-negative duration.
    """
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = _timedelta(value, value, field)
    elif isinstance(value, str):
        text = value.strip().lower()
        pos = 0
        seconds = 0.0
        for match in _DURATION_RE.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if not text or pos != len(text):
            raise ValidationError(field, value, "must be a duration such as '30d', '12h', '2w' or '1d12h'")
        result = _timedelta(value, seconds, field)
    else:
        raise ValidationError(field, value, "must be a duration string, a number of seconds or a timedelta")
    if result < timedelta(0):
        raise ValidationError(field, value, "must not be negative")
    return result


@attrs.frozen
class Pattern:
    """A glob, or a regular expression when written ``re:<regex>`` (full match)."""

    text: str
    _regex: re.Pattern[str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text:
            raise ValidationError("pattern", self.text, "must be a non-empty string")
        source = self.text[3:] if self.text.startswith("re:") else fnmatch.translate(self.text)
        try:
            compiled = re.compile(source)
        except re.error as exc:
            raise ValidationError("pattern", self.text, f"is not a valid regular expression: {exc}") from None
        if self.text.startswith("re:") and _exponential(_sre.parse(source)):
            raise ValidationError(
                "pattern",
                self.text,
                "may take exponential time (a repeated group made only of repeats, like (a+)+); "
                "rewrite it with a separator in the group, a possessive repeat (a++) or a glob",
            )
        object.__setattr__(self, "_regex", compiled)

    def matches(self, value: str) -> bool:
        """True if the whole value matches."""
        return self._regex.fullmatch(value) is not None

    def __str__(self) -> str:
        return self.text


def _patterns(values: Any) -> tuple[Pattern, ...]:
    if isinstance(values, str | Pattern):
        values = (values,)
    if not isinstance(values, list | tuple | set | frozenset):
        raise ValidationError("patterns", values, "must be a pattern or a list of patterns")
    return tuple(v if isinstance(v, Pattern) else Pattern(v) for v in values)


def _older_than(value: Any) -> timedelta | None:
    return None if value is None else parse_duration(value, field="older_than")


def _untagged_older_than(value: Any) -> timedelta | None:
    return None if value is None else parse_duration(value, field="untagged_older_than")


def _keep_last(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError("keep_last", value, "must be an int >= 0")
    return value


def _any_match(patterns: tuple[Pattern, ...], value: str) -> bool:
    return any(p.matches(value) for p in patterns)


@attrs.frozen(kw_only=True)
class RetentionPolicy:
    """What to delete from each repository. Everything not selected is kept.

    Attributes:
        keep_last: Keep the newest N candidate tags of each repository (by ``updated_at``).
        older_than: Only delete candidate tags last pushed longer ago than this.
        include_tags: Only tags matching one of these are candidates (all tags when empty).
        exclude_tags: Tags matching one of these are kept.
        protected_tags: Always kept, whatever else says (default: ``latest``).
        include_repositories: Only repositories matching one of these are cleaned (all when empty).
        exclude_repositories: Repositories matching one of these are left alone.
        delete_untagged: Also delete manifests no tag points at.
        untagged_older_than: Only delete untagged manifests older than this.
    """

    keep_last: int | None = attrs.field(default=None, converter=_keep_last)
    older_than: timedelta | None = attrs.field(default=None, converter=_older_than)
    include_tags: tuple[Pattern, ...] = attrs.field(default=(), converter=_patterns)
    exclude_tags: tuple[Pattern, ...] = attrs.field(default=(), converter=_patterns)
    protected_tags: tuple[Pattern, ...] = attrs.field(default=("latest",), converter=_patterns)
    include_repositories: tuple[Pattern, ...] = attrs.field(default=(), converter=_patterns)
    exclude_repositories: tuple[Pattern, ...] = attrs.field(default=(), converter=_patterns)
    delete_untagged: bool = False
    untagged_older_than: timedelta | None = attrs.field(default=None, converter=_untagged_older_than)

    def __attrs_post_init__(self) -> None:
        # Without a tag rule the policy would delete every tag; delete_untagged alone is fine.
        if not self.touches_tags and not self.delete_untagged:
            raise ValidationError(
                "policy",
                self.describe(),
                "deletes nothing: set keep_last, older_than, include_tags or delete_untagged",
            )
        if not isinstance(self.delete_untagged, bool):
            raise ValidationError("delete_untagged", self.delete_untagged, "must be a bool")

    @property
    def touches_tags(self) -> bool:
        """False for an untagged-manifests-only policy."""
        return self.keep_last is not None or self.older_than is not None or bool(self.include_tags)

    def selects_repository(self, name: str) -> bool:
        """True if the repository is cleaned by this policy."""
        if self.include_repositories and not _any_match(self.include_repositories, name):
            return False
        return not _any_match(self.exclude_repositories, name)

    def tag_exemption(self, tag: str) -> str | None:
        """Why a tag is never a candidate (protected, excluded, not included), or None if it is one."""
        if _any_match(self.protected_tags, tag):
            return "protected"
        if _any_match(self.exclude_tags, tag):
            return "excluded by pattern"
        if self.include_tags and not _any_match(self.include_tags, tag):
            return "not matched by include patterns"
        return None

    def cutoff(self, now: datetime) -> datetime | None:
        """Candidate tags updated before this instant may be deleted (None: no age rule)."""
        return None if self.older_than is None else now - self.older_than

    def untagged_cutoff(self, now: datetime) -> datetime | None:
        """Untagged manifests updated before this instant may be deleted (None: no age rule)."""
        return None if self.untagged_older_than is None else now - self.untagged_older_than

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description (stored in plan files and reports)."""
        return {
            "keep_last": self.keep_last,
            "older_than_seconds": None if self.older_than is None else self.older_than.total_seconds(),
            "include_tags": [str(p) for p in self.include_tags],
            "exclude_tags": [str(p) for p in self.exclude_tags],
            "protected_tags": [str(p) for p in self.protected_tags],
            "include_repositories": [str(p) for p in self.include_repositories],
            "exclude_repositories": [str(p) for p in self.exclude_repositories],
            "delete_untagged": self.delete_untagged,
            "untagged_older_than_seconds": (
                None if self.untagged_older_than is None else self.untagged_older_than.total_seconds()
            ),
        }

    @classmethod
    def from_description(cls, data: dict[str, Any]) -> RetentionPolicy:
        """Rebuild a policy from :meth:`describe` output.

        Raises:
            ValidationError: If the description is invalid.
        """
        try:
            return cls(
                keep_last=data.get("keep_last"),
                older_than=data.get("older_than_seconds"),
                include_tags=tuple(data.get("include_tags", ())),
                exclude_tags=tuple(data.get("exclude_tags", ())),
                protected_tags=tuple(data.get("protected_tags", ("latest",))),
                include_repositories=tuple(data.get("include_repositories", ())),
                exclude_repositories=tuple(data.get("exclude_repositories", ())),
                delete_untagged=data.get("delete_untagged", False),
                untagged_older_than=data.get("untagged_older_than_seconds"),
            )
        except (TypeError, AttributeError) as exc:
            raise ValidationError("policy", data, f"is not a valid policy description: {exc}") from None
