"""RedisRateLimiter against a real redis-server and FakeDOCR: one shared window for many processes."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
import redis.asyncio as aioredis
from aiohttp import web

from docr_async import DOCRClient
from docr_async.exceptions import RateLimitBudgetError
from docr_async.redis import RedisRateLimiter, RedisUnavailableError
from docr_async.testing import FakeDOCR, RateLimitConfig

if TYPE_CHECKING:
    from .conftest import RedisServer

REGISTRY_BODY = {
    "name": "example",
    "created_at": "2024-01-01T00:00:00Z",
    "region": "fra1",
    "storage_usage_bytes": 0,
    "storage_usage_bytes_updated_at": "2024-01-01T00:00:00Z",
    "subscription": None,
}
WORKER = Path(__file__).with_name("_worker.py")
ROOT = Path(__file__).resolve().parents[2]


def max_per_window(times: list[float], window: float) -> int:
    """The most arrivals in any half-open window (t - window, t], as the fake's limiter counts."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_processes_share_one_window_never_more_than_the_limit(redis_server: RedisServer) -> None:
    limit, window, processes, each = 20, 1.0, 3, 30
    rate_limits = RateLimitConfig(burst_limit=limit, burst_window=window)
    async with FakeDOCR(rate_limits=rate_limits) as fake:
        fake.clear_requests()
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER),
                fake.url,
                fake.token,
                redis_server.url,
                str(each),
                str(limit),
                str(window),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=ROOT,
            )
            for _ in range(processes)
        ]
        outputs = [await asyncio.wait_for(p.communicate(), timeout=120) for p in procs]
        for proc, (out, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err.decode()[-2000:]
            assert json.loads(out.decode().splitlines()[-1])["fallback"] is False
        arrivals = [r for r in fake.requests if r.path.startswith("/v2/")]
    assert len(arrivals) == processes * each  # no request was wasted on a 429
    assert [r.status for r in arrivals] == [200] * len(arrivals)
    # The fake's own count of arrivals per sliding window never exceeds the limit.
    assert max_per_window([r.timestamp for r in arrivals], window) <= limit


async def test_keys_hold_a_hash_of_the_token_never_the_token(redis_server: RedisServer) -> None:
    limiter = RedisRateLimiter.from_url(redis_server.url, burst_limit=5, burst_window=1.0)
    async with (
        FakeDOCR() as fake,
        limiter,
        DOCRClient(fake.token, base_url=fake.url, rate_limiter=limiter) as client,
    ):
        await client.tags.list("api", registry="example", per_page=5)
        limiter.wait_for_429(30.0, None)
        await limiter._flush()
        raw = aioredis.Redis.from_url(redis_server.url)
        try:
            keys = [k.decode() if isinstance(k, bytes) else k for k in await raw.keys("*")]
            dump = " ".join(keys) + " ".join([repr(await raw.dump(k)) for k in keys])
        finally:
            await raw.aclose()
    assert limiter.keys is not None
    assert sorted(keys) == sorted(limiter.keys)
    assert fake.token not in dump


async def test_one_429_pauses_every_process(redis_server: RedisServer) -> None:
    first = RedisRateLimiter.from_url(redis_server.url, burst_limit=5, burst_window=1.0)
    other = RedisRateLimiter.from_url(redis_server.url, burst_limit=5, burst_window=1.0)
    async with first, other:
        first.bind_token("shared-token")
        other.bind_token("shared-token")
        assert await first.on_429(30.0, None, default=1.0) >= 29.0
        with pytest.raises(RateLimitBudgetError, match="paused after a 429"):
            async with other.slot(max_wait=5.0):
                pass
        await other.clear_pause()
        async with first.slot(max_wait=5.0):
            pass
        assert first.in_window == 0  # the place was taken in Redis, not locally


async def test_redis_killed_mid_run_falls_back_without_failing(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="docr_async.ratelimit")
    limiter = RedisRateLimiter.from_url(
        redis_server.url, burst_limit=100, burst_window=1.0, socket_timeout=1.0
    )
    done = 0
    async with (
        FakeDOCR() as fake,
        limiter,
        DOCRClient(fake.token, base_url=fake.url, rate_limiter=limiter) as client,
    ):
        todo = iter(range(80))

        async def task() -> None:
            nonlocal done
            for _ in todo:
                await client.tags.list("api", registry="example", per_page=5)
                done += 1
                if done == 20:
                    redis_server.stop()  # while the other tasks hold places in the shared window

        await asyncio.gather(*(task() for _ in range(8)))
    assert done == 80
    assert limiter.using_fallback
    assert "Redis is unreachable" in caplog.text
    assert fake.stats(fake.token).throttled == 0


async def test_on_error_raise_fails_instead_of_falling_back(redis_server: RedisServer) -> None:
    limiter = RedisRateLimiter.from_url(redis_server.url, on_error="raise", socket_timeout=1.0)
    redis_server.stop()
    async with (
        FakeDOCR() as fake,
        limiter,
        DOCRClient(fake.token, base_url=fake.url, rate_limiter=limiter) as client,
    ):
        with pytest.raises(RedisUnavailableError, match="unreachable"):
            await client.tags.list("api", registry="example", per_page=5)
        assert [r for r in fake.requests if r.path.startswith("/v2/")] == []  # nothing sent


def test_one_limiter_serves_one_token() -> None:
    limiter = RedisRateLimiter(aioredis.Redis(), burst_limit=5)
    limiter.bind_token("a")
    with pytest.raises(ValueError, match="another token"):
        limiter.bind_token("b")
    with pytest.raises(ValueError, match="on_error"):
        RedisRateLimiter(aioredis.Redis(), on_error="ignore")  # type: ignore[arg-type]


async def test_a_request_costs_one_redis_round_trip(redis_server: RedisServer) -> None:
    # Re-stamping a completed send and publishing the budget ride on the next acquire: no
    # round trip of their own (before: acquire + release + budget, three per request).
    limiter = RedisRateLimiter.from_url(redis_server.url, burst_limit=50, burst_window=5.0)
    raw = aioredis.Redis.from_url(redis_server.url)
    try:
        async with FakeDOCR() as fake:
            async with limiter, DOCRClient(fake.token, base_url=fake.url, rate_limiter=limiter) as client:
                await client.tags.list("api", registry="example", per_page=5)  # loads the script
                await raw.config_resetstat()
                for _ in range(10):
                    await client.tags.list("api", registry="example", per_page=5)
            # closed: the last send's re-stamp went out in one final call
            stats = await raw.info("commandstats")
            assert limiter.keys is not None
            window = cast(
                "list[tuple[bytes, float]]", await raw.zrange(limiter.keys[0], 0, -1, withscores=True)
            )
            budget = await raw.hgetall(limiter.keys[2])
            seconds, micros = await raw.time()
    finally:
        await raw.aclose()
    calls = {name.removeprefix("cmdstat_"): v["calls"] for name, v in stats.items()}
    assert calls.get("evalsha") == 11  # (commands run inside the script are counted apart)
    assert len(window) == 11
    now_ms = seconds * 1000 + micros // 1000
    assert all(score <= now_ms for _, score in window)  # every place re-stamped at its completion
    assert limiter.latest is not None
    assert int(budget[b"remaining"]) == limiter.latest.remaining  # the last response's budget, published


async def test_a_send_holds_its_place_until_its_response_is_back(redis_server: RedisServer) -> None:
    arrived, answer = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        arrived.set()
        await answer.wait()
        return web.json_response({"registry": REGISTRY_BODY})

    app = web.Application()
    app.router.add_get("/v2/registries/example", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    limiter = RedisRateLimiter.from_url(redis_server.url, burst_limit=5, burst_window=1.0, hold_timeout=60.0)
    raw = aioredis.Redis.from_url(redis_server.url)

    async def redis_now() -> int:
        seconds, micros = await raw.time()
        return int(seconds * 1000 + micros // 1000)

    try:
        async with (
            limiter,
            DOCRClient("t0ken", base_url=f"http://127.0.0.1:{port}", rate_limiter=limiter) as c,
        ):
            call = asyncio.create_task(c.registries.get("example"))
            await arrived.wait()
            assert limiter.keys is not None
            [(_, held)] = cast(
                "list[tuple[bytes, float]]", await raw.zrange(limiter.keys[0], 0, -1, withscores=True)
            )
            before = await redis_now()
            assert held > before + 50_000  # in flight: held (hold_timeout) far beyond its window
            answer.set()
            await call
            after = await redis_now()
        [(_, stamped)] = cast(
            "list[tuple[bytes, float]]", await raw.zrange(limiter.keys[0], 0, -1, withscores=True)
        )
    finally:
        await raw.aclose()
        await runner.cleanup()
    assert before <= stamped <= after  # re-stamped at its completion time, on Redis's clock


async def test_completions_pending_when_redis_dies_never_break_the_caller(redis_server: RedisServer) -> None:
    # A completed send's re-stamp waits for the next Redis call; when Redis is gone by then, the
    # background call swallows the failure, the next request raises (on_error="raise"), and
    # closing the limiter still works.
    limiter = RedisRateLimiter.from_url(redis_server.url, on_error="raise", socket_timeout=1.0)
    async with FakeDOCR() as fake:
        async with DOCRClient(fake.token, base_url=fake.url, rate_limiter=limiter) as client:
            await client.tags.list("api", registry="example", per_page=5)
            redis_server.stop()
            with pytest.raises(RedisUnavailableError, match="unreachable"):
                await client.tags.list("api", registry="example", per_page=5)
        await limiter.aclose()
        assert len([r for r in fake.requests if r.path.startswith("/v2/")]) == 1
