"""The figures in docs/reliability.md and the README are what a fresh run of tests/reliability gives.

Regenerate them with ``python -m tests.reliability --write``.
"""

from __future__ import annotations

import pytest
from reliability.report import DOCUMENTS, FIGURE, FLOORS, check, figures, render, run_suite, stale


def test_render_replaces_only_marked_figures_and_refuses_unknown_names() -> None:
    text = "kept 1,000 <!--n:listing_items-->12<!--/n--> and <!--n:min_faults-->0<!--/n-->."
    assert render(text, {"listing_items": "2,287", "min_faults": "250"}) == (
        "kept 1,000 <!--n:listing_items-->2,287<!--/n--> and <!--n:min_faults-->250<!--/n-->."
    )
    with pytest.raises(KeyError, match="nope"):
        render("<!--n:nope-->1<!--/n-->", {})


def test_documented_figures_match_a_fresh_run_of_the_reliability_suite() -> None:
    tests, ledger = run_suite()
    assert check(ledger) == []
    values = figures(tests, ledger)
    outdated = stale(values)
    assert not outdated, (
        f"{[p.name for p in outdated]} quote figures a run no longer gives: "
        "run `python -m tests.reliability --write`"
    )
    # Every figure is quoted somewhere, so none is computed for nothing, and each floor is quoted.
    quoted = {m[1] for path in DOCUMENTS for m in FIGURE.finditer(path.read_text(encoding="utf-8"))}
    assert quoted == set(values)
    assert set(FLOORS) <= quoted
