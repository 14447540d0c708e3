"""Reliability and security suite (issue 8): faults, bad input, secrets, hygiene.

:data:`LEDGER` counts what the tests actually did (cases tried, faults injected, items verified).
The last test of each module checks its area's numbers and prints them when ``DOCR_LEDGER=1``
(``DOCR_LEDGER=1 pytest tests/reliability -q -s``); ``docs/reliability.md`` quotes them.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict

__all__ = ["LEDGER", "print_ledger", "record"]

LEDGER: defaultdict[str, Counter[str]] = defaultdict(Counter)
"""``LEDGER[area][what]``: totals over the tests of this session that ran."""


def record(area: str, **counts: int) -> None:
    """Add ``counts`` to ``LEDGER[area]``."""
    LEDGER[area].update(counts)


def print_ledger(area: str) -> None:
    """Print one area's numbers as a JSON line when ``DOCR_LEDGER=1``."""
    if os.environ.get("DOCR_LEDGER") == "1":
        print(f"\nledger {area}: {json.dumps(dict(sorted(LEDGER[area].items())))}")
