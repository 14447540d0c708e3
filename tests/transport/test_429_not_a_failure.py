"""A 429 is an instruction to wait, not a failed attempt (issue 16, item 5).

A request that met a few burst 429s plus one 5xx or dropped connection used to exhaust its
``max_attempts`` and fail. Waiting for budget is now bounded by ``max_wait``, the deadline and a
separate generous ``RetryPolicy.max_429s``; ``max_attempts`` counts real failures only. A hostile
server on 127.0.0.1 scripts the answers; time is virtual.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from unit._clock import FakeClock

from docr_async import (
    Clock,
    Limiter,
    RateLimitBudgetError,
    RateLimiter,
    RateLimitInfo,
    RetryPolicy,
    ServerError,
    TooManyRequestsError,
)

from ._servers import client_for, serve

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REGISTRY = {"registry": {"name": "example"}}
DROP = 0
"""A scripted answer: close the connection without replying."""
POLICY = RetryPolicy(max_attempts=3, backoff_base=1.0, jitter=0.0)


def script(*answers: int, retry_after: str = "2") -> tuple[list[str], Handler]:
    """A handler giving ``answers`` in order (then 200s); a 429 carries ``Retry-After``."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(request.method)
        status = answers[len(seen) - 1] if len(seen) <= len(answers) else 200
        if status == DROP:
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if status == 200:
            return web.json_response(REGISTRY)
        headers = {"Retry-After": retry_after} if status == 429 else {}
        return web.json_response({"id": "err", "message": "no"}, status=status, headers=headers)

    return seen, handle


def limiter_on(clock: FakeClock) -> RateLimiter:
    # Not adaptive: these tests are about how many 429s a request waits out, not about the burst
    # limit the limiter learns from them (tests/unit/test_adaptive.py covers that).
    return RateLimiter(clock=clock.time, sleep=clock.sleep, adaptive=False)


async def test_several_429s_plus_a_5xx_and_a_dropped_connection_still_succeed() -> None:
    clock = FakeClock()
    seen, handle = script(429, 429, 503, 429, DROP, 429, 429)
    async with serve(handle) as url, client_for(url, limiter=limiter_on(clock), retry=POLICY) as client:
        registry = await client.registries.get("example")
        stats = client.stats
    assert registry.name == "example"
    assert len(seen) == 8  # 5 waits for budget and 2 real failures, within max_attempts=3
    assert (stats.rate_limited, stats.server_errors, stats.connection_errors) == (5, 1, 1)
    assert (stats.attempts, stats.retries) == (8, 7)
    # every 429 paused for its Retry-After; the real failures backed off 1 s, then 2 s
    assert clock.sleeps == [2.0, 2.0, 1.0, 2.0, 2.0, 2.0, 2.0]


async def test_a_delete_survives_429s_and_a_5xx() -> None:
    clock = FakeClock()
    seen, handle = script(429, 500, 429, 429, 429)
    async with serve(handle) as url, client_for(url, limiter=limiter_on(clock), retry=POLICY) as client:
        await client.registries.get("example")
    assert seen == ["GET"] * 6


async def test_real_failures_still_count_against_max_attempts_between_429s() -> None:
    clock = FakeClock()
    seen, handle = script(503, 429, 503, 429, 503, 429)
    async with serve(handle) as url, client_for(url, limiter=limiter_on(clock), retry=POLICY) as client:
        with pytest.raises(ServerError) as caught:
            await client.registries.get("example")
    assert len(seen) == 5  # the third 503 is the third real failure of max_attempts=3
    assert caught.value.status == 503
    assert caught.value.retries == 4


async def test_max_429s_caps_the_waits_of_one_request() -> None:
    clock = FakeClock()
    seen, handle = script(*([429] * 10))
    retry = POLICY.with_(max_429s=3)
    async with serve(handle) as url, client_for(url, limiter=limiter_on(clock), retry=retry) as client:
        with pytest.raises(TooManyRequestsError) as caught:
            await client.registries.get("example")
    assert len(seen) == 4  # three 429s waited out, the fourth raised
    assert caught.value.retry_after == 2.0
    assert caught.value.retries == 3


