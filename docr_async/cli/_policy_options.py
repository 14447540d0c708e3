"""The retention-policy options shared by commands that take a policy (``docr cleanup``, ``docr du``),
and the policy they build: one :class:`RetentionPolicy`, or a policy file's :class:`RetentionRules`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..cleanup import PolicyFileError, RetentionPolicy, RetentionRules
from ..exceptions import ValidationError
from ._exit import ExitCode, describe_error

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._common import Cli

__all__ = [
    "DeleteUntaggedOpt",
    "ExcludeRepoOpt",
    "ExcludeTagOpt",
    "IncludeRepoOpt",
    "IncludeTagOpt",
    "KeepLastOpt",
    "NoDefaultProtectOpt",
    "OlderThanOpt",
    "PolicyFileOpt",
    "ProtectOpt",
    "UntaggedOlderThanOpt",
    "any_policy_option",
    "policy_from_options",
    "retention_from_params",
    "rules_from_file",
]

PATTERN_HELP = "Glob (v1.*) or regex with an re: prefix; repeatable."

KeepLastOpt = Annotated[
    int | None,
    typer.Option(
        "--keep-last", min=0, help="Keep the newest N candidate tags per repository.", show_default=False
    ),
]
OlderThanOpt = Annotated[
    str | None,
    typer.Option(
        "--older-than",
        help="Only delete tags pushed longer ago than this (30d, 12h, 2w).",
        show_default=False,
    ),
]
IncludeTagOpt = Annotated[
    list[str] | None,
    typer.Option("--include-tag", help=f"Only these tags are candidates. {PATTERN_HELP}", show_default=False),
]
ExcludeTagOpt = Annotated[
    list[str] | None,
    typer.Option("--exclude-tag", help=f"Never delete these tags. {PATTERN_HELP}", show_default=False),
]
ProtectOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--protect",
        help=f"Always keep these tags, in addition to 'latest'. {PATTERN_HELP}",
        show_default=False,
    ),
]
NoDefaultProtectOpt = Annotated[
    bool, typer.Option("--no-default-protect", help="Do not protect 'latest' automatically.")
]
IncludeRepoOpt = Annotated[
    list[str] | None,
    typer.Option("--include-repo", help=f"Only clean these repositories. {PATTERN_HELP}", show_default=False),
]
ExcludeRepoOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude-repo", help=f"Leave these repositories alone. {PATTERN_HELP}", show_default=False
    ),
]
DeleteUntaggedOpt = Annotated[
    bool, typer.Option("--delete-untagged", help="Also delete manifests no tag points at.")
]
UntaggedOlderThanOpt = Annotated[
    str | None,
    typer.Option(
        "--untagged-older-than", help="Only delete untagged manifests older than this.", show_default=False
    ),
]

PolicyFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        help="A policy file: native TOML/JSON rules or an ECR lifecycle policy (JSON).",
        dir_okay=False,
        show_default=False,
    ),
]

_PER_RULE = {
    "keep_last": "--keep-last",
    "older_than": "--older-than",
    "include_tag": "--include-tag",
    "exclude_tag": "--exclude-tag",
    "delete_untagged": "--delete-untagged",
    "untagged_older_than": "--untagged-older-than",
}
"""Options a policy file's rules replace (refused with ``--policy``)."""
_FILTERS = ("protect", "no_default_protect", "include_repo", "exclude_repo")
"""Options that apply on top of a policy file."""


def _given(value: Any) -> bool:
    if isinstance(value, bool | list | tuple):
        return bool(value)
    return value is not None  # --keep-last 0 is given


def any_policy_option(params: Mapping[str, Any]) -> bool:
    """True if any policy option (or ``--policy``) was given."""
    return any(_given(params.get(name)) for name in (*_PER_RULE, *_FILTERS, "policy_file"))


