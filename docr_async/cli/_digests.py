"""Short digests on the command line: a unique prefix of 12+ hex digits stands for the full digest.

Tables show ``sha256:0938ad77cb18``; a command taking a digest accepts that (with or without
``sha256:``) and resolves it by listing the repository's manifests. A prefix that matches no
manifest, or several, is an error that lists the candidates; full digests are passed through
untouched (no request).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ._exit import ExitCode

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._common import Cli

__all__ = ["MIN_PREFIX", "resolve_digests"]

MIN_PREFIX = 12
"""The shortest prefix accepted (hex digits after ``sha256:``), as the tables show."""
_FULL = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")
_PREFIX = re.compile(r"^(?:sha256:)?([a-fA-F0-9]+)$")
_SHOWN = 8  # candidates named in an error


def resolve_digests(c: Cli, values: Sequence[str], *, repository: str, registry: str | None) -> list[str]:
    """``values`` with every short digest replaced by the one full digest it is a prefix of.

    Values that are full digests, or that are not digests at all, are returned as they are (the
    command's own validation reports the latter). Exits 2 for a prefix shorter than 12 hex digits
    or matching several manifests, 4 for one matching none, before anything is deleted.
    """
    short: dict[str, str] = {}
    for value in values:
        match = _PREFIX.match(value)
        if _FULL.match(value) and len(value.partition(":")[2]) == 64:
            continue
        if match is None:
            continue
        hexpart = match.group(1).lower()
        if len(hexpart) >= 64:
            continue
        if len(hexpart) < MIN_PREFIX:
            c.fail(
                f"digest {value!r} is too short: give at least {MIN_PREFIX} hex digits (or the full digest)",
                ExitCode.USAGE,
            )
        short[value] = "sha256:" + hexpart
    if not short:
        return list(values)
    manifests = c.run(lambda client: client.manifests.list(repository, registry=registry).collect())
    digests = sorted({m.digest for m in manifests if m.digest})
    resolved: dict[str, str] = {}
    for value, prefix in short.items():
        candidates = [d for d in digests if d.startswith(prefix)]
        if len(candidates) == 1:
            resolved[value] = candidates[0]
            continue
        if not candidates:
            known = _listed([d[: len("sha256:") + MIN_PREFIX] for d in digests]) or "none"
            c.fail(
                f"no manifest of {repository} has a digest starting {prefix} (its manifests: {known})",
                ExitCode.NOT_FOUND,
            )
        listed = _listed(candidates)
        c.fail(
            f"digest prefix {prefix} is ambiguous in {repository}: {len(candidates)} manifests match "
            f"({listed}); give more digits",
            ExitCode.USAGE,
        )
    return [resolved.get(value, value) for value in values]


def _listed(digests: list[str]) -> str:
    more = len(digests) - _SHOWN
    return ", ".join(digests[:_SHOWN]) + (f", ... ({more} more)" if more > 0 else "")
