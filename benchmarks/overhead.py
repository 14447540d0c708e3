"""Scenario 1: per-request overhead of listing one page of 20 tags, at concurrency 1 and 16."""

from __future__ import annotations

import asyncio
import contextlib
import json
import pstats
import signal
import tempfile
import time
import timeit
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pydo.aio

from docr_async import DOCRClient, RateLimiter, RateLimitInfo
from docr_async._converter import make_converter
from docr_async.models import Tag
from docr_async.names import resolve_repository

from ._common import Context, Section, Stopwatch, Target, fmt_x, median, ratio, table
from ._fake import REGISTRY, REPOSITORY, FakeServer
from ._profile import cumulative_share, profile_calls, summarize

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from multidict import CIMultiDictProxy

    Call = Callable[[], Awaitable[int]]

NAME = "overhead"
TITLE = "1. Per-request overhead (one page of 20 tags)"
PER_PAGE = 20
CONCURRENCY = (1, 16)
DOCR, AIOHTTP, PYDO = "docr-async (limiter off)", "plain aiohttp (json() only)", "pydo.aio"
VARIANTS = (DOCR, AIOHTTP, PYDO)


@contextlib.asynccontextmanager
async def client_call(variant: str, fake: FakeServer) -> AsyncIterator[Call]:
    """A zero-argument coroutine function listing one page with ``variant``; returns the item count."""
    if variant == DOCR:
        async with DOCRClient(
            fake.token, base_url=fake.url, rate_limiter=RateLimiter(enabled=False)
        ) as client:

            async def docr() -> int:
                page = await client.tags.list(REPOSITORY, registry=REGISTRY, per_page=PER_PAGE)
                return len(page.items)

            yield docr
    elif variant == AIOHTTP:
        url = f"{fake.url}/v2/registries/{REGISTRY}/repositories/{REPOSITORY}/tags"
        headers = {"Authorization": f"Bearer {fake.token}"}
        params = {"per_page": str(PER_PAGE), "page": "1"}
        async with aiohttp.ClientSession() as session:

            async def plain() -> int:
                async with session.get(url, params=params, headers=headers) as response:
                    response.raise_for_status()
                    body = await response.json()
                return len(body["tags"])

            yield plain
    else:
        async with pydo.aio.Client(token=fake.token, endpoint=fake.url) as official_client:

            async def official() -> int:
                body = await official_client.registries.list_repository_tags(
                    REGISTRY, REPOSITORY, per_page=PER_PAGE, enforce_https=False
                )
                return len(body["tags"])

            yield official


async def timed_block(call: Call, n: int, concurrency: int) -> tuple[float, float]:
    """Wall and client-CPU seconds for ``n`` calls made by ``concurrency`` tasks."""
    todo = iter(range(n))

    async def worker() -> None:
        for _ in todo:
            await call()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - wall, time.process_time() - cpu