def retention_from_params(
    c: Cli, params: Mapping[str, Any], *, required: bool
) -> RetentionPolicy | RetentionRules | None:
    """The policy a command's options describe (``ctx.params``); exits 2 before any request if bad.

    ``--policy FILE`` loads a policy file, narrowed by ``--include-repo``/``--exclude-repo`` and
    extended by ``--protect``/``--no-default-protect``; it is refused with the options its rules
    replace (``--keep-last``, ...). Without it, the options make one :class:`RetentionPolicy`.

    Args:
        c: The command's context.
        params: The parsed options, by parameter name.
        required: Exit 2 when no policy is given (else return None).
    """
    given = [flag for name, flag in _PER_RULE.items() if _given(params.get(name))]
    path = params.get("policy_file")
    if path is not None:
        if given:
            c.fail(
                f"--policy cannot be combined with {', '.join(given)}: the policy file's rules say what "
                "to keep (only --include-repo, --exclude-repo, --protect and --no-default-protect apply "
                "on top of it)",
                ExitCode.USAGE,
            )
        return rules_from_file(
            c,
            Path(path),
            protect=params.get("protect") or (),
            default_protect=not params.get("no_default_protect"),
            include=params.get("include_repo") or (),
            exclude=params.get("exclude_repo") or (),
        )
    if not required and not given and not any(_given(params.get(name)) for name in _FILTERS):
        return None
    return policy_from_options(
        c,
        keep_last=params.get("keep_last"),
        older_than=params.get("older_than"),
        include_tag=params.get("include_tag"),
        exclude_tag=params.get("exclude_tag"),
        protect=params.get("protect"),
        no_default_protect=bool(params.get("no_default_protect")),
        include_repo=params.get("include_repo"),
        exclude_repo=params.get("exclude_repo"),
        delete_untagged=bool(params.get("delete_untagged")),
        untagged_older_than=params.get("untagged_older_than"),
    )


def rules_from_file(
    c: Cli,
    path: Path,
    *,
    protect: Any = (),
    default_protect: bool = True,
    include: Any = (),
    exclude: Any = (),
) -> RetentionRules:
    """Load a policy file, restricted by the repository filters; a bad file exits 2 with the message
    naming the rule and the field (``rule 2 (dev/*): keep_last must be an integer >= 0``)."""
    try:
        rules = RetentionRules.from_file(path, protect=tuple(protect), default_protect=default_protect)
        if include or exclude:
            rules = rules.restricted(include=tuple(include), exclude=tuple(exclude))
    except PolicyFileError as exc:
        if exc.field == "default_protect" and exc.rule is None:
            c.fail(
                f"--no-default-protect applies to ECR lifecycle policies; {path} is a native rule list: "
                "set default_protect = false in the rules concerned instead",
                ExitCode.USAGE,
            )
        c.fail(f"invalid policy file: {exc}", ExitCode.USAGE)
    except ValidationError as exc:  # a bad --include-repo / --exclude-repo pattern
        c.fail(describe_error(exc), ExitCode.USAGE)
    return rules


def policy_from_options(
    c: Cli,
    *,
    keep_last: int | None,
    older_than: str | None,
    include_tag: list[str] | None,
    exclude_tag: list[str] | None,
    protect: list[str] | None,
    no_default_protect: bool,
    include_repo: list[str] | None,
    exclude_repo: list[str] | None,
    delete_untagged: bool,
    untagged_older_than: str | None,
) -> RetentionPolicy:
    """The policy the options describe; a bad or empty policy exits 2 before any request."""
    if untagged_older_than is not None and not delete_untagged:
        c.fail("--untagged-older-than needs --delete-untagged", ExitCode.USAGE)
    if keep_last is None and older_than is None and not include_tag and not delete_untagged:
        c.fail(
            "the policy deletes nothing: give --keep-last, --older-than, --include-tag or --delete-untagged",
            ExitCode.USAGE,
        )
    protected = ([] if no_default_protect else ["latest"]) + list(protect or [])
    return c.check(
        lambda: RetentionPolicy(
            keep_last=keep_last,
            older_than=older_than,
            include_tags=tuple(include_tag or ()),
            exclude_tags=tuple(exclude_tag or ()),
            protected_tags=tuple(dict.fromkeys(protected)),
            include_repositories=tuple(include_repo or ()),
            exclude_repositories=tuple(exclude_repo or ()),
            delete_untagged=delete_untagged,
            untagged_older_than=untagged_older_than,
        )
    )
