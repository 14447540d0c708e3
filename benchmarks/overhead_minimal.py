"""Scenario 1b: the client's own cost against a minimal server (one page of 20 tags, 1 and 16 in flight).

FakeDOCR's CPU per request is several times the client's, which compresses every ratio of
scenario 1. Here the server (``benchmarks._minimal_server``, its own process) answers every request
with one prebuilt body, so what differs between the clients is the clients.
"""

from __future__ import annotations

import asyncio

from ._common import Context, Section, Stopwatch, Target, fmt_x, ratio
from ._fake import FakeServer
from .overhead import AIOHTTP, DOCR, HEADERS, PER_PAGE, medians, one_repetition, rows

NAME = "overhead-minimal"
TITLE = "1b. Per-request overhead against a minimal aiohttp server (one page of 20 tags)"
CONCURRENCY = (1, 16)
VARIANTS = (DOCR, AIOHTTP)
TARGET = 1.25


class MinimalServer(FakeServer):
    """``benchmarks._minimal_server`` in its own process (same start/stop protocol as FakeDOCR)."""

    def __init__(self) -> None:
        super().__init__()
        self.module = ["benchmarks._minimal_server"]


def run(ctx: Context) -> Section:
    """Run the scenario and return its report section."""
    clock = Stopwatch()
    n, rounds = (60, 2) if ctx.quick else (3000, 10)
    reps = ctx.reps()
    section = Section(NAME, TITLE)
    samples: dict[tuple[int, str], list[tuple[float, float, float]]] = {}
    with MinimalServer() as server:
        for rep in range(reps):
            for concurrency in CONCURRENCY:
                result = asyncio.run(one_repetition(server, n, concurrency, rounds, rep, variants=VARIANTS))
                for variant, values in result.items():
                    samples.setdefault((concurrency, variant), []).append(values)
    section.setup = [
        "`benchmarks/_minimal_server.py` in its own process: an `aiohttp.web` route answering every "
        f"request with one prebuilt JSON body of {PER_PAGE} tags (the API's shape, with `links`, "
        "`meta` and the `ratelimit-*` headers), so the server's CPU no longer hides the client's.",
        f"{n} requests per client and concurrency in each of {reps} repetition(s), median reported; "
        f"within a repetition both clients stay open and alternate in {rounds} blocks of "
        f"{n // rounds} requests (the order alternating), so load from elsewhere hits both alike.",
        "docr-async: `await client.tags.list(...)` gives a `Page` of 20 validated, typed `Tag` models "
        "(`RateLimiter(enabled=False)`); plain aiohttp: `session.get(...)` + `raise_for_status()` + "
        "`json()` (dicts). Client CPU is `time.process_time()` of the benchmark process.",
    ]
    section.headers = HEADERS
    med = medians(samples)
    section.rows += rows(med, VARIANTS)
    for concurrency in CONCURRENCY:
        docr, plain = med[(concurrency, DOCR)], med[(concurrency, AIOHTTP)]
        over = ratio(docr[0], plain[0])
        section.targets.append(
            Target(
                f"docr-async wall time / plain aiohttp (minimal server), concurrency {concurrency}",
                f"<= {TARGET}x",
                fmt_x(over),
                over <= TARGET,
                cause=(
                    f"docr-async spends {(docr[1] - plain[1]) * 1e6:.0f} µs more client CPU per request "
                    f"({docr[1] * 1e6:.0f} vs {plain[1] * 1e6:.0f} µs): structuring and validating the "
                    f"{PER_PAGE} `Tag` models (plain aiohttp stops at dicts), the name checks, the "
                    "limiter and retry bookkeeping and the `Page` object."
                ),
            )
        )
    section.seconds = clock.elapsed
    return section