async def one_repetition(
    fake: FakeServer,
    n: int,
    concurrency: int,
    rounds: int,
    shift: int,
    *,
    variants: tuple[str, ...] = VARIANTS,
) -> dict[str, tuple[float, float, float]]:
    """Per-request (wall, client CPU, server CPU) of each client over ``n`` requests.

    The clients stay open side by side and take turns in ``rounds`` blocks of ``n / rounds``
    requests (the order rotating), so load from elsewhere on the machine hits all of them alike.
    """
    totals = {variant: [0.0, 0.0, 0.0] for variant in variants}
    async with contextlib.AsyncExitStack() as stack:
        calls = {variant: await stack.enter_async_context(client_call(variant, fake)) for variant in variants}
        for call in calls.values():  # warm-up: opens `concurrency` connections per client
            counts = await asyncio.gather(*(call() for _ in range(concurrency)))
            assert all(c == PER_PAGE for c in counts), counts
        block = max(1, n // rounds)
        for r in range(rounds):
            k = (r + shift) % len(variants)
            for variant in variants[k:] + variants[:k]:
                server = fake.cpu_seconds()
                wall, cpu = await timed_block(calls[variant], block, concurrency)
                for i, value in enumerate((wall, cpu, fake.cpu_seconds() - server)):
                    totals[variant][i] += value
        done = block * rounds
    return {variant: (t[0] / done, t[1] / done, t[2] / done) for variant, t in totals.items()}


def run(ctx: Context) -> Section:
    """Run the scenario and return its report section."""
    clock = Stopwatch()
    n, rounds = (60, 2) if ctx.quick else (2000, 10)
    reps = ctx.reps()
    section = Section(NAME, TITLE)
    samples: dict[tuple[int, str], list[tuple[float, float, float]]] = {}
    args = ("--repos", "1", "--tags-per-repo", "100", "--untagged", "0", "--no-rate-limit")
    profile_n = 30 if ctx.quick else 1000
    with FakeServer(*args) as fake:
        for rep in range(reps):
            for concurrency in CONCURRENCY:
                result = asyncio.run(one_repetition(fake, n, concurrency, rounds, rep))
                for variant, values in result.items():
                    samples.setdefault((concurrency, variant), []).append(values)
        stats = {variant: asyncio.run(_profile(fake, variant, profile_n)) for variant in (DOCR, PYDO)}
        steps = step_costs(*asyncio.run(_capture(fake)), number=100 if ctx.quick else 5000)
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "fake.prof")
        with FakeServer(*args, profile_to=out) as fake:
            asyncio.run(_drive_profiled(fake, AIOHTTP, profile_n))
        server_stats = pstats.Stats(out)
        server_profile = summarize(server_stats, profile_n)
        tag_json = cumulative_share(server_stats, "testing/_model.py", "to_json")
        handler = cumulative_share(server_stats, "testing/_app.py", "_handle")

    section.setup = [
        f"FakeDOCR in its own process (1 repository of 100 tags, no rate limit, no added latency); "
        f"{n} requests of `per_page={PER_PAGE}` per client and concurrency in each of {reps} "
        f"repetition(s), median reported. Within a repetition the three clients stay open and take turns "
        f"in {rounds} interleaved blocks of {n // rounds} requests (rotating order), so load from "
        "elsewhere on the machine hits them alike.",
        "docr-async: `await client.tags.list(...)` gives a `Page` of 20 `Tag` models "
        "(`RateLimiter(enabled=False)`); plain aiohttp: `session.get(...)` + `raise_for_status()` + "
        "`json()`; pydo: `client.registries.list_repository_tags(..., enforce_https=False)` (dicts).",
        "Client CPU is `time.process_time()` of the benchmark process; server CPU is the fake's "
        "`/proc/<pid>/stat` utime+stime, both divided by the number of requests.",
    ]
    section.headers = HEADERS
    med = medians(samples)
    section.rows += rows(med, VARIANTS)
    structuring = next(v for k, v in steps.items() if k.startswith("structuring"))
    sdk_steps = sum(v for k, v in steps.items() if not k.startswith("`json.loads`"))
    section.extra.append(
        "**The SDK's own steps, each timed alone** (`timeit` on a real response of this scenario, "
        "no profiler; cProfile inflates generator-heavy code such as name validation):\n\n"
        + table(["step", "µs per request"], [[k, f"{v * 1e6:.1f}"] for k, v in steps.items()])
    )
    for concurrency in CONCURRENCY:
        docr, plain, official = (med[(concurrency, v)] for v in VARIANTS)
        over = ratio(docr[0], plain[0])
        extra_cpu = (docr[1] - plain[1]) * 1e6
        where = (
            "and sequentially every µs of it adds to the round trip"
            if concurrency == 1
            else "and with 16 in flight the client and the fake share 2 cores"
        )
        section.targets.append(
            Target(
                f"docr-async wall time / plain aiohttp, concurrency {concurrency}",
                "<= 1.25x",
                fmt_x(over),
                over <= 1.25,
                cause=(
                    f"docr-async spends {extra_cpu:.0f} µs more client CPU per request than plain "
                    f"aiohttp ({docr[1] * 1e6:.0f} vs {plain[1] * 1e6:.0f} µs), {where}. "
                    "Timed alone (table above), structuring "
                    f"the {PER_PAGE} `Tag` models costs {structuring * 1e6:.0f} µs of that, name "
                    "validation and header parsing a few µs; the remaining "
                    f"~{max(0.0, extra_cpu - sdk_steps * 1e6):.0f} µs is spread over the SDK's "
                    "layers (pager -> fetch -> transport loop, per-attempt timeout, stats and limiter "
                    "calls, the `APIResponse` and `Page` objects; see the profile)."
                ),
            )
        )
        speed = ratio(official[0], docr[0])
        cpu_speed = ratio(official[1], docr[1])
        section.targets.append(
            Target(
                f"pydo.aio wall time / docr-async, concurrency {concurrency}",
                ">= 3x",
                fmt_x(speed),
                speed >= 3.0,
                cause=(
                    f"the wall time includes the fake server's own {docr[2] * 1e6:.0f} µs CPU per "
                    f"request, the same for every client; on client CPU alone pydo costs "
                    f"{fmt_x(cpu_speed)} docr-async ({official[1] * 1e6:.0f} vs {docr[1] * 1e6:.0f} µs)."
                ),
            )
        )
    for variant, profile in stats.items():
        section.extra.append(
            f"**Profile of {variant}** (client process, sequential, {profile_n} requests, "
            f"cProfile on the process CPU clock):\n\n{summarize(profile, profile_n)}"
        )
    section.extra.append(
        f"**Profile of the FakeDOCR server process** ({profile_n} sequential plain-aiohttp requests, "
        f"cProfile on the process CPU clock):\n\n{server_profile}"
    )
    server_cpu = median([v[2] for (c, _), vs in samples.items() if c == 1 for v in vs])
    section.notes = [
        f"The fake itself costs about {server_cpu * 1e6:.0f} µs of CPU per request (the docr-async "
        f"client: {med[(1, DOCR)][1] * 1e6:.0f} µs), and every client pays it, which compresses the "
        "wall-time ratios, above all pydo's. In the fake's profile above, its request handler "
        f"(`FakeApp._handle`) is {handler:.0%} of its CPU, of which serialising the 20 tags "
        f"(`Tag.to_json`, with cached timestamps and manifest sizes) is {tag_json:.0%}; the remaining "
        f"{max(0.0, 1 - handler):.0%} is aiohttp's HTTP server and asyncio."
    ]
    section.seconds = clock.elapsed
    return section


