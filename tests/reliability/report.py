"""The figures docs/reliability.md and the README quote, generated from a real run of this directory.

    python -m tests.reliability            # run, check, say whether the documents are current
    python -m tests.reliability --write    # run, check, and rewrite the figures in place

A run is ``pytest tests/reliability`` in a fresh process (no xdist, no random order: the totals
do not depend on either, but one process keeps one ledger); its ledger is checked against what the
tests must have done, then turned into named figures. In the documents a figure is marked
``<!--n:name-->2,287<!--/n-->``: only the text between the markers is generated.

Most figures follow from fixed seeds and are exact. How many faults the fake injects, and so the
requests, retries and log lines, depends on the order in which concurrent requests reach it: for
those the documents quote a floor from :data:`FLOORS`, and every run must reach it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import LEDGER_FILE_ENV
from .test_bad_input import (
    BAD_PLAN_FILES,
    BAD_RESPONSES,
    MATRIX,
    MATRIX_CASES,
    NO_INPUT,
    Typed,
    public_methods,
)
from .test_chaos import CLEANUP_SEEDS, LISTING_SEEDS
from .test_hygiene import SEEDS as HYGIENE_SEEDS
from .test_secrets import REFUSED_HTTP

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (ROOT / "docs" / "reliability.md", ROOT / "README.md")
FIGURE = re.compile(r"<!--n:([a-z0-9_]+)-->(.*?)<!--/n-->")

Ledger = dict[str, dict[str, int]]

FLOORS = {
    "min_chaos_requests": 1200,
    "min_faults": 250,
    "min_retries": 250,
    "min_log_records": 150,
    # Which lost responses hit a DELETE (rather than a verification listing) depends on how the
    # executor's concurrent requests interleave with the seeded faults: 12 or 13 in runs so far.
    "min_already_gone": 10,
}
"""Order-dependent totals: the documents quote these floors, and a run below one fails the check."""

FAULT_KINDS = ("error", "drop", "lost_response", "spurious_429")


def run_suite(extra_args: tuple[str, ...] = ()) -> tuple[int, Ledger]:
    """Run ``tests/reliability`` in a fresh pytest process; return (tests collected, ledger)."""
    with tempfile.TemporaryDirectory(prefix="docr-ledger-") as tmp:
        out = Path(tmp) / "ledger.json"
        env = {**os.environ, LEDGER_FILE_ENV: str(out)}
        args = [sys.executable, "-m", "pytest", "tests/reliability", "-q", "-W", "error"]
        args += ["-p", "no:xdist", "-p", "no:randomly", "-p", "no:cacheprovider", *extra_args]
        proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not out.exists():
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
            raise RuntimeError(f"tests/reliability failed (exit {proc.returncode}):\n{tail}")
        data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return int(data["tests"]), data["ledger"]


def check(ledger: Ledger) -> list[str]:
    """What the tests must have done; return every mismatch (empty when the run is complete)."""
    bad, chaos, prop = ledger["bad_input"], ledger["chaos"], ledger["property"]
    hygiene, secrets = ledger["hygiene"], ledger["secrets"]
    typed = sum(isinstance(c.expect, Typed) for c in BAD_RESPONSES.values())
    faults = sum(chaos.get(f"fault_{k}", 0) for k in FAULT_KINDS)
    expectations = {
        "every bad argument value was tried": bad.get("argument_cases") == MATRIX_CASES,
        # At least every non-bug case (a bug case counts too once it is fixed and passes).
        "every bad response gave its typed error": bad.get("response_cases", 0) >= typed,
        "every bad plan file was refused": bad.get("plan_cases") == len(BAD_PLAN_FILES),
        "every listing seed ran": chaos.get("listing_runs") == len(LISTING_SEEDS),
        "every cleanup seed ran": chaos.get("cleanup_runs") == len(CLEANUP_SEEDS),
        "both property tests ran all their examples": prop.get("examples") == 50,
        "four cancellations per hygiene seed": hygiene.get("cancellations") == 4 * len(HYGIENE_SEEDS),
        "1,000 concurrent tasks": hygiene.get("concurrent_tasks") == 1000,
        "15 redirects refused": secrets.get("redirects_refused") == 15,
        "every insecure base URL refused": secrets.get("base_urls_refused") == len(REFUSED_HTTP),
        "the chaos requests reach their floor": chaos.get("requests", 0) >= FLOORS["min_chaos_requests"],
        "the faults reach their floor": faults >= FLOORS["min_faults"],
        "the retries reach their floor": chaos.get("retries", 0) >= FLOORS["min_retries"],
        "the log records reach their floor": secrets.get("log_records_scanned", 0)
        >= FLOORS["min_log_records"],
        "the already-gone items reach their floor": chaos.get("cleanup_already_gone", 0)
        >= FLOORS["min_already_gone"],
    }
    return [f"{what}: {json.dumps(ledger)}" for what, ok in expectations.items() if not ok]


def figures(tests: int, ledger: Ledger) -> dict[str, str]:
    """The named figures of one run, formatted as the documents print them."""
    bad, chaos, prop = ledger["bad_input"], ledger["chaos"], ledger["property"]
    hygiene, secrets = ledger["hygiene"], ledger["secrets"]
    methods = public_methods()
    numbers = {
        "reliability_tests": tests,
        "listing_seeds": chaos["listing_runs"],
        "listing_items": chaos["listing_items"],
        "cleanup_seeds": chaos["cleanup_runs"],
        "planned_deletions": chaos["cleanup_planned_deletions"],
        "cleanup_items": chaos["cleanup_items_verified"],
        "property_examples": prop["examples"],
        "property_items": prop["items"],
        "property_requests": prop["requests"],
        "methods": len(methods),
        "methods_with_input": len(set(methods) - NO_INPUT),
        "methods_without_input": len(NO_INPUT & set(methods)),
        "argument_pairs": len(MATRIX),
        "bad_values": bad["argument_cases"],
        "policy_cases": bad["policy_cases"],
        "plan_files": bad["plan_cases"],
        "typed_response_errors": bad["response_cases"],
        "tolerated_oddities": bad["tolerated_response_cases"],
        "api_operations": secrets["api_operations_driven"],
        "error_paths": secrets["error_paths"],
        "cli_runs": secrets["cli_runs"],
        "files_scanned": secrets["files_scanned"],
        "report_items": secrets["report_items_scanned"],
        "link_pages": secrets["link_pages_followed"],
        "redirects_refused": secrets["redirects_refused"],
        "urls_refused": secrets["base_urls_refused"],
        "concurrent_tasks": hygiene["concurrent_tasks"],
        "cancellations": hygiene["cancellations"],
        "cancel_items_checked": hygiene["cleanup_items_checked"],
        **FLOORS,
    }
    return {name: f"{value:,}" for name, value in numbers.items()}


def render(text: str, values: dict[str, str]) -> str:
    """Replace every marked figure in ``text``; an unknown name raises ``KeyError``."""
    return FIGURE.sub(lambda m: f"<!--n:{m[1]}-->{values[m[1]]}<!--/n-->", text)


def stale(values: dict[str, str]) -> dict[Path, str]:
    """``{document: its text with current figures}`` for every document whose figures differ."""
    out = {}
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        fresh = render(text, values)
        if fresh != text:
            out[path] = fresh
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the suite, check its ledger, print the figures; with ``--write``, update the documents."""
    parser = argparse.ArgumentParser(prog="python -m tests.reliability", description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite the figures in the documents")
    args = parser.parse_args(argv)
    tests, ledger = run_suite()
    problems = check(ledger)
    for problem in problems:
        print(f"CHECK FAILED: {problem}", file=sys.stderr)
    if problems:
        return 1
    values = figures(tests, ledger)
    print(json.dumps(values, indent=1))
    outdated = stale(values)
    for path, fresh in outdated.items():
        if args.write:
            path.write_text(fresh, encoding="utf-8")
        print(f"{'updated' if args.write else 'OUT OF DATE'}: {path.relative_to(ROOT)}", file=sys.stderr)
    return 1 if outdated and not args.write else 0
