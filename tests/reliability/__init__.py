"""Reliability and security suite (issue 8): faults, bad input, secrets, hygiene.

:data:`LEDGER` counts what the tests actually did (cases tried, faults injected, items verified).
No test reads it: ``python -m tests.reliability`` runs this whole directory in a fresh
process, checks the totals and renders the figures ``docs/reliability.md`` and the README quote
(``tests/test_reliability_report.py`` does the same and fails when the documents drift).
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from pathlib import Path

__all__ = ["LEDGER", "LEDGER_FILE_ENV", "record", "write_ledger"]

LEDGER: defaultdict[str, Counter[str]] = defaultdict(Counter)
"""``LEDGER[area][what]``: totals over the tests of this session that ran."""

LEDGER_FILE_ENV = "DOCR_LEDGER_FILE"
"""When set, the session writes :data:`LEDGER` to this path as JSON at its end (see conftest)."""


def record(area: str, **counts: int) -> None:
    """Add ``counts`` to ``LEDGER[area]``."""
    LEDGER[area].update(counts)


def write_ledger(tests: int, exit_status: int) -> None:
    """Write the session's ledger to ``$DOCR_LEDGER_FILE``, if set."""
    path = os.environ.get(LEDGER_FILE_ENV)
    if path:
        data = {
            "tests": tests,
            "exit_status": exit_status,
            "ledger": {area: dict(sorted(counts.items())) for area, counts in sorted(LEDGER.items())},
        }
        Path(path).write_text(json.dumps(data, indent=1), encoding="utf-8")
