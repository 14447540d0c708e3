"""Per-token sliding-window rate limits with compressed windows on a manual clock."""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING

from docr_async._ratelimit_headers import parse_retry_after
from docr_async.testing import FakeDOCR, ManualClock, RateLimitConfig, SeedSpec
from docr_async.testing._limiter import format_retry_after

from .conftest import Api

if TYPE_CHECKING:
    import aiohttp

SMALL = SeedSpec(repos=2, tags=6, untagged=1)


async def test_burst_limit_429_with_retry_after(http: aiohttp.ClientSession, clock: ManualClock) -> None:
    limits = RateLimitConfig(hourly_limit=100, hourly_window=3600, burst_limit=5, burst_window=2)
    async with FakeDOCR(clock=clock, rate_limits=limits, seed_spec=SMALL) as fake:
        api = Api(http, fake)
        start = clock.now
        for i in range(5):
            res = await api.get("/v2/registries")
            assert res.status == 200
            assert res.header_int("ratelimit-limit") == 100
            assert res.header_int("ratelimit-remaining") == 99 - i
            assert res.header_int("ratelimit-reset") == math.ceil(start + 3600)
        res = await api.get("/v2/registries")
        assert res.status == 429
        assert res.json == {
            "id": "too_many_requests",
            "message": "API rate limit exceeded.",
            "request_id": res.headers["x-request-id"],
        }
        assert res.headers["Retry-After"] == "2"
        assert res.header_int("ratelimit-remaining") == 0
        clock.advance(1.5)
        res = await api.get("/v2/registries")
        assert res.status == 429
        assert res.headers["Retry-After"] == "1"  # 0.5 s rounded up
        clock.advance(0.5)
        res = await api.get("/v2/registries")
        assert res.status == 200
        # The two refused requests consumed nothing: 5 + 1 counted.
        assert res.header_int("ratelimit-remaining") == 94
        assert fake.stats().requests == 8
        assert fake.stats().throttled == 2
        assert [r.status for r in fake.requests] == [200] * 5 + [429, 429, 200]


async def test_hourly_limit_429_without_retry_after(http: aiohttp.ClientSession, clock: ManualClock) -> None:
    limits = RateLimitConfig(hourly_limit=3, hourly_window=10, burst_limit=100, burst_window=5)
    async with FakeDOCR(clock=clock, rate_limits=limits, seed_spec=SMALL) as fake:
        api = Api(http, fake)
        t0 = clock.now
        for offset in (0, 4, 8):
            clock.set(t0 + offset)
            assert (await api.get("/v2/registries")).status == 200
        clock.set(t0 + 9)
        res = await api.get("/v2/registries")
        assert res.status == 429
        assert "Retry-After" not in res.headers
        assert res.header_int("ratelimit-remaining") == 0
        assert res.header_int("ratelimit-reset") == math.ceil(t0 + 10)  # the oldest request expires
        clock.set(t0 + 10)
        res = await api.get("/v2/registries")
        assert res.status == 200
        assert res.header_int("ratelimit-remaining") == 0
        assert res.header_int("ratelimit-reset") == math.ceil(t0 + 14)  # slides, never a whole window
        assert fake.stats().throttled == 1


async def test_headers_on_every_kind_of_response(http: aiohttp.ClientSession, clock: ManualClock) -> None:
    limits = RateLimitConfig(hourly_limit=50, hourly_window=60, burst_limit=50, burst_window=60)
    async with FakeDOCR(clock=clock, rate_limits=limits, seed_spec=SMALL) as fake:
        api = Api(http, fake)
        responses = [
            await api.post("/v2/registries/validate-name", json_body={"name": "free"}),  # 204
            await api.get("/v2/registries", token=None),  # 401
            await api.get("/v2/registries/nope"),  # 404
            await api.get("/v2/registries/example/repositoriesV2?page_token=@@"),  # 400
            await api.get("/v2/nothing"),  # unknown route
        ]
        assert [r.status for r in responses] == [204, 401, 404, 400, 404]
        for res in responses:
            for name in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"):
                assert res.header_int(name) >= 0, name
            assert res.headers["x-request-id"]
        assert responses[0].header_int("ratelimit-remaining") == 49
        assert responses[1].header_int("ratelimit-remaining") == 49  # the 401 counts in its own bucket
        assert responses[2].header_int("ratelimit-remaining") == 48


