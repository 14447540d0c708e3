"""Scenario 1b: the client's own cost against a minimal server (one page of 20 tags, 1 and 16 in flight).

FakeDOCR's CPU per request is several times the client's, which compresses every ratio of
scenario 1. Here the server (``benchmarks._minimal_server``, its own process) answers every request
with one prebuilt body, so what differs between the clients is the clients.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from ._common import Context, Section, Stopwatch, Target, fmt_x, median, ratio
from ._fake import FakeServer
from .overhead import AIOHTTP, DOCR, PER_PAGE, client_call, timed_block

if TYPE_CHECKING:
    from .overhead import Call

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


async def one_repetition(
    server: MinimalServer, n: int, concurrency: int, rounds: int, shift: int
) -> dict[str, tuple[float, float, float]]:
    """Per-request (wall, client CPU, server CPU) of each client, in interleaved blocks."""
    totals = {variant: [0.0, 0.0, 0.0] for variant in VARIANTS}
    async with contextlib.AsyncExitStack() as stack:
        calls: dict[str, Call] = {
            variant: await stack.enter_async_context(client_call(variant, server)) for variant in VARIANTS
        }
        for call in calls.values():  # warm-up: opens `concurrency` connections per client
            counts = await asyncio.gather(*(call() for _ in range(max(concurrency, 20))))
            assert all(c == PER_PAGE for c in counts), counts
        block = max(1, n // rounds)
        for r in range(rounds):
            order = VARIANTS if (r + shift) % 2 == 0 else VARIANTS[::-1]
            for variant in order:
                before = server.cpu_seconds()
                wall, cpu = await timed_block(calls[variant], block, concurrency)
                for i, value in enumerate((wall, cpu, server.cpu_seconds() - before)):
                    totals[variant][i] += value
        done = block * rounds
    return {variant: (t[0] / done, t[1] / done, t[2] / done) for variant, t in totals.items()}


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
                result = asyncio.run(one_repetition(server, n, concurrency, rounds, rep))
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
    section.headers = [
        "concurrency",
        "client",
        "wall µs/request",
        "client CPU µs/request",
        "server CPU µs/request",
        "wall vs aiohttp",
        "client CPU vs aiohttp",
    ]
    med = {key: tuple(median([v[i] for v in values]) for i in range(3)) for key, values in samples.items()}
    for concurrency in CONCURRENCY:
        base = med[(concurrency, AIOHTTP)]
        for variant in VARIANTS:
            wall, cpu, srv = med[(concurrency, variant)]
            section.rows.append(
                [
                    str(concurrency),
                    variant,
                    f"{wall * 1e6:.0f}",
                    f"{cpu * 1e6:.0f}",
                    f"{srv * 1e6:.0f}",
                    fmt_x(ratio(wall, base[0])),
                    fmt_x(ratio(cpu, base[1])),
                ]
            )
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
