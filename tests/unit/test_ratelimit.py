"""RateLimitInfo header parsing and the RateLimiter, driven in virtual time."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from docr_async._ratelimit import DEFAULT_429_PAUSE, MAX_PAUSE, RateLimiter, RateLimitInfo
from docr_async.exceptions import RateLimitBudgetError

from ._clock import START, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_limiter(clock: FakeClock, **kwargs: Any) -> RateLimiter:
    return RateLimiter(clock=clock.time, sleep=clock.sleep, **kwargs)


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def budget(remaining: int, reset_in: float, *, limit: int = 5000) -> RateLimitInfo:
    return RateLimitInfo(limit=limit, remaining=remaining, reset_at=at(START + reset_in))


async def acquire_at(limiter: RateLimiter, clock: FakeClock, **kwargs: Any) -> float:
    """Acquire, and return the virtual time at which the send was allowed."""
    await limiter.acquire(**kwargs)
    return clock.now


# --------------------------------------------------------------------------- RateLimitInfo.from_headers

DOC_HEADERS = {"ratelimit-limit": "5000", "ratelimit-remaining": "4816", "ratelimit-reset": "1444931833"}
DOC_INFO = RateLimitInfo(limit=5000, remaining=4816, reset_at=datetime(2015, 10, 15, 17, 57, 13, tzinfo=UTC))


def test_from_headers_reads_all_three() -> None:
    info = RateLimitInfo.from_headers(DOC_HEADERS)
    assert info == DOC_INFO
    assert info is not None
    assert info.reset_at is not None
    assert info.reset_at.tzinfo is UTC


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(
            {"RateLimit-Limit": "5000", "RateLimit-Remaining": "4816", "RateLimit-Reset": "1444931833"}
        ),
        pytest.param(
            {"RATELIMIT-LIMIT": "5000", "ratelimit-REMAINING": "4816", "rateLimit-reset": "1444931833"}
        ),
        pytest.param(CIMultiDictProxy(CIMultiDict(DOC_HEADERS)), id="ci-proxy-lower"),
        pytest.param(
            CIMultiDictProxy(
                CIMultiDict(
                    {
                        "RateLimit-Limit": "5000",
                        "rateLimit-remaining": "4816",
                        "RATELIMIT-RESET": "1444931833",
                    }
                )
            ),
            id="ci-proxy-mixed",
        ),
        pytest.param(
            CIMultiDict(
                {"Ratelimit-Limit": "5000", "ratelimit-remaining": "4816", "ratelimit-reset": "1444931833"}
            ),
            id="ci-dict",
        ),
    ],
)
def test_from_headers_is_case_insensitive(headers: Any) -> None:
    assert RateLimitInfo.from_headers(headers) == DOC_INFO


@pytest.mark.parametrize(
    "headers",
    [{}, {"content-type": "application/json"}, CIMultiDictProxy(CIMultiDict({"X-Request-Id": "abc"}))],
    ids=["empty", "other-headers", "ci-other-headers"],
)
def test_from_headers_without_ratelimit_headers_is_none(headers: Any) -> None:
    assert RateLimitInfo.from_headers(headers) is None


def test_from_headers_partial() -> None:
    assert RateLimitInfo.from_headers({"RateLimit-Remaining": "7"}) == RateLimitInfo(remaining=7)
    assert RateLimitInfo.from_headers({"ratelimit-reset": "0"}) == RateLimitInfo(reset_at=at(0))
    assert RateLimitInfo.from_headers({"ratelimit-limit": " 250 "}) == RateLimitInfo(limit=250)


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "",
        "  ",
        "-1",
        "-0",
        "1.5",
        "5000.0",
        "5_000",
        "0x10",
        "1e3",
        "٣",
        "inf",
        "nan",
        "9" * 30,
        "9" * 5000,
        "2147483648",
    ],
)
def test_malformed_counts_become_none(value: str) -> None:
    info = RateLimitInfo.from_headers(
        {"ratelimit-limit": value, "ratelimit-remaining": value, "ratelimit-reset": "1444931833"}
    )
    assert info == RateLimitInfo(reset_at=DOC_INFO.reset_at)


@pytest.mark.parametrize(
    "value", ["soon", "-5", "1444931833.5", "1e10", "253402300800", "1444931833000", "9" * 40]
)
def test_malformed_or_huge_reset_becomes_none(value: str) -> None:
    info = RateLimitInfo.from_headers({"ratelimit-remaining": "3", "ratelimit-reset": value})
    assert info == RateLimitInfo(remaining=3)


def test_from_headers_edge_values() -> None:
    info = RateLimitInfo.from_headers(
        {"ratelimit-limit": "+5000", "ratelimit-remaining": "0", "ratelimit-reset": "253402300799"}
    )
    assert info == RateLimitInfo(
        limit=5000, remaining=0, reset_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    )


def test_from_headers_first_duplicate_wins() -> None:
    headers = CIMultiDict([("ratelimit-remaining", "5"), ("RateLimit-Remaining", "6")])
    assert RateLimitInfo.from_headers(CIMultiDictProxy(headers)) == RateLimitInfo(remaining=5)
    assert RateLimitInfo.from_headers(
        {"ratelimit-remaining": "5", "RateLimit-Remaining": "6"}
    ) == RateLimitInfo(remaining=5)


def test_reset_in_the_past_is_kept_and_reported() -> None:
    info = RateLimitInfo.from_headers({"ratelimit-remaining": "0", "ratelimit-reset": str(int(START) - 30)})
    assert info is not None
    assert info.reset_at == at(START - 30)
    assert info.seconds_until_reset(START) == 0.0
    assert budget(0, 30).seconds_until_reset(START) == 30.0
    assert RateLimitInfo().seconds_until_reset(START) is None


def test_seconds_until_reset_defaults_to_the_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: START)
    assert RateLimitInfo(reset_at=at(START + 1000)).seconds_until_reset() == 1000.0


@given(st.dictionaries(st.text(max_size=25), st.text(max_size=25), max_size=6))
def test_from_headers_never_raises(headers: dict[str, str]) -> None:
    RateLimitInfo.from_headers(headers)
    RateLimitInfo.from_headers(CIMultiDictProxy(CIMultiDict(headers)))


@given(st.sampled_from(["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"]), st.text(max_size=30))
def test_from_headers_any_value_never_raises(name: str, value: str) -> None:
    info = RateLimitInfo.from_headers({name.upper(): value})
    assert info is not None


# --------------------------------------------------------------------------- construction


@pytest.mark.parametrize(
    "kwargs", [{"burst_limit": 0}, {"burst_window": 0}, {"burst_window": math.nan}, {"max_wait": -1}]
)
def test_invalid_limiter_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RateLimiter(**kwargs)


def test_fresh_limiter_state(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    assert limiter.enabled
    assert limiter.latest is None
    assert limiter.remaining is None
    assert limiter.reset_at is None
    assert limiter.paused_until is None
    assert limiter.in_window == 0
    assert limiter.next_wait() == 0.0


async def test_clock_and_sleep_are_shared(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    assert limiter.clock() == START
    await limiter.sleep(12.5)
    assert limiter.clock() == START + 12.5
    assert clock.sleeps == [12.5]
    default = RateLimiter()
    assert default.clock.time is time.time
    assert default.clock.monotonic is time.monotonic  # durations never jump with the wall clock
    assert default.sleep is asyncio.sleep
    assert limiter.clock.monotonic() == limiter.clock.time() == START + 12.5  # one virtual time


# --------------------------------------------------------------------------- burst window


async def test_300_concurrent_acquires_250_pass_at_once_the_rest_wait_for_the_window(
    clock: FakeClock,
) -> None:
    limiter = make_limiter(clock, burst_limit=250, burst_window=60.0)

    times = await asyncio.gather(*(acquire_at(limiter, clock) for _ in range(300)))

    assert times.count(START) == 250
    assert times.count(START + 60) == 50
    assert clock.sleeps == [60.0] * 50  # each of the 50 slept once, exactly until the window freed
    assert clock.now == START + 60
    assert limiter.in_window == 50


async def test_no_pacing_under_the_limit(clock: FakeClock) -> None:
    limiter = make_limiter(clock, burst_limit=250)
    for _ in range(250):
        await limiter.acquire()
    assert clock.sleeps == []
    assert clock.now == START
    assert limiter.next_wait() == 60.0


async def test_window_slides(clock: FakeClock) -> None:
    limiter = make_limiter(clock, burst_limit=3, burst_window=10.0)
    for _ in range(3):
        await limiter.acquire()
        clock.advance(1)
    assert clock.now == START + 3
    await limiter.acquire()  # the send at START expires at START + 10
    assert clock.now == START + 10
    await limiter.acquire()  # the send at START + 1 expires at START + 11
    assert clock.now == START + 11
    assert clock.sleeps == [7.0, 1.0]
    assert limiter.in_window == 3


async def test_burst_limit_none_never_waits(clock: FakeClock) -> None:
    limiter = make_limiter(clock, burst_limit=None)
    await asyncio.gather(*(limiter.acquire() for _ in range(1000)))
    assert clock.sleeps == []
    assert limiter.in_window == 0


async def test_burst_wait_over_max_wait_raises_without_sleeping(clock: FakeClock) -> None:
    limiter = make_limiter(clock, burst_limit=1, burst_window=60.0, max_wait=10.0)
    await limiter.acquire()
    with pytest.raises(RateLimitBudgetError) as info:
        await limiter.acquire()
    assert info.value.retry_after == 60.0
    assert info.value.max_wait == 10.0
    assert info.value.reset_at is None
    assert "burst limit" in str(info.value)
    assert clock.sleeps == []
    assert limiter.in_window == 1
    await limiter.acquire(max_wait=60.0)  # the per-call max_wait wins
    assert clock.now == START + 60


# --------------------------------------------------------------------------- hourly budget


async def test_budget_is_decremented_before_the_send(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.update(budget(2, 30))
    await limiter.acquire()
    assert limiter.remaining == 1  # no response yet: the local estimate already dropped
    assert limiter.latest == budget(2, 30)  # latest stays what the server said


async def test_concurrent_tasks_see_the_budget_drop(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.update(budget(2, 30))
    times = await asyncio.gather(*(acquire_at(limiter, clock) for _ in range(3)))
    assert sorted(times) == [START, START, START + 30]
    assert clock.sleeps == [30.0]
    assert limiter.remaining == -1


async def test_exhausted_budget_waits_until_reset(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.update(budget(0, 30))
    assert limiter.next_wait() == 30.0
    await limiter.acquire()
    assert clock.now == START + 30
    assert clock.sleeps == [30.0]


@pytest.mark.parametrize("where", ["argument", "constructor"])
async def test_exhausted_budget_over_max_wait_raises_at_once(clock: FakeClock, where: str) -> None:
    if where == "argument":
        limiter = make_limiter(clock)
        kwargs = {"max_wait": 10.0}
    else:
        limiter = make_limiter(clock, max_wait=10.0)
        kwargs = {}
    limiter.update(budget(0, 30))
    with pytest.raises(RateLimitBudgetError) as info:
        await limiter.acquire(**kwargs)
    assert info.value.reset_at == at(START + 30)
    assert info.value.retry_after == 30.0
    assert info.value.max_wait == 10.0
    assert "hourly budget" in str(info.value)
    assert clock.sleeps == []
    assert clock.now == START
    assert limiter.remaining == 0  # nothing was taken
    assert limiter.in_window == 0


async def test_reset_in_the_past_does_not_wait(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.update(budget(0, -5))
    await limiter.acquire()
    assert clock.sleeps == []


async def test_max_wait_zero_still_passes_when_no_wait_is_needed(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.update(budget(3, 30))
    await limiter.acquire(max_wait=0)
    assert limiter.remaining == 2


async def test_longest_gate_decides(clock: FakeClock) -> None:
    limiter = make_limiter(clock, burst_limit=1, max_wait=100)
    await limiter.acquire()  # burst wait 60 from now on
    limiter.update(budget(0, 90))
    limiter.pause(5)
    assert limiter.next_wait() == 90.0
    await limiter.acquire()
    assert clock.sleeps == [90.0]  # one sleep for the longest gate, not three


# --------------------------------------------------------------------------- update()


def test_update_none_is_a_no_op(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.update(None)
    assert (limiter.latest, limiter.remaining, limiter.reset_at) == (None, None, None)
    limiter.update(budget(10, 30))
    limiter.update(None)
    assert limiter.latest == budget(10, 30)
    assert limiter.remaining == 10
    assert limiter.reset_at == at(START + 30)


async def test_update_same_reset_keeps_in_flight_decrements(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.update(budget(100, 30))
    for _ in range(3):
        await limiter.acquire()
    assert limiter.remaining == 97
    limiter.update(budget(99, 30))  # the server has seen only one of the three
    assert limiter.remaining == 97
    assert limiter.latest == budget(99, 30)
    limiter.update(budget(90, 30))  # another client spends the same token
    assert limiter.remaining == 90


async def test_update_later_reset_takes_the_server_values(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.update(budget(100, 30))
    for _ in range(3):
        await limiter.acquire()
    limiter.update(budget(150, 40))  # requests expired from the sliding hour
    assert limiter.remaining == 150
    assert limiter.reset_at == at(START + 40)


def test_update_stale_reset_is_ignored(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.update(budget(50, 40))
    limiter.update(budget(80, 30))  # an older response arriving late
    assert limiter.remaining == 50
    assert limiter.latest == budget(50, 40)


def test_update_without_remaining_only_sets_latest(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.update(budget(50, 40))
    partial = RateLimitInfo(limit=5000)
    limiter.update(partial)
    assert limiter.latest == partial
    assert limiter.remaining == 50
    assert limiter.reset_at == at(START + 40)


def test_update_without_reset_takes_the_server_remaining(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.update(budget(50, 40))
    limiter.update(RateLimitInfo(remaining=70))
    assert limiter.remaining == 70
    assert limiter.reset_at is None


# --------------------------------------------------------------------------- pause()


async def test_pause_makes_every_concurrent_acquirer_wait(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.pause(5, reason="429")
    assert limiter.paused_until == START + 5
    times = await asyncio.gather(*(acquire_at(limiter, clock) for _ in range(20)))
    assert times == [START + 5] * 20
    assert limiter.paused_until is None


async def test_pause_during_waits_is_seen_by_the_waiters(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.pause(5)

    async def second_429() -> None:
        await clock.sleep(3)
        limiter.pause(10)  # now START + 3 + 10

    results = await asyncio.gather(second_429(), *(acquire_at(limiter, clock) for _ in range(10)))
    assert results[1:] == [START + 13] * 10


@pytest.mark.parametrize(("first", "second", "until"), [(5, 10, 10), (10, 5, 10), (7, 7, 7)])
def test_pause_extends_but_never_shortens(
    clock: FakeClock, first: float, second: float, until: float
) -> None:
    limiter = make_limiter(clock)
    limiter.pause(first)
    limiter.pause(second)
    assert limiter.paused_until == START + until


def test_pause_shorter_later_does_not_shorten(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.pause(10)
    clock.advance(4)
    limiter.pause(1)
    assert limiter.paused_until == START + 10
    limiter.pause(7)
    assert limiter.paused_until == START + 11


@pytest.mark.parametrize("seconds", [0, -3, math.nan])
def test_pause_ignores_non_positive_and_nan(clock: FakeClock, seconds: float) -> None:
    limiter = make_limiter(clock)
    limiter.pause(seconds)
    assert limiter.paused_until is None


def test_pause_clamps_inf(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.pause(math.inf)
    assert limiter.paused_until == START + MAX_PAUSE


async def test_pause_over_max_wait_raises(clock: FakeClock) -> None:
    limiter = make_limiter(clock, max_wait=60)
    limiter.pause(120, reason="burst")
    with pytest.raises(RateLimitBudgetError, match="paused after a 429"):
        await limiter.acquire()
    assert clock.sleeps == []


# --------------------------------------------------------------------------- wait_for_429()


async def test_429_with_retry_after_pauses_that_long_not_until_the_hourly_reset(clock: FakeClock) -> None:
    limiter = make_limiter(clock, adaptive=False)  # paced release: tests/unit/test_adaptive.py
    info = budget(0, 3000)  # a burst 429 also reports remaining 0
    limiter.update(info)
    assert limiter.wait_for_429(29.0, info) == 29.0
    times = await asyncio.gather(*(acquire_at(limiter, clock) for _ in range(5)))
    assert times == [START + 29] * 5
    assert limiter.remaining is None  # unknown until the next response


async def test_429_without_retry_after_pauses_until_the_reset(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    info = budget(0, 30)
    limiter.update(info)
    assert limiter.wait_for_429(None, info) == 30.0
    await limiter.acquire()
    assert clock.now == START + 30


def test_429_without_info_uses_the_latest_budget(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.update(budget(0, 45))
    assert limiter.wait_for_429(None, None) == 45.0


def test_429_without_retry_after_and_unknown_remaining_uses_the_reset(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    assert limiter.wait_for_429(None, RateLimitInfo(reset_at=at(START + 12))) == 12.0


@pytest.mark.parametrize(
    "info",
    [None, RateLimitInfo(), budget(0, -10), budget(0, 0), budget(17, 30)],
    ids=["no-info", "empty-info", "reset-past", "reset-now", "budget-left"],
)
def test_429_without_anything_useful_pauses_the_default(clock: FakeClock, info: RateLimitInfo | None) -> None:
    limiter = make_limiter(clock)
    assert limiter.wait_for_429(None, info) == DEFAULT_429_PAUSE
    assert limiter.wait_for_429(math.nan, info) == DEFAULT_429_PAUSE
    assert make_limiter(clock).wait_for_429(None, info, default=3.0) == 3.0


def test_429_returns_the_extended_pause(clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    limiter.pause(50)
    assert limiter.wait_for_429(5.0, None) == 50.0
    assert limiter.wait_for_429(0.0, None) == 50.0


async def test_hourly_429_beyond_max_wait_raises_with_reset(clock: FakeClock) -> None:
    limiter = make_limiter(clock, max_wait=900)
    info = budget(0, 2000)
    limiter.update(info)
    assert limiter.wait_for_429(None, info) == 2000.0
    with pytest.raises(RateLimitBudgetError) as exc_info:
        await limiter.acquire()
    assert exc_info.value.reset_at == at(START + 2000)
    assert clock.sleeps == []


# --------------------------------------------------------------------------- disabled


async def test_disabled_never_waits(clock: FakeClock) -> None:
    limiter = make_limiter(clock, enabled=False, burst_limit=1, max_wait=0)
    limiter.update(budget(0, 3000))
    limiter.pause(600)
    await asyncio.gather(*(limiter.acquire() for _ in range(500)))
    assert clock.sleeps == []
    assert not limiter.enabled
    assert limiter.next_wait() == 0.0
    assert limiter.remaining == 0  # nothing is accounted either
    assert limiter.latest == budget(0, 3000)  # but the budget is still recorded for client.rate_limit


async def test_disabled_slots_never_wait_and_hold_nothing(clock: FakeClock) -> None:
    limiter = make_limiter(clock, enabled=False, burst_limit=1, max_wait=0)
    limiter.pause(600)

    async def send() -> None:
        async with limiter.slot(max_wait=0):
            await asyncio.sleep(0)

    await asyncio.gather(*(send() for _ in range(50)))
    assert clock.sleeps == []
    assert limiter.in_window == 0
    assert limiter.slot() is limiter.slot()  # one shared, stateless slot: nothing allocated per request


# --------------------------------------------------------------------------- cancellation


async def wait_until_sleeping(clock: FakeClock, count: int = 1) -> None:
    for _ in range(100):
        if clock.sleeping >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError("the task never started waiting")


@pytest.mark.parametrize("gate", ["burst", "pause", "hourly"])
async def test_cancelled_waiter_takes_no_slot(clock: FakeClock, gate: str) -> None:
    limiter = make_limiter(clock, burst_limit=1)
    limiter.update(budget(10, 30))
    await limiter.acquire()  # the burst window holds one send, remaining is 9
    if gate == "burst":
        expected = 60.0
    elif gate == "pause":
        clock.advance(60)
        limiter.pause(20)
        expected = 80.0
    else:
        clock.advance(60)
        limiter.update(budget(0, 90))
        expected = 90.0

    waiter = asyncio.create_task(limiter.acquire())
    await wait_until_sleeping(clock)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter

    remaining_before = limiter.remaining
    assert limiter.in_window == (1 if gate == "burst" else 0)
    await limiter.acquire()
    assert clock.now == START + expected  # no phantom slot pushed the next send further out
    assert limiter.in_window == 1
    assert limiter.remaining == (remaining_before or 0) - 1


# --------------------------------------------------------------------------- logging and real time


async def test_waits_are_logged_at_debug(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    limiter = make_limiter(clock)
    limiter.update(budget(0, 30))
    with caplog.at_level(logging.DEBUG, logger="docr_async.ratelimit"):
        await limiter.acquire()
        limiter.pause(5, reason="too_many_requests")
        with pytest.raises(RateLimitBudgetError):
            await limiter.acquire(max_wait=1)
    messages = [r.getMessage() for r in caplog.records if r.name == "docr_async.ratelimit"]
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "docr_async.ratelimit")
    assert any("waiting 30.000s" in m and "hourly budget" in m for m in messages)
    assert any("pausing all requests for 5.000s" in m and "too_many_requests" in m for m in messages)
    assert any("refusing to wait" in m for m in messages)


async def test_default_clock_and_sleep_work_in_real_time(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RateLimiter(burst_limit=2, burst_window=0.05)
    with caplog.at_level(logging.DEBUG, logger="docr_async.ratelimit"):
        # The timeout only guards against a hang; how long the wait took is not asserted.
        await asyncio.wait_for(asyncio.gather(*(limiter.acquire() for _ in range(3))), timeout=60)
    # The third send had to wait for the burst window (read from the default clock), and the
    # default sleep returned: all three acquired.
    waits = [float(w) for r in caplog.records for w in re.findall(r"waiting (\d+\.\d+)s", r.getMessage())]
    assert waits, "the third send waited"
    assert all(0 < w <= 0.05 for w in waits)


async def test_completed_restamps_the_send_so_the_window_frees_no_earlier_than_the_server(
    clock: FakeClock,
) -> None:
    limiter = make_limiter(clock, burst_limit=2, burst_window=10.0)
    first = await limiter.acquire()
    second = await limiter.acquire()
    assert first == second == clock.now
    clock.advance(3.0)  # the first response takes 3 s: the server may have counted it that late
    limiter.completed(first)
    clock.advance(7.0)  # 10 s after the send, but only 7 s after the response
    # The slot of the re-stamped send is still held; the other one (never completed) has expired.
    assert limiter.in_window == 1
    assert limiter.next_wait() == 0.0
    await limiter.acquire()
    assert limiter.next_wait() == pytest.approx(3.0)


async def test_completed_after_expiry_counts_the_send_again(clock: FakeClock) -> None:
    limiter = make_limiter(clock, burst_limit=1, burst_window=5.0)
    stamp = await limiter.acquire()
    clock.advance(6.0)  # a slow response, longer than the window
    assert limiter.in_window == 0
    limiter.completed(stamp)
    assert limiter.in_window == 1
    assert limiter.next_wait() == pytest.approx(5.0)


async def test_completed_is_a_no_op_when_nothing_was_recorded(clock: FakeClock) -> None:
    limiter = make_limiter(clock, burst_limit=None)
    assert await limiter.acquire() is None
    limiter.completed(None)
    assert limiter.in_window == 0


async def test_a_send_held_in_a_slot_does_not_leave_the_window_before_its_response(clock: FakeClock) -> None:
    limiter = make_limiter(clock, burst_limit=1, burst_window=1.0)
    release = asyncio.Event()
    entered = asyncio.Event()

    async def slow_request() -> None:
        async with limiter.slot():
            entered.set()
            await release.wait()  # the response takes longer than the whole window

    task = asyncio.create_task(slow_request())
    await entered.wait()
    clock.advance(5.0)
    assert limiter.in_window == 1
    assert limiter.next_wait() > 0  # still held: the next send must wait
    release.set()
    await task
    # Completed now: re-stamped at completion, so it frees one window later.
    assert limiter.in_window == 1
    assert limiter.next_wait() == pytest.approx(1.0)
    clock.advance(1.0)
    assert limiter.next_wait() == 0.0


async def test_slot_releases_on_error_and_when_disabled(clock: FakeClock) -> None:
    limiter = make_limiter(clock, burst_limit=2, burst_window=1.0)
    with pytest.raises(RuntimeError):
        async with limiter.slot():
            raise RuntimeError("request failed")
    clock.advance(1.0)
    assert limiter.in_window == 0
    disabled = make_limiter(clock, enabled=False)
    async with disabled.slot():
        pass
    assert disabled.in_window == 0
