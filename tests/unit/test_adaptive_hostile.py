"""The adaptive burst limiter against hostile ``ratelimit-*`` headers, in virtual time.

The limiter reads what the token's other users send from the shared hourly budget
(``_token_usage.py``). A budget that does not count requests one by one, or that only some responses
report, or that counts another token's requests too, must never make the limiter worse than no
headers at all.
"""

from __future__ import annotations

import asyncio
import math
import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from docr_async._adaptive import BurstController
from docr_async._ratelimit_headers import RateLimitInfo

from ._clock import START, FakeClock
from .test_adaptive import HOURLY, WINDOW, SimServer, make, run

if TYPE_CHECKING:
    from docr_async._ratelimit import RateLimiter


class HostileServer(SimServer):
    """:class:`SimServer` with the hourly budget reported in hostile ways (``kind``):

    * ``"replayed"``: every 2xx reports the same ``remaining`` (a caching proxy, a stub);
    * ``"some"``: only every other response carries the headers (an endpoint or a proxy that
      drops them), though the server counts every request;
    * ``"account"``: the budget is the account's (as docs/real-world.md says it is), and another
      token of the account spends ``other`` requests per window of it, never in this token's
      burst window;
    * ``"jitter"``: the counter is read from replicas that disagree by up to ``other`` requests.
    """

    def __init__(self, clock: FakeClock, limit: int, *, kind: str, other: int = 0) -> None:
        super().__init__(clock, limit, headers="none" if kind == "none" else "hourly")
        self.kind = kind
        self.other = other
        self.rng = random.Random(16)
        self.responses = 0

    def _info(self, remaining: int) -> RateLimitInfo | None:
        self.responses += 1
        if self.kind == "some" and self.responses % 2:
            return None
        info = super()._info(remaining)
        if info is None or not remaining:
            return info
        if self.kind == "replayed":
            remaining = HOURLY - 1
        elif self.kind == "account":
            remaining -= int(self.other * (self.clock.now - START) / WINDOW)
        elif self.kind == "jitter":
            remaining += self.rng.randint(-self.other, self.other)
        return RateLimitInfo(limit=info.limit, remaining=remaining, reset_at=info.reset_at)


async def alone(
    kind: str, *, limit: int, n: int, tasks: int = 8, restore: bool = False, other: int = 0
) -> tuple[HostileServer, RateLimiter, FakeClock]:
    """One client configured with 250 per window; the server allows ``limit`` (250 again after
    three windows when ``restore``). Returns the server, the limiter and the clock."""
    clock = FakeClock()
    server = HostileServer(clock, limit, kind=kind, other=other)
    limiter = make(clock)

    async def restored() -> None:
        if restore:
            await clock.sleep(3 * WINDOW)
            server.limit = 250

    await asyncio.gather(run(limiter, server, clock, n, tasks=tasks), restored())
    return server, limiter, clock


@pytest.mark.parametrize("kind", ["replayed", "some", "account", "jitter"])
async def test_alone_at_the_configured_limit_hostile_headers_change_nothing(kind: str) -> None:
    # No burst 429, no change, whatever the headers say: the exact schedule of adaptive=False.
    ends = {}
    for adaptive in (True, False):
        clock = FakeClock()
        server = HostileServer(clock, 250, kind=kind, other=200)
        limiter = make(clock, adaptive=adaptive)
        await run(limiter, server, clock, 1000, tasks=64)
        assert server.count(429, START, math.inf) == 0
        assert limiter.effective_burst_limit == 250
        ends[adaptive] = (server.arrivals, clock.now)
    assert ends[True] == ends[False]


@pytest.mark.parametrize("kind", ["replayed", "some"])
async def test_a_budget_that_is_not_a_count_of_every_request_changes_nothing(kind: str) -> None:
    # "replayed": the budget never drops, so this client's own responses outnumber the token's
    # and the measurement said "the token carries nothing": no refill, no probe, the limit stayed
    # at 95 forever after the server came back to 250 (and with a carried ceiling below zero the
    # probe divided by zero, raising out of acquire()). "some": every response without the
    # headers passed for another user's send, so the client alone stayed at 125 of 250.
    # Either way the limiter must act as without headers: the very same schedule.
    schedules = {}
    for headers in (kind, "none"):
        server, limiter, clock = await alone(headers, limit=100, n=3 * 100 + 15 * 250, restore=True)
        schedules[headers] = (server.arrivals, clock.now, limiter.effective_burst_limit)
    assert schedules[kind] == schedules["none"]
    assert schedules[kind][2] == 250


