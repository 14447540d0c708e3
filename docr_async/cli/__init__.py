"""The ``docr`` command line (needs the ``cli`` extra: ``pip install 'docr-async[cli]'``).

Exit codes are :class:`ExitCode` members; see docs/cli.md.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ._exit import ExitCode, describe_error, exit_code_for

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["ExitCode", "describe_error", "exit_code_for", "main"]

_CLI_EXTRA_MODULES = frozenset({"typer", "rich", "click", "shellingham"})
MISSING_EXTRA_MESSAGE = (
    "docr: the command line needs the 'cli' extra (typer, rich and pyyaml): pip install 'docr-async[cli]'\n"
)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``docr`` console script."""
    try:
        from .app import run_app  # noqa: PLC0415 -- lazy: a missing extra gets a friendly message
    except ImportError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in _CLI_EXTRA_MODULES:
            raise
        sys.stderr.write(MISSING_EXTRA_MESSAGE)
        raise SystemExit(int(ExitCode.USAGE)) from None
    run_app(argv)
