"""Scenario 7: how long the standalone FakeDOCR takes to start serving a seeded registry.

Issue 3's acceptance: ``python -m docr_async.testing --port 0 --repos 20 --tags 500`` starts in
under 2 seconds. Measured from spawning the process to reading its one JSON line (interpreter
start-up, imports and seeding included), then one real request is made so "serving" is true.
"""

from __future__ import annotations

import json
import time
import urllib.request

from ._common import Context, Section, Stopwatch, Target, median
from ._fake import FakeServer

NAME = "startup"
TITLE = "7. FakeDOCR start-up"
TARGET_SECONDS = 2.0


def _time_one(repos: int, tags: int) -> float:
    started = time.perf_counter()
    with FakeServer("--repos", str(repos), "--tags", str(tags), "--seed", "3") as fake:
        elapsed = time.perf_counter() - started
        request = urllib.request.Request(
            f"{fake.url}/v2/registries/example/repositoriesV2?per_page=200",
            headers={"Authorization": f"Bearer {fake.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            total = json.loads(response.read())["meta"]["total"]
        if total != repos:
            raise RuntimeError(f"the fake served {total} repositories, expected {repos}")
    return elapsed


def run(ctx: Context) -> Section:
    """Run the scenario and return its report section."""
    clock = Stopwatch()
    sizes = [(20, 500)] if ctx.quick else [(20, 500), (20, 10_000)]
    runs = ctx.reps()
    section = Section(NAME, TITLE)
    section.setup = [
        "`python -m docr_async.testing --port 0 --repos R --tags T --seed 3` in a fresh process, "
        f"{runs} time(s): the time from spawning it to its JSON line (interpreter start-up, imports "
        "and seeding included); then one listing request checks that it serves. Median reported.",
    ]
    section.headers = ["repositories", "tags", "median start-up", "slowest"]
    medians: dict[tuple[int, int], float] = {}
    for repos, tags in sizes:
        samples = [_time_one(repos, tags) for _ in range(runs)]
        medians[(repos, tags)] = median(samples)
        section.rows.append([str(repos), f"{tags:,}", f"{median(samples):.2f} s", f"{max(samples):.2f} s"])
    seconds = medians[(20, 500)]
    section.targets = [
        Target(
            "standalone fake with --repos 20 --tags 500 serving",
            f"< {TARGET_SECONDS:g} s",
            f"{seconds:.2f} s",
            seconds < TARGET_SECONDS,
            cause="start-up (imports and seeding) is slower than the issue allows.",
        )
    ]
    section.seconds = clock.elapsed
    return section
