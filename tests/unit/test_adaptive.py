"""Adaptive burst limiting (BurstController inside RateLimiter), in virtual time against a simulated
server whose sliding burst window may be smaller than the client was configured with."""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from datetime import UTC, datetime
from typing import NamedTuple

import pytest

from docr_async._adaptive import BurstController
from docr_async._ratelimit import RateLimiter
from docr_async._ratelimit_headers import RateLimitInfo

from ._clock import START, FakeClock

WINDOW = 60.0
LATENCY = 0.05
HOURLY = 100_000
"""The hourly budget the simulated server reports (out of reach: only the burst window limits)."""


class SimServer:
    """A server-side sliding burst window (as DigitalOcean's): 429 with Retry-After when full.

    ``headers`` chooses the ``ratelimit-*`` headers of its responses: ``"none"``; ``"hourly"``
    (the token's hourly budget, as DigitalOcean reports it, with a reset that stays put while the
    hour's oldest request has not expired); ``"moving"`` (the same, but the oldest request expires
    between any two responses, as for a token busy for more than an hour: nothing can be measured).
    A burst 429 reports ``remaining: 0`` and is not counted against the hour.
    """

    def __init__(self, clock: FakeClock, limit: int, *, headers: str = "none") -> None:
        self.clock = clock
        self.limit = limit
        self.headers = headers
        self.accepted: deque[float] = deque()
        self.arrivals: list[tuple[float, int]] = []
        self.hourly = 0

    def arrive(self) -> tuple[int, float | None, RateLimitInfo | None]:
        now = self.clock.now
        while self.accepted and self.accepted[0] + WINDOW <= now:
            self.accepted.popleft()
        if len(self.accepted) >= self.limit:
            self.arrivals.append((now, 429))
            return 429, max(1.0, math.ceil(self.accepted[0] + WINDOW - now)), self._info(0)
        self.accepted.append(now)
        self.arrivals.append((now, 200))
        self.hourly += 1
        return 200, None, self._info(HOURLY - self.hourly)

    def _info(self, remaining: int) -> RateLimitInfo | None:
        if self.headers == "none":
            return None
        if self.headers == "weighed":  # a budget that drops by 1000 a request: not a count
            remaining = max(0, HOURLY * 1000 - 1000 * self.hourly) if remaining else 0
        reset = START + 3600 + (len(self.arrivals) if self.headers == "moving" else 0)
        reset_at = datetime.fromtimestamp(reset, UTC)
        return RateLimitInfo(limit=HOURLY * 1000, remaining=remaining, reset_at=reset_at)

    def count(self, status: int, start: float, end: float) -> int:
        return sum(1 for t, s in self.arrivals if s == status and start <= t < end)


async def run(limiter: RateLimiter, server: SimServer, clock: FakeClock, n: int, tasks: int = 8) -> None:
    """``tasks`` workers send until ``n`` requests succeeded, as the transport does: every
    response's headers to the limiter, and a 429 retried after the limiter's pause."""
    todo = iter(range(n))

    async def worker() -> None:
        for _ in todo:
            while True:
                async with limiter.slot():
                    await clock.sleep(LATENCY / 2)  # on the way
                    status, retry_after, info = server.arrive()
                    await clock.sleep(LATENCY / 2)  # the response comes back
                limiter.update(info)
                if status == 200:
                    break
                limiter.wait_for_429(retry_after, info)

    await asyncio.gather(*(worker() for _ in range(tasks)))


def make(clock: FakeClock, *, adaptive: bool = True, limit: int = 250) -> RateLimiter:
    return RateLimiter(
        burst_limit=limit, burst_window=WINDOW, adaptive=adaptive, clock=clock.time, sleep=clock.sleep
    )


@pytest.mark.parametrize("headers", ["none", "hourly", "moving"])
async def test_alone_at_the_default_limit_no_slowdown(headers: str) -> None:
    ends = {}
    for adaptive in (True, False):
        clock = FakeClock()
        server = SimServer(clock, 250, headers=headers)
        limiter = make(clock, adaptive=adaptive)
        await run(limiter, server, clock, 1000)
        assert server.count(429, START, math.inf) == 0
        assert limiter.effective_burst_limit == 250
        ends[adaptive] = clock.now
    assert ends[True] == ends[False]  # the same virtual schedule, to the microsecond


@pytest.mark.parametrize("headers", ["none", "hourly", "moving"])
async def test_limit_halves_mid_run_converges_within_a_few_windows(
    caplog: pytest.LogCaptureFixture, headers: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="docr_async.ratelimit")
    results = {}
    for adaptive in (True, False):
        clock = FakeClock()
        server = SimServer(clock, 250, headers=headers)
        limiter = make(clock, adaptive=adaptive)

        async def halve(server: SimServer = server, clock: FakeClock = clock) -> None:
            await clock.sleep(3 * WINDOW)
            server.limit = 125

        await asyncio.gather(run(limiter, server, clock, 3 * 250 + 12 * 125), halve())
        change = START + 3 * WINDOW
        settled = change + 3 * WINDOW  # "a few windows" after the change
        results[adaptive] = (
            server.count(429, change, math.inf),
            server.count(429, settled, math.inf),
            server.count(200, settled, settled + 6 * WINDOW),
            limiter.effective_burst_limit,
        )
    after_change, after_settling, served, limit = results[True]
    assert limit is not None
    assert limit <= 125 + 125 // 4
    assert served >= 0.85 * 6 * 125  # close to the server's new limit once settled
    assert after_settling <= 0.05 * served  # few 429s left once converged
    assert after_change < results[False][0] / 2  # far fewer than without adaptation
    assert "effective burst limit now" in caplog.text  # every change is logged at DEBUG


@pytest.mark.parametrize("headers", ["none", "hourly", "moving"])
async def test_raises_the_limit_again_when_429s_stop(headers: str) -> None:
    clock = FakeClock()
    server = SimServer(clock, 100, headers=headers)
    limiter = make(clock)

    async def restore() -> None:
        await clock.sleep(3 * WINDOW)
        server.limit = 250

    await asyncio.gather(run(limiter, server, clock, 3 * 100 + 15 * 250), restore())
    assert limiter.effective_burst_limit == 250
    last = clock.now - WINDOW
    assert server.count(200, last - WINDOW, last) >= 0.9 * 250  # full speed again


async def test_paced_release_after_a_pause() -> None:
    clock = FakeClock()
    limiter = make(clock, limit=100)
    for _ in range(10):
        await limiter.acquire()
    assert limiter.wait_for_429(5.0, None) == 5.0
    assert limiter.effective_burst_limit == 25  # a quarter at most by one 429

    async def send() -> float:
        await limiter.acquire()
        return clock.now

    # 15 more fit the window (25 - 10): released one every window / (4 x limit), not at once
    times = sorted(await asyncio.gather(*(send() for _ in range(15))))
    interval = WINDOW / (4 * 25)
    assert times == pytest.approx([START + 5 + i * interval for i in range(15)])


async def test_pacing_lasts_while_the_limit_is_lowered() -> None:
    # Long after the pause, a lowered limit still spreads its sends: a burst of its whole share
    # would be repeated by the sliding window every window, and an overflow of the shared window
    # would then cost a pause until the next burst.
    clock = FakeClock()
    limiter = make(clock, limit=100)
    for _ in range(10):
        await limiter.acquire()
    limiter.wait_for_429(5.0, None)
    clock.now = START + 10 * WINDOW  # every send and the pause long gone
    assert limiter.effective_burst_limit == 25

    async def send() -> float:
        await limiter.acquire()
        return clock.now

    times = sorted(await asyncio.gather(*(send() for _ in range(8))))
    assert times == pytest.approx([START + 10 * WINDOW + i * WINDOW / 100 for i in range(8)])


async def test_without_adaptation_the_pause_releases_everyone_at_once() -> None:
    clock = FakeClock()
    limiter = make(clock, adaptive=False, limit=100)
    limiter.wait_for_429(5.0, None)

    async def send() -> float:
        await limiter.acquire()
        return clock.now

    assert await asyncio.gather(*(send() for _ in range(20))) == [START + 5] * 20
    assert limiter.effective_burst_limit == 100


def test_echo_429s_of_requests_in_flight_lower_the_limit_once() -> None:
    controller = BurstController(250, WINDOW)
    assert controller.on_429(0.0, in_window=200, echo=False) == 190  # 0.95 of what it got
    assert controller.on_429(0.1, in_window=200, echo=True) is None
    assert controller.limit == 190


def test_controller_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="BurstController"):
        BurstController(0, WINDOW)


async def test_stray_429s_never_push_the_limit_below_a_tenth() -> None:
    # 429s that arrive when this client has sent almost nothing (a stray one, or others spending
    # the token) would otherwise halve the limit down to one request per window: the CLI crawled.
    clock = FakeClock()
    limiter = make(clock, limit=250)
    for _ in range(12):
        await limiter.acquire()
        limiter.wait_for_429(1.0, None)
        clock.now += 2.0  # past the pause, so every 429 counts
    assert limiter.effective_burst_limit == 25
    small_clock = FakeClock()
    small = make(small_clock, limit=5)
    for _ in range(6):
        await small.acquire()
        small.wait_for_429(1.0, None)
        small_clock.now += 2.0
    assert small.effective_burst_limit == 1  # a tenth of 5 rounds down to 0: never below one


async def sharing(counts: list[int], *, headers: str, adaptive: bool = True) -> Shared:
    """Processes, each configured with the token's full limit (250 per minute, 8 tasks each),
    share one server window; ``counts[i]`` is what process ``i`` has to send."""
    clock = FakeClock()
    server = SimServer(clock, 250, headers=headers)
    limiters = [make(clock, adaptive=adaptive) for _ in counts]
    ends = [0.0] * len(counts)
    shared: list[int] = []  # the effective limits when the first process finished

    async def process(i: int) -> None:
        await run(limiters[i], server, clock, counts[i])
        ends[i] = clock.now
        if not shared:  # the first to finish: every process was busy until now
            shared.extend(limiter.effective_burst_limit or 0 for limiter in limiters)

    await asyncio.gather(*(process(i) for i in range(len(counts))))
    return Shared(server, limiters, ends, shared)


class Shared(NamedTuple):
    """What :func:`sharing` ran: the server, each process's limiter and end time, and the
    effective limits when the first process finished (while every process was busy)."""

    server: SimServer
    limiters: list[RateLimiter]
    ends: list[float]
    limits_while_shared: list[int]


@pytest.mark.parametrize(
    ("headers", "most_429s", "least_per_window"),
    [("none", 0.05, 0.9), ("moving", 0.05, 0.9), ("hourly", 0.025, 0.95)],
)
async def test_processes_sharing_a_token_settle_under_its_limit_with_few_429s(
    headers: str, most_429s: float, least_per_window: float
) -> None:
    # Together they must keep close to the limit without a stream of 429s; without adaptation
    # they overrun it. With the token's hourly budget in the headers, each process also knows
    # what the others send, so they fill the window closer and stop probing past it.
    results = {}
    for adaptive in (True, False):
        server, _, ends, shared = await sharing([750] * 4, headers=headers, adaptive=adaptive)
        served = server.count(200, START, math.inf)
        throttled = server.count(429, START, math.inf)
        steady = server.count(200, START + WINDOW, min(ends))  # after the first window, all busy
        results[adaptive] = (served, throttled, steady / (min(ends) - START - WINDOW) * WINDOW)
        if adaptive:  # while all were busy (the last ones then take up the finished ones' shares)
            assert sum(shared) <= 250 * 1.1
    served, throttled, per_window = results[True]
    assert served == 4 * 750
    assert throttled <= most_429s * (served + throttled)
    assert per_window >= least_per_window * 250  # close to the token's limit while all four are busy
    assert throttled < results[False][1] / 4  # far fewer 429s than four unadapted processes


async def test_with_the_hourly_headers_processes_stop_drawing_429s_once_settled() -> None:
    # Without the budget, processes sharing a token keep probing past it: a round of 429s every
    # few windows. With it they know the token is full, and probe past it only rarely (the budget
    # is the account's, so a full token may be another token's traffic).
    throttled = {}
    for headers in ("hourly", "none"):
        server, _, ends, _ = await sharing([1500] * 8, headers=headers)
        settled = START + 3 * WINDOW
        throttled[headers] = server.count(429, settled, math.inf)
        if headers == "hourly":
            served = server.count(200, settled, min(ends))
            assert served >= 0.95 * 250 * (min(ends) - settled) / WINDOW
    assert throttled["hourly"] <= throttled["none"] / 4


async def test_a_process_takes_up_the_share_of_one_that_finished() -> None:
    # Two processes share the token; one finishes early. With the token's hourly budget in the
    # headers, the other sees the token's window empty out and takes up the freed share as it
    # frees (in proportion, so several remaining processes never claim it twice), back to the
    # configured limit once the other's sends have left the window. Without them it can only
    # probe upwards, a few percent per clean window.
    served_after = {}
    for headers in ("hourly", "none"):
        server, limiters, ends, _ = await sharing([500, 2500], headers=headers)
        gone = ends[0] + WINDOW  # the finished process's last sends have left the window
        served_after[headers] = server.count(200, gone, gone + WINDOW)
        if headers == "hourly":
            assert limiters[1].effective_burst_limit == 250
            assert server.count(429, ends[0], math.inf) == 0
    assert served_after["hourly"] >= 0.95 * 250
    assert served_after["none"] < 0.8 * 250


@pytest.mark.parametrize("kind", ["moving", "weighed"])
async def test_a_budget_that_measures_nothing_changes_nothing(kind: str) -> None:
    # "moving": a token busy for more than an hour, whose oldest request expires between any two
    # responses, so the budget's drop says nothing about what anyone sent. "weighed": a budget
    # that drops by more than a burst window can hold (it does not count requests one by one).
    # The limiter then acts on 429s alone: the very same virtual schedule as without any headers.
    schedules = {}
    for headers in (kind, "none"):
        server, limiters, ends, _ = await sharing([500, 1500], headers=headers)
        schedules[headers] = (server.arrivals, ends, [limiter.effective_burst_limit for limiter in limiters])
    assert schedules[kind] == schedules["none"]