def test_a_budget_that_never_drops_never_raises_and_the_limit_climbs_back() -> None:
    controller = BurstController(250, WINDOW, min_limit=25)
    now = 0.0
    for i in range(100):  # 40 s of responses that all report the same remaining
        now = i * 0.4
        controller.report(now, 4000, START + 3600)
        controller.tick(now, binding=False)
    assert controller.on_429(now, in_window=100, echo=False) == 95
    for i in range(100, 3000):  # the limit holds every send back, no 429 comes any more
        now = i * 0.4
        controller.report(now, 4000, START + 3600)
        controller.tick(now, binding=True)
    assert controller.limit == 250


@pytest.mark.parametrize("seed", range(5))
async def test_absurd_headers_never_raise_and_keep_the_limit_in_bounds(seed: int) -> None:
    # Remaining negative, zero, huge or missing; resets far past, far ahead, backwards, forwards;
    # 429s in between; time moving on in random steps. update() must never raise, the limit must
    # stay between the floor and the configured one, and the measurement must not grow without
    # bound (it keeps only the last window's reports).
    rng = random.Random(seed)
    clock = FakeClock()
    limiter = make(clock, limit=50)
    remainings = [None, -5, 0, 1, 2, 4999, 5000, 10**12, -(10**12)]
    resets = [None, 0.0, -1e9, START, START + 1, START + 3600, START + 4000, START + 1e9]
    reports = 0
    for _ in range(3000):
        clock.now += rng.choice([0.0, 0.001, 0.5, 3.0, WINDOW, 2 * WINDOW])
        reset = rng.choice(resets)
        remaining = rng.choice(remainings) if rng.random() < 0.3 else rng.randint(4000, 4100)
        reset_at = None if reset is None else datetime.fromtimestamp(reset, UTC)
        info = rng.choice([None, RateLimitInfo(limit=5000, remaining=remaining, reset_at=reset_at)])
        limiter.update(info)
        reports += 1
        if rng.random() < 0.05:
            limiter.wait_for_429(rng.choice([0.0, 1.0, 30.0]), info)
        if limiter.next_wait() == 0:
            await limiter.acquire()
        assert limiter.effective_burst_limit is not None
        assert 5 <= limiter.effective_burst_limit <= 50
    controller = limiter._controller
    assert controller is not None
    assert len(controller.usage._samples) <= reports


async def test_alone_under_a_lower_server_limit_the_budget_draws_no_more_429s_than_none() -> None:
    # The first 429s come before any measurement: the window is smaller than configured by an
    # unknown amount, so the carried ceiling is unknown until a window shows what the token
    # carried. (It stayed at the configured 250, and the first refill jumped there: 141 429s
    # against 68 without headers, with 30 allowed and 64 tasks.)
    for limit, tasks in ((30, 64), (125, 8)):
        throttled = {}
        for kind in ("hourly", "none"):
            server, _, _ = await alone(kind, limit=limit, n=600, tasks=tasks)
            throttled[kind] = server.count(429, START, math.inf)
        assert throttled["hourly"] <= 1.1 * throttled["none"], (limit, throttled)


async def test_another_token_of_the_account_does_not_keep_the_limit_down() -> None:
    # The hourly budget is the account's: another token's 60 requests per window read as this
    # token's other users, so the token looks full below its limit. Only a probe can tell, and a
    # token that looks full at the configured limit is probed again after eight quiet windows:
    # the client climbs back to 250 (it stayed at 235 when that probe was gated for good), and
    # finishes no later than without headers.
    ends = {}
    for kind in ("account", "none"):
        server, limiter, clock = await alone(kind, limit=100, n=3 * 100 + 40 * 250, restore=True, other=60)
        assert limiter.effective_burst_limit == 250
        last = clock.now - WINDOW
        assert server.count(200, last - WINDOW, last) >= 0.9 * 250
        ends[kind] = clock.now
    assert ends["account"] <= ends["none"]


async def test_a_jittery_budget_draws_no_more_429s_than_none() -> None:
    # Replicas that disagree by up to 20: the measured total swings by tens, and a refill on
    # every upward swing ratcheted the limit into the token's (233 429s once settled, against 84
    # without headers). The refill now needs more room than twice the budget's spread.
    throttled = {}
    for kind in ("jitter", "none"):
        clock = FakeClock()
        server = HostileServer(clock, 250, kind=kind, other=20)
        limiters = [make(clock) for _ in range(8)]
        await asyncio.gather(*(run(limiter, server, clock, 1500) for limiter in limiters))
        throttled[kind] = server.count(429, START + 3 * WINDOW, math.inf)
    assert throttled["jitter"] <= 1.1 * throttled["none"]