HEADERS = [
    "concurrency",
    "client",
    "wall µs/request",
    "client CPU µs/request",
    "server CPU µs/request",
    "wall vs aiohttp",
    "client CPU vs aiohttp",
]
"""The columns of :func:`rows`."""


def medians(
    samples: dict[tuple[int, str], list[tuple[float, float, float]]],
) -> dict[tuple[int, str], tuple[float, float, float]]:
    """The median (wall, client CPU, server CPU) of every (concurrency, client)."""
    return {
        key: (median([v[0] for v in vs]), median([v[1] for v in vs]), median([v[2] for v in vs]))
        for key, vs in samples.items()
    }


def rows(
    med: dict[tuple[int, str], tuple[float, float, float]], variants: tuple[str, ...]
) -> list[list[str]]:
    """One table row per concurrency and client, with the ratios to plain aiohttp."""
    out = []
    for concurrency in CONCURRENCY:
        base = med[(concurrency, AIOHTTP)]
        for variant in variants:
            wall, cpu, server = med[(concurrency, variant)]
            out.append(
                [
                    str(concurrency),
                    variant,
                    f"{wall * 1e6:.0f}",
                    f"{cpu * 1e6:.0f}",
                    f"{server * 1e6:.0f}",
                    fmt_x(ratio(wall, base[0])),
                    fmt_x(ratio(cpu, base[1])),
                ]
            )
    return out


async def _capture(fake: FakeServer) -> tuple[bytes, CIMultiDictProxy[str]]:
    """One real response of the scenario (body and headers), for timing the SDK's steps alone."""
    url = f"{fake.url}/v2/registries/{REGISTRY}/repositories/{REPOSITORY}/tags"
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            url,
            params={"per_page": str(PER_PAGE), "page": "1"},
            headers={"Authorization": f"Bearer {fake.token}"},
        ) as response,
    ):
        return await response.read(), response.headers


def step_costs(body: bytes, headers: CIMultiDictProxy[str], number: int) -> dict[str, float]:
    """Seconds per call of the SDK's own per-request steps, each timed alone (no profiler)."""
    converter = make_converter()
    data = json.loads(body)
    steps: dict[str, Callable[[], object]] = {
        "`json.loads` of the body (plain aiohttp does it too)": lambda: json.loads(body),
        f"structuring {PER_PAGE} `Tag` models (cattrs converter)": lambda: converter.structure(
            data["tags"], tuple[Tag, ...]
        ),
        "name validation (`resolve_repository`)": lambda: resolve_repository(REPOSITORY, REGISTRY),
        "rate-limit headers (`RateLimitInfo.from_headers`)": lambda: RateLimitInfo.from_headers(headers),
    }
    return {name: timeit.timeit(step, number=number) / number for name, step in steps.items()}


async def _profile(fake: FakeServer, variant: str, n: int) -> pstats.Stats:
    async with client_call(variant, fake) as call:
        return await profile_calls(call, n)


async def _drive_profiled(fake: FakeServer, variant: str, n: int) -> None:
    """Warm up, then make ``n`` requests with the server's profiler switched on (SIGUSR1)."""
    async with client_call(variant, fake) as call:
        await timed_block(call, 20, 1)
        fake.signal(signal.SIGUSR1)
        await asyncio.sleep(0.2)  # the handler runs once the server's loop wakes up
        await timed_block(call, n, 1)
        fake.signal(signal.SIGUSR1)
        await asyncio.sleep(0.2)
