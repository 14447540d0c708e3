"""Global options anywhere on the command line: ``docr tags list api -t TOKEN`` as doctl accepts.

Click only parses an option at the level it is declared, so the root's options are moved in front
of the subcommand before parsing. Only options no subcommand declares are moved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["GLOBAL_FLAGS", "GLOBAL_VALUE_OPTIONS", "hoist_global_options"]

GLOBAL_VALUE_OPTIONS = frozenset(
    {
        "--access-token",
        "--token",
        "-t",
        "--api-url",
        "--base-url",
        "-u",
        "--context",
        "--doctl-config",
        "--max-concurrency",
        "--max-wait",
        "--retries",
        "--redis-url",
    }
)
"""The root's options that take a value."""
GLOBAL_FLAGS = frozenset({"--allow-insecure-http"})
"""The root's flags."""


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """``argv`` with every global option (and its value) moved to the front, order kept.

    Nothing after ``--`` is touched; a value option at the very end is left for click to report.
    """
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_VALUE_OPTIONS and (name != arg or i + 1 < len(argv)):
            step = 1 if name != arg else 2
            front.extend(argv[i : i + step])
            i += step
            continue
        if arg in GLOBAL_FLAGS:
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest
