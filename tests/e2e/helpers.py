"""Helpers for tests that cross the HTTP stack against FakeDOCR on 127.0.0.1."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from docr_async import DOCRClient, RateLimiter, RetryPolicy
from docr_async.testing import FakeDOCR, GCConfig, RateLimitConfig, SeedSpec

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


UNLIMITED = RateLimitConfig(hourly_limit=10**9, burst_limit=10**9)
FAST_RETRY = RetryPolicy(backoff_base=0.001, backoff_max=0.01, max_attempts=8, deadline=30.0)
FAST_GC = GCConfig(step_seconds=0.02)


@asynccontextmanager
async def running_fake(
    *,
    seed: int = 0,
    seed_spec: SeedSpec | None = None,
    rate_limits: RateLimitConfig = UNLIMITED,
    **kwargs: Any,
) -> AsyncIterator[FakeDOCR]:
    """A FakeDOCR on a free loopback port (unlimited rate by default)."""
    async with FakeDOCR(seed=seed, seed_spec=seed_spec, rate_limits=rate_limits, **kwargs) as fake:
        yield fake


def client_for(fake: FakeDOCR, **kwargs: Any) -> DOCRClient:
    """A client pointed at the fake (limiter off and fast retries unless overridden)."""
    kwargs.setdefault("rate_limiter", RateLimiter(enabled=False))
    kwargs.setdefault("retry", FAST_RETRY)
    return DOCRClient(fake.token, base_url=fake.url, **kwargs)


def other_tasks() -> set[asyncio.Task[Any]]:
    """Client-side tasks other than the current one (to prove the SDK leaves nothing running).

    The fake's own per-connection server handlers run in the same loop and end on their own
    schedule after the client closes its connections; they are not the SDK's.
    """
    return {
        t
        for t in asyncio.all_tasks()
        if t is not asyncio.current_task() and "RequestHandler" not in t.get_coro().__qualname__  # type: ignore[union-attr]
    }
