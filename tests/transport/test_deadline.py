"""Deadlines that hold (issue 14, item 4).

``RetryPolicy.deadline`` bounds the whole call: budget waits, backoff sleeps and the last attempt,
whose timeout shrinks to what is left. It is timed by the limiter's clock, so virtual time drives
it here; a held response (released by an ``asyncio.Event`` that is never set) shows the shrunk
attempt timeout without measuring any wall-clock duration.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from unit._clock import START, FakeClock

from docr_async import (
    APITimeoutError,
    RateLimitBudgetError,
    RateLimiter,
    RetryPolicy,
    ServerError,
    Timeout,
    TooManyRequestsError,
)

from ._servers import client_for, serve

HANG_GUARD = 60.0
"""Only so a regression fails instead of hanging; nothing here measures time."""


class Held:
    """A server: the first ``errors`` requests get 503, later ones are held until ``release``."""

    def __init__(self, errors: int = 1) -> None:
        self.errors = errors
        self.seen = 0
        self.release = asyncio.Event()
        self.held = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.seen += 1
        if self.seen <= self.errors:
            return web.json_response({"id": "unavailable", "message": "try later"}, status=503)
        self.held.set()
        await self.release.wait()
        return web.json_response({"registry": {"name": "example"}})


async def test_the_last_attempt_is_shrunk_to_what_is_left_of_the_deadline() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock.time, sleep=clock.sleep)
    # The backoff takes 9.9 of the 10 s: the second attempt may last 0.1 s, not the 600 s timeout.
    retry = RetryPolicy(max_attempts=5, backoff_base=9.9, jitter=0, deadline=10)
    server = Held(errors=1)
    async with serve(server.handle) as url:
        client = client_for(url, limiter=limiter, retry=retry, timeout=Timeout(total=600))
        async with client:
            with pytest.raises(APITimeoutError, match="retry deadline of 10s") as info:
                await asyncio.wait_for(client.registries.get("example"), HANG_GUARD)
        server.release.set()
    assert server.seen == 2
    assert server.held.is_set()  # the second attempt was sent, and cut short
    assert info.value.retries == 1
    assert clock.sleeps == [9.9]


async def test_backoff_that_would_pass_the_deadline_is_not_slept() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock.time, sleep=clock.sleep)
    retry = RetryPolicy(max_attempts=10, backoff_base=4, jitter=0, deadline=10)
    server = Held(errors=100)
    async with serve(server.handle) as url, client_for(url, limiter=limiter, retry=retry) as client:
        with pytest.raises(ServerError) as info:
            await client.registries.get("example")
    # t=0: 503, sleep 4; t=4: 503, and 4 + 8 passes the deadline of the limiter's clock: stop.
    assert clock.sleeps == [4.0]
    assert server.seen == 2
    assert info.value.retries == 1
    assert clock.now == START + 4


async def test_a_budget_wait_longer_than_the_deadline_sends_nothing() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock.time, sleep=clock.sleep, max_wait=900)
    limiter.pause(30, reason="a 429 seen by another task")
    server = Held(errors=0)
    retry = RetryPolicy(deadline=10)
    async with serve(server.handle) as url, client_for(url, limiter=limiter, retry=retry) as client:
        with pytest.raises(RateLimitBudgetError, match=r"retry deadline leaves 10\.0s") as info:
            await client.registries.get("example")
    assert info.value.retry_after == 30
    assert server.seen == 0
    assert clock.sleeps == []


async def test_a_budget_wait_within_max_wait_and_the_deadline_is_waited() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock.time, sleep=clock.sleep, max_wait=900)
    limiter.pause(5)
    server = Held(errors=0)
    server.release.set()
    retry = RetryPolicy(deadline=10)
    async with serve(server.handle) as url, client_for(url, limiter=limiter, retry=retry) as client:
        assert (await client.registries.get("example")).name == "example"
    assert clock.sleeps == [5.0]


async def test_max_wait_still_bounds_a_single_budget_wait_under_a_long_deadline() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock.time, sleep=clock.sleep)
    limiter.pause(30)
    server = Held(errors=0)
    async with serve(server.handle) as url:
        client = client_for(url, limiter=limiter, retry=RetryPolicy(deadline=3600), max_wait=20)
        async with client:
            with pytest.raises(RateLimitBudgetError, match="max_wait=20s"):
                await client.registries.get("example")
    assert server.seen == 0


async def test_a_429_pause_past_the_deadline_surfaces_the_429() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock.time, sleep=clock.sleep)
    seen = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal seen
        seen += 1
        return web.json_response(
            {"id": "too_many_requests", "message": "slow"}, status=429, headers={"Retry-After": "8"}
        )

    retry = RetryPolicy(max_attempts=5, deadline=10)
    async with serve(handle) as url, client_for(url, limiter=limiter, retry=retry) as client:
        with pytest.raises(TooManyRequestsError) as info:
            await client.registries.get("example")
    # t=0: 429, pause 8 (fits); t=8: 429, another 8 would end at 16 > 10: raised.
    assert seen == 2
    assert clock.sleeps == [8.0]
    assert info.value.retries == 1
