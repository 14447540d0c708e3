"""Scenario 3: bulk tag deletion under a compressed burst limit, SDK versus a naive pydo gather."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import pydo.aio

from docr_async import DOCRClient, RateLimiter

from ._common import Context, Section, Stopwatch, Target, fmt_s, median
from ._fake import REGISTRY, REPOSITORY, FakeServer

if TYPE_CHECKING:
    from collections.abc import Sequence

NAME = "deletion"
TITLE = "3. Bulk deletion under the rate limit"
SDK = "docr-async (max_concurrency=16, limiter on)"
PYDO = "pydo.aio, naive asyncio.gather"


async def sdk_delete(fake: FakeServer, tags: Sequence[str], limit: int, window: float) -> dict[str, Any]:
    """Delete ``tags`` through one client whose limiter has the server's burst numbers."""
    limiter = RateLimiter(burst_limit=limit, burst_window=window)
    async with DOCRClient(fake.token, base_url=fake.url, max_concurrency=16, rate_limiter=limiter) as client:
        results = await asyncio.gather(
            *(client.tags.delete(tag, repository=REPOSITORY, registry=REGISTRY) for tag in tags),
            return_exceptions=True,
        )
        seen = client.stats.rate_limited
    return {"results": results, "client_429s": seen}


async def pydo_delete(fake: FakeServer, tags: Sequence[str]) -> dict[str, Any]:
    """Delete ``tags`` with pydo's async client, all at once (what a pydo user would write)."""
    async with pydo.aio.Client(token=fake.token, endpoint=fake.url) as client:
        results = await asyncio.gather(
            *(
                client.registries.delete_repository_tag(REGISTRY, REPOSITORY, tag, enforce_https=False)
                for tag in tags
            ),
            return_exceptions=True,
        )
    return {"results": results, "client_429s": None}


def run(ctx: Context) -> Section:
    """Run the scenario and return its report section."""
    clock = Stopwatch()
    n, limit, window = (60, 20, 0.5) if ctx.quick else (1000, 50, 1.0)
    reps = ctx.reps(cap=3)
    spec = {"repos": 1, "tags_per_repo": n + 50, "untagged": 0}
    samples: dict[str, list[dict[str, Any]]] = {SDK: [], PYDO: []}
    args = ("--repos", "1", "--tags-per-repo", str(n + 50), "--untagged", "0", "--hourly-limit", "100000000")
    with FakeServer(*args, "--burst-limit", str(limit), "--burst-window", str(window)) as fake:
        for rep in range(reps):
            for variant in (SDK, PYDO) if rep % 2 == 0 else (PYDO, SDK):
                fake.reseed(**spec)
                fake.reset_rate_limits()
                tags = fake.tag_names()[:n]
                assert len(tags) == n
                fake.reset_rate_limits()
                time.sleep(window)  # nothing of the listing is left in any window
                before = fake.state()
                start = time.perf_counter()
                if variant == SDK:
                    out = asyncio.run(sdk_delete(fake, tags, limit, window))
                else:
                    out = asyncio.run(pydo_delete(fake, tags))
                wall = time.perf_counter() - start
                after = fake.state()
                failures = [r for r in out["results"] if isinstance(r, BaseException)]
                ok = n - len(failures)
                if before["totals"]["tags"] - after["totals"]["tags"] != ok:
                    raise AssertionError(f"{variant}: {ok} deletions reported, the fake disagrees")
                samples[variant].append(
                    {
                        "wall": wall,
                        "ok": ok,
                        "failures": len(failures),
                        "kinds": Counter(type(f).__name__ for f in failures),
                        "client_429s": out["client_429s"],
                        "served_429s": after["throttled_served"] - before["throttled_served"],
                        "requests": after["requests_served"] - before["requests_served"],
                    }
                )

    section = Section(NAME, TITLE)
    best = (math.ceil(n / limit) - 1) * window
    section.setup = [
        f"FakeDOCR in its own process with a compressed burst limit of {limit} requests per "
        f"{window:g} s (sliding window, 429 + `Retry-After` beyond it; hourly budget unlimited). "
        f"{n:,} tags deleted per run; the fake is re-seeded and its counters reset before each run.",
        f"The limit permits {limit / window:g} deletions/s; the fastest possible schedule sends "
        f"{limit} at once every {window:g} s, so {n:,} deletions need at least "
        f"(ceil({n}/{limit}) - 1) x {window:g} s = {fmt_s(best)}. "
        "Share of the permitted throughput = that minimum for the deletions that succeeded / wall time.",
        f"{reps} repetition(s) each, alternating which client goes first; medians reported.",
        "Both clients are handed all deletions at once through `asyncio.gather`; docr-async bounds "
        "itself with `max_concurrency=16` and `RateLimiter(burst_limit="
        f"{limit}, burst_window={window:g})`.",
    ]
    section.headers = [
        "client",
        "wall",
        "deleted",
        "failures",
        "share of permitted throughput",
        "429s seen by client",
        "429s served (fake)",
        "requests served",
    ]
    summary: dict[str, dict[str, float]] = {}
    for variant, runs in samples.items():
        wall = median([r["wall"] for r in runs])
        ok_median = median([r["ok"] for r in runs])
        shares = [(math.ceil(r["ok"] / limit) - 1) * window / r["wall"] if r["ok"] else 0.0 for r in runs]
        client = [r["client_429s"] for r in runs if r["client_429s"] is not None]
        kinds: Counter[str] = sum((r["kinds"] for r in runs), Counter())
        summary[variant] = {
            "share": median(shares),
            "served": median([r["served_429s"] for r in runs]),
            "failures": median([r["failures"] for r in runs]),
            "client": median(client) if client else float("nan"),
        }
        failed = f"{summary[variant]['failures']:.0f}"
        if kinds:
            failed += " (" + ", ".join(f"{k}" for k in sorted(kinds)) + ")"
        section.rows.append(
            [
                variant,
                fmt_s(wall),
                f"{ok_median:.0f}",
                failed,
                f"{summary[variant]['share']:.1%}",
                f"{summary[variant]['client']:.0f}" if client else "n/a (pydo keeps no count)",
                f"{summary[variant]['served']:.0f}",
                f"{median([r['requests'] for r in runs]):.0f}",
            ]
        )
    sdk = summary[SDK]
    section.targets = [
        Target(
            "SDK share of the permitted throughput",
            ">= 90%",
            f"{sdk['share']:.1%}",
            sdk["share"] >= 0.9,
            cause="each burst window opens only when the previous window's responses are back.",
        ),
        Target(
            "SDK 429s received (client.stats / fake)",
            "= 0",
            f"{sdk['client']:.0f} / {sdk['served']:.0f}",
            sdk["client"] == 0 and sdk["served"] == 0,
            cause="the client-side window disagreed with the server's.",
        ),
        Target("SDK failures", "= 0", f"{sdk['failures']:.0f}", sdk["failures"] == 0),
    ]
    official = samples[PYDO]
    section.notes = [
        f"pydo.aio made {median([r['requests'] for r in official]) / n:.1f} requests per deletion: "
        "azure-core's retry policy honours `Retry-After` but gives up after 3 retries, and every "
        "task of a naive gather retries on its own, so the same burst window is hit again and again "
        "and most deletions end in `HttpResponseError` (429). docr-async sends each deletion once, "
        "paced to the window, and every task waits behind one shared limiter."
    ]
    section.seconds = clock.elapsed
    return section