async def test_the_default_cap_is_generous_but_finite() -> None:
    clock = FakeClock()
    seen, handle = script(*([429] * 60), retry_after="1")
    async with serve(handle) as url, client_for(url, limiter=limiter_on(clock), retry=POLICY) as client:
        with pytest.raises(TooManyRequestsError):
            await client.registries.get("example")
    assert len(seen) == RetryPolicy().max_429s + 1


async def test_max_wait_still_bounds_a_wait_for_budget() -> None:
    clock = FakeClock()
    seen, handle = script(429, 429, retry_after="60")
    async with (
        serve(handle) as url,
        client_for(url, limiter=limiter_on(clock), retry=POLICY, max_wait=30.0) as client,
    ):
        with pytest.raises(RateLimitBudgetError) as caught:
            await client.registries.get("example")
    assert len(seen) == 1  # the pause of 60 s exceeds max_wait: nothing more is sent
    assert caught.value.retry_after == pytest.approx(60.0)
    assert caught.value.max_wait == 30.0
    assert clock.sleeps == []


async def test_the_deadline_still_bounds_a_wait_for_budget() -> None:
    clock = FakeClock()
    seen, handle = script(429, 429, 429, retry_after="40")
    retry = POLICY.with_(deadline=100.0)
    async with serve(handle) as url, client_for(url, limiter=limiter_on(clock), retry=retry) as client:
        with pytest.raises(TooManyRequestsError) as caught:
            await client.registries.get("example")
    assert len(seen) == 3  # waits at 0 and 40 fit; a third pause would end at 120 > 100
    assert caught.value.retry_after == 40.0
    assert clock.sleeps == [40.0, 40.0]


class RecordingLimiter:
    """A Limiter that is not a RateLimiter: records what the transport tells it, in order."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = Clock(clock.time, sleep=clock.sleep)
        self.latest: RateLimitInfo | None = None
        self.calls: list[tuple[Any, ...]] = []
        self.pause = 0.0

    @contextlib.asynccontextmanager
    async def slot(self, *, max_wait: float | None, deadline: float | None) -> AsyncIterator[None]:
        wait = self.pause - self.clock.time()
        self.calls.append(("slot", max_wait, deadline is not None, round(max(wait, 0.0), 3)))
        if wait > 0:
            await self.clock.sleep(wait)
        yield
        self.calls.append(("released",))

    async def observe(self, info: RateLimitInfo | None) -> RateLimitInfo | None:
        self.calls.append(("observe", None if info is None else info.remaining))
        self.latest = info
        return info

    async def on_429(self, retry_after: float | None, info: RateLimitInfo | None, *, default: float) -> float:
        self.calls.append(("on_429", retry_after, default))
        self.pause = self.clock.time() + (retry_after if retry_after is not None else default)
        return retry_after if retry_after is not None else default

    async def clear_pause(self) -> None:
        self.pause = 0.0


async def test_any_limiter_drives_the_client() -> None:
    clock = FakeClock()
    limiter: Limiter = RecordingLimiter(clock)
    seen, handle = script(429, retry_after="3")
    async with serve(handle) as url, client_for(url, limiter=limiter, retry=POLICY, max_wait=60.0) as client:
        assert client.rate_limiter is limiter
        assert (await client.registries.get("example")).name == "example"
    assert len(seen) == 2
    assert isinstance(limiter, RecordingLimiter)
    assert limiter.calls == [
        ("slot", 60.0, True, 0.0),
        ("released",),
        ("observe", None),
        ("on_429", 3.0, 1.0),
        ("slot", 60.0, True, 3.0),  # the second attempt waited out the pause in the slot
        ("released",),
        ("observe", None),
    ]
    assert clock.sleeps == [3.0]
