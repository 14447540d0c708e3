"""Scenario 2: list every tag of a large repository with 50 ms of added latency per request."""

from __future__ import annotations

import asyncio
import functools
import math
import time
from typing import TYPE_CHECKING

import aiohttp
import pydo.aio

from docr_async import DOCRClient

from ._common import Context, Section, Stopwatch, Target, fmt_s, fmt_x, median, ratio
from ._fake import REGISTRY, REPOSITORY, FakeServer

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

NAME = "listing"
TITLE = "2. Full listing (auto-pagination vs paging by hand)"


async def docr_listing(fake: FakeServer, *, prefetch: int, per_page: int) -> int:
    """``async for`` over every tag with docr-async (default rate limiter)."""
    count = 0
    async with DOCRClient(fake.token, base_url=fake.url, prefetch=prefetch) as client:
        async for _tag in client.tags.list(REPOSITORY, registry=REGISTRY, per_page=per_page):
            count += 1
    return count


async def aiohttp_listing(fake: FakeServer, *, per_page: int) -> int:
    """Plain aiohttp, one page after the other, until there is no ``next`` link."""
    url = f"{fake.url}/v2/registries/{REGISTRY}/repositories/{REPOSITORY}/tags"
    headers = {"Authorization": f"Bearer {fake.token}"}
    count, page = 0, 1
    async with aiohttp.ClientSession() as session:
        while True:
            params = {"per_page": str(per_page), "page": str(page)}
            async with session.get(url, params=params, headers=headers) as response:
                response.raise_for_status()
                body = await response.json()
            count += len(body["tags"])
            if not (body.get("links") or {}).get("pages", {}).get("next"):
                return count
            page += 1


async def pydo_listing(fake: FakeServer, *, per_page: int) -> int:
    """pydo.aio paging by hand (pydo returns one page and leaves the ``next`` link to the caller)."""
    count, page = 0, 1
    async with pydo.aio.Client(token=fake.token, endpoint=fake.url) as client:
        while True:
            body = await client.registries.list_repository_tags(
                REGISTRY, REPOSITORY, per_page=per_page, page=page, enforce_https=False
            )
            count += len(body["tags"])
            if not (body.get("links") or {}).get("pages", {}).get("next"):
                return count
            page += 1


async def _timed(make: Callable[[], Awaitable[int]]) -> tuple[float, float, int]:
    cpu, start = time.process_time(), time.perf_counter()
    count = await make()
    return time.perf_counter() - start, time.process_time() - cpu, count


def run(ctx: Context) -> Section:
    """Run the scenario and return its report section."""
    clock = Stopwatch()
    total = 1000 if ctx.quick else 10_000
    latency = 0.01 if ctx.quick else 0.05
    reps, slow_reps = ctx.reps(), ctx.reps(cap=2)
    # (label, per_page, window: pages in flight, reps, factory)
    variants: list[tuple[str, int, int, int, Callable[[FakeServer], Awaitable[int]]]] = [
        (
            "docr-async `async for`, prefetch=4 (default)",
            200,
            4,
            reps,
            lambda f: docr_listing(f, prefetch=4, per_page=200),
        ),
        (
            "docr-async `async for`, prefetch=8",
            200,
            8,
            reps,
            lambda f: docr_listing(f, prefetch=8, per_page=200),
        ),
        (
            "docr-async `async for`, sequential (prefetch=0)",
            200,
            1,
            reps,
            lambda f: docr_listing(f, prefetch=0, per_page=200),
        ),
        ("plain aiohttp, sequential pages", 200, 1, reps, lambda f: aiohttp_listing(f, per_page=200)),
        ("pydo.aio by hand, per_page=200", 200, 1, reps, lambda f: pydo_listing(f, per_page=200)),
        ("pydo.aio by hand, default per_page=20", 20, 1, slow_reps, lambda f: pydo_listing(f, per_page=20)),
    ]
    samples: dict[str, list[float]] = {label: [] for label, *_ in variants}
    cpus: dict[str, list[tuple[float, float]]] = {label: [] for label, *_ in variants}
    args = ("--repos", "1", "--tags-per-repo", str(total), "--untagged", "0")
    with FakeServer(*args, "--latency", str(latency), "--no-rate-limit") as fake:
        for rep in range(max(v[3] for v in variants)):
            for label, _per_page, _window, n, factory in variants:
                if rep >= n:
                    continue
                server = fake.cpu_seconds()
                seconds, cpu, count = asyncio.run(_timed(functools.partial(factory, fake)))
                server = fake.cpu_seconds() - server
                if count != total:
                    raise AssertionError(f"{label}: listed {count} tags, expected {total}")
                samples[label].append(seconds)
                cpus[label].append((cpu, server))

    section = Section(NAME, TITLE)
    section.setup = [
        f"FakeDOCR in its own process: 1 repository of {total:,} tags, `--latency {latency}` (added to "
        "every request), no rate limit. Every variant lists all tags and the count is checked.",
        f"{reps} repetition(s), median reported; pydo at its default page size (20) makes "
        f"{math.ceil(total / 20)} requests per run, so it runs {slow_reps} time(s).",
        "Ideal = `ceil(pages / window) * latency`, the window being the pages in flight at once "
        "(`prefetch` for docr-async, 1 for a sequential loop).",
    ]
    section.headers = [
        "variant",
        "per_page",
        "requests",
        "median wall",
        "ideal",
        "wall / ideal",
        "wall vs docr sequential",
        "client CPU",
        "server CPU",
    ]
    sequential = median(samples["docr-async `async for`, sequential (prefetch=0)"])
    for label, per_page, window, n, _factory in variants:
        pages = math.ceil(total / per_page)
        ideal = math.ceil(pages / window) * latency
        wall = median(samples[label])
        section.rows.append(
            [
                label + (f" ({n} runs)" if n != reps else ""),
                str(per_page),
                str(pages),
                fmt_s(wall),
                fmt_s(ideal),
                fmt_x(ratio(wall, ideal)),
                fmt_x(ratio(wall, sequential)),
                fmt_s(median([c[0] for c in cpus[label]])),
                fmt_s(median([c[1] for c in cpus[label]])),
            ]
        )
        if window == 4:
            floor = (1 + math.ceil((pages - 1) / window)) * latency
            section.targets.append(
                Target(
                    "docr-async prefetch=4: wall / ideal",
                    "<= 1.5x",
                    fmt_x(ratio(wall, ideal)),
                    ratio(wall, ideal) <= 1.5,
                    cause=(
                        "the first page must arrive alone before the page count is known "
                        f"(floor {fmt_s(floor)}), and the fake serialises each 200-tag page on one "
                        f"event loop ({fmt_s(median([c[1] for c in cpus[label]]))} of server CPU per "
                        "listing) while the client structures them."
                    ),
                )
            )
    pydo20 = median(samples["pydo.aio by hand, default per_page=20"])
    prefetch = median(samples["docr-async `async for`, prefetch=4 (default)"])
    section.notes = [
        f"docr-async with its defaults (per_page=200, prefetch=4) lists {total:,} tags "
        f"{fmt_x(ratio(pydo20, prefetch))} faster than pydo.aio paged by hand at its default page "
        f"size, and {fmt_x(ratio(sequential, prefetch))} faster than its own sequential loop. The "
        "first page is always fetched alone (it tells how many pages there are), so the floor is one "
        "round trip above the ideal formula. Client CPU is the benchmark process's `process_time()`; "
        "server CPU is the fake's, both per listing."
    ]
    section.seconds = clock.elapsed
    return section
