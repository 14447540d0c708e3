"""Bounded trust in rate-limit headers (issue 14, item 3).

One response with ``ratelimit-remaining: 0`` and a ``ratelimit-reset`` ten years ahead used to make
every later call raise ``RateLimitBudgetError`` for the client's lifetime, and a 429 with
``Retry-After: 1000000000`` (or an HTTP date in 2099) blocked every call for a day. Such values are
impossible (the hourly window slides, so nothing honest is more than an hour ahead): they count as
missing, the client falls back to backoff, and a WARNING says so once per client.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiohttp import web
from unit._clock import START, FakeClock

from docr_async import DOCRClient, RateLimiter, RateLimitInfo, RetryPolicy
from docr_async._ratelimit_headers import MAX_TRUSTED_WAIT

from ._servers import client_for, serve

TEN_YEARS = 10 * 365 * 86_400
REGISTRY = {"registry": {"name": "example"}}


def own(client: DOCRClient) -> RateLimiter:
    """The client's limiter, which these tests built (``DOCRClient.rate_limiter`` is any ``Limiter``)."""
    limiter = client.rate_limiter
    assert isinstance(limiter, RateLimiter)
    return limiter


def limiter_on(clock: FakeClock) -> RateLimiter:
    return RateLimiter(clock=clock.time, sleep=clock.sleep)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def script(*answers: tuple[int, dict[str, str]]) -> tuple[list[str], Handler]:
    """A handler giving ``answers`` in order (then 200s without headers); and the paths it saw."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(request.path)
        status, headers = answers[len(seen) - 1] if len(seen) <= len(answers) else (200, {})
        body = REGISTRY if status < 300 else {"id": "too_many_requests", "message": "slow down"}
        return web.json_response(body, status=status, headers=headers)

    return seen, handle


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


async def test_a_reset_ten_years_ahead_does_not_disable_the_client(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    bogus = {
        "ratelimit-limit": "5000",
        "ratelimit-remaining": "0",
        "ratelimit-reset": str(int(START) + TEN_YEARS),
    }
    seen, handle = script((200, bogus), (200, bogus), (200, bogus))
    async with serve(handle) as url, client_for(url, limiter=limiter_on(clock)) as client:
        for _ in range(6):
            assert (await client.registries.get("example")).name == "example"
        assert own(client).next_wait() == 0.0
    assert len(seen) == 6
    assert clock.sleeps == []  # nobody waited for the "reset"
    assert client.rate_limit == RateLimitInfo(limit=5000, remaining=0, reset_at=None)
    (warning,) = warnings_of(caplog)  # three bogus answers, one warning
    assert "ratelimit-reset" in warning
    assert "backoff" in warning


async def test_a_reset_within_the_hour_is_still_obeyed() -> None:
    clock = FakeClock()
    honest = {"ratelimit-limit": "5000", "ratelimit-remaining": "0", "ratelimit-reset": str(int(START) + 600)}
    seen, handle = script((200, honest))
    retry = RetryPolicy(max_attempts=1, deadline=None)  # the default 300 s deadline bounds budget waits
    async with serve(handle) as url, client_for(url, limiter=limiter_on(clock), retry=retry) as client:
        await client.registries.get("example")
        assert own(client).next_wait() == pytest.approx(600)
        await client.registries.get("example")  # waits for the reset, in virtual time
    assert clock.sleeps == [pytest.approx(600)]
    assert len(seen) == 2


@pytest.mark.parametrize(
    "retry_after",
    ["1000000000", "Fri, 31 Dec 2099 23:59:59 GMT", str(int(MAX_TRUSTED_WAIT) + 1)],
    ids=["a-billion-seconds", "http-date-2099", "just-over-an-hour"],
)
async def test_an_impossible_retry_after_falls_back_to_backoff(
    retry_after: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    retry = RetryPolicy(max_attempts=3, backoff_base=2.0, jitter=0)
    seen, handle = script((429, {"Retry-After": retry_after}), (429, {"Retry-After": retry_after}))
    async with serve(handle) as url, client_for(url, limiter=limiter_on(clock), retry=retry) as client:
        assert (await client.registries.get("example")).name == "example"
        assert own(client).paused_until is None
        assert (await client.registries.get("example")).name == "example"  # nothing blocks later calls
    assert len(seen) == 4
    assert clock.sleeps == [2.0, 4.0]  # the policy's backoff, not a day
    (warning,) = warnings_of(caplog)
    assert "Retry-After" in warning


async def test_an_honest_retry_after_is_obeyed() -> None:
    clock = FakeClock()
    seen, handle = script((429, {"Retry-After": "29"}))
    retry = RetryPolicy(max_attempts=2, backoff_base=2.0, jitter=0)
    async with serve(handle) as url, client_for(url, limiter=limiter_on(clock), retry=retry) as client:
        await client.registries.get("example")
    assert clock.sleeps == [29.0]
    assert len(seen) == 2


async def test_remaining_above_limit_is_bounded_by_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    lying = {
        "ratelimit-limit": "10",
        "ratelimit-remaining": "999999",
        "ratelimit-reset": str(int(START) + 60),
    }
    _, handle = script((200, lying))
    async with serve(handle) as url, client_for(url, limiter=limiter_on(clock)) as client:
        await client.registries.get("example")
        assert client.rate_limit is not None
        assert client.rate_limit.remaining == 10
        assert own(client).remaining == 10
    assert "exceeds ratelimit-limit" in warnings_of(caplog)[0]


async def test_the_warning_is_once_per_client(caplog: pytest.LogCaptureFixture) -> None:
    bogus = {"ratelimit-remaining": "0", "ratelimit-reset": str(int(START) + TEN_YEARS)}
    for _ in range(2):
        _, handle = script((200, bogus), (200, bogus))
        async with serve(handle) as url, client_for(url, limiter=limiter_on(FakeClock())) as client:
            await client.registries.get("example")
            await client.registries.get("example")
    assert len(warnings_of(caplog)) == 2


async def test_clear_pause_lifts_a_429_pause_and_an_exhausted_budget() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock)
    limiter.pause(600, reason="a 429")
    paused = limiter.paused_until
    assert paused == START + 600
    limiter.clear_pause()
    assert limiter.paused_until is None
    assert limiter.next_wait() == 0.0
    reset = datetime.fromtimestamp(START + 1800, tz=UTC)
    limiter.update(RateLimitInfo(limit=5000, remaining=0, reset_at=reset))
    assert limiter.next_wait() == pytest.approx(1800)
    limiter.clear_pause()
    assert limiter.next_wait() == 0.0
    assert limiter.remaining is None  # unknown until the next response says
    assert await limiter.acquire() is not None
    assert clock.sleeps == []


def test_trusted_keeps_honest_values_as_they_are() -> None:
    limiter = limiter_on(FakeClock())
    info = RateLimitInfo(limit=5000, remaining=4999, reset_at=datetime.fromtimestamp(START + 3599, tz=UTC))
    assert limiter.trusted(info) is info
    assert limiter.trusted(None) is None
    assert limiter.trusted_retry_after(29.0) == 29.0
    assert limiter.trusted_retry_after(None) is None
    assert limiter.trusted_retry_after(MAX_TRUSTED_WAIT) == MAX_TRUSTED_WAIT
    assert limiter.trusted_retry_after(MAX_TRUSTED_WAIT + 1) is None
