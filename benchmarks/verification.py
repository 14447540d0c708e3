"""Scenario 8: the cleanup's just-in-time verification at the default rate limit (250/min).

Time is compressed: FakeDOCR (in this process) and the client share a clock that runs ``SPEEDUP``
times faster than the wall clock, and the client's limiter sleeps ``1/SPEEDUP`` of what it
computes. Rate limits, the re-verification bound and the reported windows are all in that
virtual time, so the numbers are those of a real 250/min run; loopback latency (a few ms) is
inflated by the same factor, which makes the reported windows slight overestimates.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from docr_async import DOCRClient, RateLimiter
from docr_async.cleanup import DEFAULT_REVERIFY_AFTER, CleanupExecutor, RetentionPolicy, build_plan
from docr_async.testing import FakeDOCR, RateLimitConfig, SeedSpec

from ._common import Context, Section, Stopwatch, Target

NAME = "verification"
TITLE = "8. Cleanup verification window at 250 requests/min"
REGISTRY = "example"
DAY = 86400.0
POLICY = RetentionPolicy(older_than="30d", delete_untagged=True)


class FastClock:
    """Epoch seconds running ``speedup`` times faster than the wall clock."""

    def __init__(self, speedup: float) -> None:
        self.speedup = speedup
        self.origin = time.time()
        self.wall = time.monotonic()

    def __call__(self) -> float:
        return self.origin + (time.monotonic() - self.wall) * self.speedup

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speedup)


def seed(fake: FakeDOCR, clock: FastClock, big: int, others: int, per_other: int) -> None:
    """One repository with ``big`` old images, ``others`` with ``per_other`` each. Every third image
    also carries a fresh tag, so its old tag is deleted alone (a tag deletion); the others are
    deleted whole (a manifest deletion). Each repository keeps ``latest``."""
    old = clock() - 60 * DAY
    repos = [("big/app", big)] + [(f"svc-{n}", per_other) for n in range(others)]
    for repo, count in repos:
        fake.push(REGISTRY, repo, "latest")
        for n in range(count):
            manifest = fake.push(REGISTRY, repo, f"build-{n}", updated_at=old)
            if n % 3 == 0:
                fake.push(REGISTRY, repo, f"keep-{n}", digest=manifest.digest)


async def one_run(sizes: tuple[int, int, int], speedup: float, reverify_after: float) -> dict[str, Any]:
    clock = FastClock(speedup)
    spec = SeedSpec(registries=1, repos=0, tags=0, untagged=0)
    async with FakeDOCR(seed_spec=spec, clock=clock, rate_limits=RateLimitConfig()) as fake:
        seed(fake, clock, *sizes)
        limiter = RateLimiter(clock=clock, sleep=clock.sleep)
        async with DOCRClient(fake.token, base_url=fake.url, rate_limiter=limiter, max_wait=3600) as client:
            plan = await build_plan(client, REGISTRY, POLICY, now=datetime.fromtimestamp(clock(), UTC))
            fake.clear_requests()
            started = clock()
            executor = CleanupExecutor(client, plan, reverify_after=reverify_after)
            report = await executor.run()
            elapsed = clock() - started
            deletes = sum(r.method == "DELETE" for r in fake.requests)
            requests = len(fake.requests)
            served_429 = sum(r.status == 429 for r in fake.requests)
    big = [r for r in report.results if r.deletion.repository == "big/app"]
    return {
        "deletions": len(plan.deletions),
        "big": len(big),
        "deleted": report.counts["deleted"],
        "not_ok": len(plan.deletions) - report.counts["deleted"],
        "verification": report.verification_requests,
        "deletes": deletes,
        "requests": requests,
        "served_429": served_429,
        "median": report.window_median_seconds or 0.0,
        "p99": report.window_p99_seconds or 0.0,
        "max": max(report.windows, default=0.0),
        "elapsed": elapsed,
    }


def run(ctx: Context) -> Section:
    """Run the scenario and return its report section."""
    stopwatch = Stopwatch()
    sizes, speedup = ((40, 2, 10), 200.0) if ctx.quick else ((330, 4, 60), 10.0)
    variants = [
        (f"re-verify every {DEFAULT_REVERIFY_AFTER:g} s (default)", DEFAULT_REVERIFY_AFTER),
        ("verify once per repository (reverify_after=inf)", float("inf")),
    ]
    results = [(label, asyncio.run(one_run(sizes, speedup, bound))) for label, bound in variants]
    section = Section(NAME, TITLE)
    first = results[0][1]
    section.setup = [
        f"FakeDOCR in this process with its default limits (250 requests/min, 5,000/h) and a client "
        f"limiter with the same numbers; {first['deletions']} planned deletions in {sizes[1] + 1} "
        f"repositories, {first['big']} of them in one repository (`big/app`); a third are tag "
        "deletions, the rest whole manifests. `CleanupExecutor` defaults (concurrency 8).",
        f"Compressed time: the fake and the client share a clock running {speedup:g}x the wall clock "
        "(the limiter sleeps accordingly), so every time below is virtual seconds of a 250/min run; "
        f"the run took {stopwatch.elapsed:.0f} s of wall time. Loopback latency is inflated by the "
        "same factor, so windows are slight overestimates.",
        "Window = from the start of the listing that last verified an item to its DELETE's response.",
        "One run per variant (the schedule is set by the rate limit, not by noise).",
    ]
    section.headers = [
        "verification",
        "deletions",
        "deleted",
        "verification requests",
        "extra requests per deletion",
        "window median",
        "window p99",
        "window max",
        "run time (virtual)",
        "429s served",
    ]
    for label, r in results:
        section.rows.append(
            [
                label,
                f"{r['deletions']}",
                f"{r['deleted']}",
                f"{r['verification']}",
                f"{r['verification'] / max(1, r['deletions']):.3f}",
                f"{r['median']:.2f} s",
                f"{r['p99']:.2f} s",
                f"{r['max']:.2f} s",
                f"{r['elapsed']:.0f} s",
                f"{r['served_429']}",
            ]
        )
    default = first
    section.targets = [
        Target(
            ">= 500 deletions, one repository >= 300",
            ">= 500 / >= 300",
            f"{default['deletions']} / {default['big']}",
            ctx.quick or (default["deletions"] >= 500 and default["big"] >= 300),
        ),
        Target(
            "every planned deletion done", "= 0 not deleted", f"{default['not_ok']}", default["not_ok"] == 0
        ),
        Target(
            "verification costs listing pages, not a request per item",
            "< 0.1 per deletion",
            f"{default['verification'] / max(1, default['deletions']):.3f}",
            default["verification"] < 0.1 * default["deletions"],
        ),
    ]
    section.notes = [
        "What remains: the API has no conditional delete, so a change made by someone else between an "
        "item's verifying listing and its DELETE is not seen. With the default bound that window is "
        "at most the bound plus 2 s plus one DELETE's round trip: a DELETE waits at most 2 s for "
        "rate-limit budget after its verification (longer, and the item waits, then is verified "
        "again). Verifying once per repository lets the window grow with the repository and the "
        "rate limit (a minute when the burst window fills).",
    ]
    section.seconds = stopwatch.elapsed
    return section
