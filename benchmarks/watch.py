"""Scenario: requests per hour spent watching a registry, ``client.watch()`` versus a naive poller.

Virtual time: a FakeDOCR on a manual clock, and an injected sleep that advances it by one interval
and pushes to 1% of the repositories. Requests are counted, not seconds.
"""

from __future__ import annotations

import asyncio
import random
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from docr_async import DOCRClient, RateLimiter
from docr_async.testing import FakeDOCR, ManualClock, RateLimitConfig, SeedSpec

from ._common import Context, Section, Stopwatch, Target

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

NAME = "watch"
TITLE = "9. Watching for events (watch() vs a naive poller)"
REGISTRY = "example"
HOURLY = 5000


class _Stop(Exception):  # noqa: N818 -- ends the endless watch after the planned polls
    pass


def _changer(fake: FakeDOCR, names: list[str], share: float, seed: int) -> Any:
    rng = random.Random(seed)
    count = max(1, round(len(names) * share))

    def change(index: int) -> list[str]:
        picked = rng.sample(names, count)
        for name in picked:
            fake.push(REGISTRY, name, f"p{index}")
        return picked

    return change


@asynccontextmanager
async def _setup(repos: int, share: float) -> AsyncIterator[tuple[FakeDOCR, DOCRClient, Any]]:
    """A fake with ``repos`` repositories on a manual clock, a client on it, and the changer."""
    spec = SeedSpec(repos=repos, tags_per_repo=2, untagged=0)
    async with FakeDOCR(
        seed=1, seed_spec=spec, clock=ManualClock(), rate_limits=RateLimitConfig(enabled=False)
    ) as fake:
        names = sorted(fake.state.registries[REGISTRY].repositories)
        limiter = RateLimiter(clock=fake.clock, burst_limit=None)
        async with DOCRClient(
            fake.token, base_url=fake.url, rate_limiter=limiter, max_concurrency=16
        ) as client:
            yield fake, client, _changer(fake, names, share, seed=2)


async def _watch(repos: int, polls: int, share: float) -> dict[str, Any]:
    async with _setup(repos, share) as (fake, client, change):
        sleeps: list[float] = []
        pushed_at: dict[tuple[str, str], int] = {}
        latencies: list[int] = []
        poll = 1
        baseline: dict[str, float] = {}
        stats: list[Any] = []

        async def sleep(seconds: float) -> None:
            nonlocal poll
            fake.advance_clock(seconds)
            if not baseline:
                if watcher.state is None or watcher.state.pending:
                    poll += 1
                    return
                baseline.update(polls=poll, requests=watcher.total_requests, hours=sum(sleeps) / 3600)
                stats.clear()
            sleeps.append(seconds)
            if len(sleeps) > polls:
                raise _Stop
            for name in change(len(sleeps)):
                pushed_at[(name, f"p{len(sleeps)}")] = poll + 1
            poll += 1

        watcher = client.watch(REGISTRY, sleep=sleep, on_poll=stats.append)
        try:
            async for event in watcher:
                key = (event.repository, getattr(event, "tag", ""))
                if key in pushed_at:
                    latencies.append(poll - pushed_at.pop(key) + 1)
        except _Stop:
            pass
        steady = stats[:polls]
        return {
            "requests": watcher.total_requests - baseline["requests"],
            "hours": sum(sleeps[:polls]) / 3600,
            "interval": watcher.interval,
            "core": sum(p.requests - p.swept for p in steady) / len(steady),
            "swept": sum(p.swept for p in steady) / len(steady),
            "baseline_polls": baseline["polls"],
            "baseline_requests": baseline["requests"],
            "sweep_period": watcher.sweep_period or 0.0,
            "max_latency": max(latencies, default=0),
            "missed": len(pushed_at),
            "polls": polls,
        }


async def _naive(repos: int, polls: int, share: float, interval: float) -> dict[str, Any]:
    """List every repository's tags each interval (what a bot without watch() does)."""
    async with _setup(repos, share) as (fake, client, change):
        for index in range(polls):
            listed = await client.repositories.list(REGISTRY, per_page=200).collect()
            await asyncio.gather(
                *(client.tags.list(r.name, registry=REGISTRY, per_page=200).collect() for r in listed)
            )
            fake.advance_clock(interval)
            change(index + 1)
        return {"requests": client.stats.attempts, "hours": polls * interval / 3600}


def run(ctx: Context) -> Section:
    """Run the scenario and return its report section."""
    clock = Stopwatch()
    repos, polls, naive_polls = (100, 6, 2) if ctx.quick else (1000, 40, 3)
    share = 0.01
    watched = asyncio.run(_watch(repos, polls, share))
    naive = asyncio.run(_naive(repos, naive_polls, share, watched["interval"]))
    w_rate = watched["requests"] / watched["hours"]
    n_rate = naive["requests"] / naive["hours"]
    section = Section(NAME, TITLE)
    section.setup = [
        f"In-process FakeDOCR on a manual clock: {repos:,} repositories (2 tags each); before each poll, "
        f"{share:.0%} of them ({max(1, round(repos * share))}) get a new manifest and tag. Virtual time: "
        "the injected sleep advances the fake's clock; requests are counted (HTTP attempts).",
        f"watch(): default options (budget 10% of {HOURLY:,}/h, derived interval). The first baseline "
        f"took {watched['baseline_polls']} polls and {watched['baseline_requests']:,} requests (within the "
        f"budget); then {polls} polls with changes are measured (steady state).",
        f"Naive poller: list the repositories, then every repository's tags, each interval (same interval "
        f"as watch() settled on), {naive_polls} intervals.",
    ]
    section.headers = ["poller", "interval", "requests / hour", "share of 5,000/h", "notes"]
    section.rows = [
        [
            "client.watch()",
            f"{watched['interval']:.0f} s",
            f"{w_rate:,.0f}",
            f"{w_rate / HOURLY:.1%}",
            f"per poll: {watched['core']:.1f} requests for the listing, changed repositories, GC and "
            f"storage, plus {watched['swept']:.1f} repositories swept; "
            f"every push reported within {watched['max_latency']} poll(s), {watched['missed']} missed; "
            f"sweep period {watched['sweep_period'] / 3600:.1f} h",
        ],
        [
            "naive (all tags each interval)",
            f"{watched['interval']:.0f} s",
            f"{n_rate:,.0f}",
            f"{n_rate / HOURLY:.1%}",
            "",
        ],
    ]
    section.targets = [
        Target(
            "watch() stays within about 10% of the hourly budget",
            "<= 11% of 5,000/h",
            f"{w_rate / HOURLY:.1%}",
            w_rate <= 0.11 * HOURLY,
            "" if w_rate <= 0.11 * HOURLY else "the derived interval did not keep spending down",
        ),
        Target(
            "every push reported within two intervals",
            "<= 2 polls, none missed",
            f"{watched['max_latency']} poll(s), {watched['missed']} missed",
            watched["max_latency"] <= 2 and watched["missed"] == 0,
        ),
    ]
    section.notes = [
        f"The naive poller needs {n_rate / max(w_rate, 1):.0f}x the requests at the same interval"
        + (f", {n_rate / HOURLY:.1f}x the whole account budget." if n_rate > HOURLY else "."),
        "A re-tag onto a manifest that already existed (invisible in the repository listing) is found "
        "by the sweep, within the sweep period shown.",
    ]
    if ctx.quick:
        section.notes.append("quick mode: sizes are tiny and the numbers mean nothing")
    section.seconds = clock.elapsed
    return section
