"""The retention-policy options shared by commands that take a policy (``docr du``; ``docr cleanup``
defines the same options inline and can switch to these), and the policy they build."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..cleanup import RetentionPolicy
from ._exit import ExitCode

if TYPE_CHECKING:
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
    "ProtectOpt",
    "UntaggedOlderThanOpt",
    "policy_from_options",
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
