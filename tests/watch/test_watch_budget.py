"""watch() spends about its share of the hourly budget, and slows down when the budget runs low."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from docr_async import DOCRClient, RateLimiter
from docr_async.testing import FakeDOCR, ManualClock, RateLimitConfig

from .conftest import INTERVAL, REGISTRY, SPEC, Done, Script, drain, repos

if TYPE_CHECKING:
    from docr_async.watch import WatchEvent


async def test_the_default_interval_keeps_spending_near_ten_percent_of_the_hourly_budget(
    fake: FakeDOCR, client: DOCRClient
) -> None:
    names = sorted(repos(fake))
    changes = [lambda i=i: fake.push(REGISTRY, names[i % len(names)], f"b{i}") for i in range(40)]
    script = Script(fake, list(changes))
    watcher = client.watch(REGISTRY, sleep=script)
    seen: list[tuple[int, WatchEvent]] = []
    with pytest.raises(Done):
        await drain(watcher, script, seen)
    hours = sum(script.sleeps) / 3600
    assert all(s >= 10 for s in script.sleeps)
    assert watcher.total_requests / hours <= 0.1 * 5000 * 1.1
    assert watcher.total_requests / hours >= 0.1 * 5000 * 0.5  # it uses its share: the sweep
    assert sum(e.kind == "tag_pushed" for _, e in seen) == 40
    assert watcher.last_poll is not None
    assert watcher.last_poll.requests >= 2


async def test_it_backs_off_when_the_reported_budget_runs_low() -> None:
    limits = RateLimitConfig(hourly_limit=60)
    async with FakeDOCR(seed=7, seed_spec=SPEC, clock=ManualClock(), rate_limits=limits) as fake:
        limiter = RateLimiter(clock=fake.clock)
        async with DOCRClient(fake.token, base_url=fake.url, rate_limiter=limiter) as client:
            remaining: list[int | None] = []
            script = Script(fake, [None] * 8)

            async def sleep(seconds: float) -> None:
                info = client.rate_limit
                remaining.append(info.remaining if info else None)
                for _ in range(5):  # another job of the account spends the same budget, down to 5
                    if client.rate_limit and (client.rate_limit.remaining or 0) > 5:
                        await client.registries.get(REGISTRY)
                await script(seconds)

            watcher = client.watch(REGISTRY, interval=INTERVAL, budget=1.0, sleep=sleep)
            with pytest.raises(Done):
                await drain(watcher, script, [])
    low = 0.2 * 60
    expected = [INTERVAL * (1 if r is None or r >= low else min(16, low / max(r, 1))) for r in remaining]
    assert script.sleeps == pytest.approx(expected)
    assert max(script.sleeps) > INTERVAL, remaining
    assert script.sleeps[0] == INTERVAL