async def test_budgets_are_per_token(http: aiohttp.ClientSession, clock: ManualClock) -> None:
    limits = RateLimitConfig(hourly_limit=2, hourly_window=100, burst_limit=10, burst_window=10)
    async with FakeDOCR(clock=clock, rate_limits=limits, seed_spec=SMALL) as fake:
        api = Api(http, fake)
        other = fake.add_token()
        assert other.startswith("dop_v1_")
        assert other != fake.token
        assert len(other) == len("dop_v1_") + 64
        for _ in range(2):
            assert (await api.get("/v2/registries")).status == 200
        assert (await api.get("/v2/registries")).status == 429
        assert (await api.get("/v2/registries", token=other)).status == 200
        assert fake.stats(other).requests == 1
        assert fake.stats(other).throttled == 0
        assert fake.stats().throttled == 1
        summary = fake.summary()
        assert summary["throttled_served"] == 1
        assert summary["requests_served"] == 4

        fake.reset_rate_limits()
        assert (await api.get("/v2/registries")).status == 200
        fake.rate_limits = RateLimitConfig(enabled=False, hourly_limit=1)
        for _ in range(3):
            res = await api.get("/v2/registries")
            assert res.status == 200
            assert res.header_int("ratelimit-remaining") == 0


async def test_retry_after_is_at_least_one_second(http: aiohttp.ClientSession, clock: ManualClock) -> None:
    limits = RateLimitConfig(hourly_limit=100, burst_limit=1, burst_window=0.2)
    async with FakeDOCR(clock=clock, rate_limits=limits, seed_spec=SMALL) as fake:
        api = Api(http, fake)
        assert (await api.get("/v2/registries")).status == 200
        res = await api.get("/v2/registries")
        assert res.status == 429
        assert res.headers["Retry-After"] == "1"
        clock.advance(0.2)
        assert (await api.get("/v2/registries")).status == 200


async def test_default_limits(fake_docr: FakeDOCR, http: aiohttp.ClientSession) -> None:
    assert fake_docr.rate_limits == RateLimitConfig(5000, 3600.0, 250, 60.0)
    res = await Api(http, fake_docr).get("/v2/registries")
    assert res.header_int("ratelimit-limit") == 5000
    assert res.header_int("ratelimit-remaining") == 4999


async def test_concurrent_requests_are_counted_exactly(
    http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    limits = RateLimitConfig(hourly_limit=1000, burst_limit=25, burst_window=60)
    async with FakeDOCR(clock=clock, rate_limits=limits, seed_spec=SMALL) as fake:
        api = Api(http, fake)
        results = await asyncio.gather(*(api.get("/v2/registries/example/repositoriesV2") for _ in range(40)))
        statuses = sorted(r.status for r in results)
        assert statuses == [200] * 25 + [429] * 15
        assert all(r.headers["Retry-After"] == "60" for r in results if r.status == 429)
        assert fake.stats().throttled == 15
        assert fake.summary()["throttled_served"] == 15


async def test_retry_after_unit_keeps_the_real_proportion_on_a_compressed_window(
    http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    # a 2 s window with 1/30 s units: DigitalOcean's whole seconds on 60 s, scaled down
    limits = RateLimitConfig(hourly_limit=100, burst_limit=2, burst_window=2.0, retry_after_unit=2.0 / 60)
    async with FakeDOCR(clock=clock, rate_limits=limits, seed_spec=SMALL) as fake:
        api = Api(http, fake)
        assert (await api.get("/v2/registries")).status == 200
        clock.advance(1.5)
        assert (await api.get("/v2/registries")).status == 200
        res = await api.get("/v2/registries")
        assert res.status == 429
        assert res.headers["Retry-After"] == "0.5"  # the oldest send expires in 0.5 s: 15 units
        clock.advance(0.01)
        res = await api.get("/v2/registries")
        assert res.headers["Retry-After"] == "0.5"  # 0.49 s rounded up to whole units
        assert parse_retry_after(res.headers["Retry-After"], now=0.0) == 0.5
        clock.advance(0.49)
        assert (await api.get("/v2/registries")).status == 200
        clock.advance(1.5 - 0.001)
        res = await api.get("/v2/registries")
        assert res.headers["Retry-After"] == "0.033"  # at least one unit, written to milliseconds
        assert parse_retry_after(res.headers["Retry-After"], now=0.0) == 0.033


def test_format_retry_after_writes_whole_seconds_as_integers() -> None:
    assert format_retry_after(2.0) == "2"
    assert format_retry_after(0.25) == "0.25"
    assert format_retry_after(1 / 3) == "0.333"
