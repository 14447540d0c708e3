"""Rate limiting and retries end to end, against FakeDOCR with compressed windows."""

from __future__ import annotations

import asyncio

import pytest

from docr_async import (
    NO_RETRY,
    DOCRClient,
    RateLimitBudgetError,
    RateLimiter,
    RetryPolicy,
    ServerError,
    TooManyRequestsError,
)
from docr_async.testing import FaultConfig, RateLimitConfig, SeedSpec

from .helpers import FAST_RETRY, client_for, running_fake

SEED = SeedSpec(registries=1, repos=3, tags=60, untagged=0)


async def test_200_concurrent_calls_under_a_compressed_burst_limit_get_zero_429s() -> None:
    limits = RateLimitConfig(burst_limit=20, burst_window=0.25, hourly_limit=100_000)
    async with running_fake(seed_spec=SEED, rate_limits=limits) as fake:
        waits: list[float] = []

        async def recording_sleep(seconds: float) -> None:
            waits.append(seconds)
            await asyncio.sleep(seconds)

        limiter = RateLimiter(burst_limit=20, burst_window=0.25, sleep=recording_sleep)
        async with client_for(fake, rate_limiter=limiter, retry=NO_RETRY) as client:
            results = await asyncio.gather(*(client.registries.get("example") for _ in range(200)))
        assert all(r.name == "example" for r in results)
        assert len(fake.requests) == 200
        # The fake enforces 20 per 0.25 s window itself: with no retries, zero 429s means every
        # request was paced. The limiter really waited for the window (no wall-clock measure).
        assert fake.stats().throttled == 0
        assert client.stats.rate_limited == 0
        assert waits
        assert all(0 < w <= 0.25 for w in waits)


async def test_a_429_pauses_every_task_and_each_request_then_succeeds() -> None:
    async with running_fake(seed_spec=SEED) as fake:
        fake.set_faults(FaultConfig(spurious_429_rate=1.0, retry_after=1, seed=3))
        limiter = RateLimiter()
        # For each response after the 429: was the client's limiter paused when it reached the
        # fake? (Read from the limiter's own state, not from timestamps.)
        paused_after_429: list[bool] = []

        def stop_after_first_429(request: object, response: object, body: bytes) -> None:
            if getattr(response, "status", None) == 429 and not paused_after_429:
                paused_after_429.append(False)  # the 429 itself, before the client saw it
                fake.set_faults(FaultConfig())
            elif paused_after_429:
                paused_after_429.append(limiter.paused_until is not None)

        fake.response_hooks.append(stop_after_first_429)
        in_flight = 4
        async with client_for(
            fake, rate_limiter=limiter, retry=RetryPolicy(), max_concurrency=in_flight
        ) as client:
            results = await asyncio.gather(*(client.registries.get("example") for _ in range(30)))
        assert len(results) == 30
        assert client.stats.rate_limited == 1
        assert paused_after_429
        # After the 429 (Retry-After: 1) only requests already in flight may still arrive; every
        # other task, not only the one that got the 429, waits until the pause is over.
        during_pause = paused_after_429[1:].count(True)
        after_pause = paused_after_429[1:].count(False)
        assert during_pause <= in_flight - 1
        assert after_pause >= 30 - in_flight


async def test_exhausted_hourly_budget_raises_at_once_without_sending() -> None:
    limits = RateLimitConfig(hourly_limit=5, hourly_window=3600, burst_limit=1000)
    sleeps: list[float] = []

    async def recording_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(seconds)

    async with (
        running_fake(seed_spec=SEED, rate_limits=limits) as fake,
        client_for(fake, rate_limiter=RateLimiter(sleep=recording_sleep), max_wait=30.0) as client,
    ):
        for _ in range(5):
            await client.registries.get("example")
        assert client.rate_limit is not None
        assert client.rate_limit.remaining == 0
        sent = len(fake.requests)
        with pytest.raises(RateLimitBudgetError) as info:
            await client.registries.get("example")
        assert sleeps == []  # refused at once: no waiting at all
        assert info.value.reset_at is not None
        assert info.value.retry_after is not None
        assert info.value.retry_after > 30
        assert len(fake.requests) == sent


async def test_hourly_429_from_the_server_is_surfaced_with_reset_when_too_long_to_wait() -> None:
    limits = RateLimitConfig(hourly_limit=2, hourly_window=3600, burst_limit=1000)
    async with running_fake(seed_spec=SEED, rate_limits=limits) as fake:
        # The limiter is off, so the client does not know better: the server refuses the third.
        async with client_for(fake, retry=RetryPolicy(max_retry_after=5)) as client:
            await client.registries.get("example")
            await client.registries.get("example")
            with pytest.raises(TooManyRequestsError) as info:
                await client.registries.get("example")
        error = info.value
        assert error.status == 429
        assert error.error_id == "too_many_requests"
        assert error.rate_limit is not None
        assert error.rate_limit.remaining == 0
        assert error.reset_at is not None


async def test_20_percent_503s_on_gets_are_absorbed() -> None:
    async with running_fake(seed_spec=SeedSpec(registries=1, repos=1, tags=400, untagged=0)) as fake:
        repo = fake.state.registry("example").sorted_repository_names()[0]
        expected = len(fake.state.registry("example").repository(repo).tags)
        fake.set_faults(FaultConfig(error_rate=0.2, error_statuses=(503,), methods=("GET",), seed=7))
        async with client_for(fake, retry=FAST_RETRY) as client:
            tags = await client.tags.list(repo, registry="example", per_page=5).collect()
        assert len({t.tag for t in tags}) == expected == len(tags)
        assert client.stats.server_errors > 0
        assert client.stats.retries >= client.stats.server_errors


async def test_posts_are_not_retried_on_503() -> None:
    async with running_fake(seed_spec=SEED) as fake:
        fake.set_faults(FaultConfig(error_rate=1.0, error_statuses=(503,), methods=("POST",), seed=1))
        async with client_for(fake, retry=FAST_RETRY) as client:
            with pytest.raises(ServerError) as info:
                await client.garbage_collections.start("example")
        assert info.value.retries == 0
        assert sum(1 for r in fake.requests if r.method == "POST") == 1


async def test_with_options_shares_the_limiter_and_budget() -> None:
    limits = RateLimitConfig(hourly_limit=3, hourly_window=3600, burst_limit=1000)
    async with (
        running_fake(seed_spec=SEED, rate_limits=limits) as fake,
        client_for(fake, rate_limiter=RateLimiter()) as client,
    ):
        copy: DOCRClient = client.with_options(max_wait=0)
        await client.registries.get("example")
        await copy.registries.get("example")
        await client.registries.get("example")
        assert copy.rate_limiter is client.rate_limiter
        with pytest.raises(RateLimitBudgetError):
            await copy.registries.get("example")
