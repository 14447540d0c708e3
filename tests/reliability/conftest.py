"""Hand the ledger to ``tests/reliability/report.py`` when it runs this directory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import write_ledger

if TYPE_CHECKING:
    import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the ledger at the end of a session, when ``$DOCR_LEDGER_FILE`` asks for it."""
    write_ledger(session.testscollected, int(exitstatus))
