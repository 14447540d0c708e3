"""The fake's server-side rate limiter: per-token sliding windows (hourly budget and burst) and the
``ratelimit-*`` headers DigitalOcean sends."""

from __future__ import annotations

import collections
import math
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from ._configs import RateLimitConfig

__all__ = ["ServerRateLimiter", "format_retry_after"]


@attrs.define
class _Bucket:
    hourly: collections.deque[float] = attrs.field(factory=collections.deque)
    burst: collections.deque[float] = attrs.field(factory=collections.deque)


def format_retry_after(seconds: float) -> str:
    """Write a ``Retry-After`` value: whole seconds as an integer, else up to milliseconds."""
    if float(seconds).is_integer():
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


class ServerRateLimiter:
    """Counts requests per key (a token) in sliding windows and decides whether to refuse one."""

    def __init__(self, config: RateLimitConfig) -> None:
        self.config = config
        self._buckets: dict[str, _Bucket] = collections.defaultdict(_Bucket)

    def _prune(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets[key]
        cfg = self.config
        while bucket.hourly and bucket.hourly[0] + cfg.hourly_window <= now:
            bucket.hourly.popleft()
        while bucket.burst and bucket.burst[0] + cfg.burst_window <= now:
            bucket.burst.popleft()
        return bucket

    def check(self, key: str, now: float) -> tuple[str | None, float | None]:
        """``(None, None)`` if allowed, ``("hourly", None)`` or ``("burst", retry_after)``.

        ``retry_after`` is the wait rounded up to whole :attr:`RateLimitConfig.retry_after_unit`
        (at least one unit); :func:`format_retry_after` writes it as the header.
        """
        bucket = self._prune(key, now)
        cfg = self.config
        if not cfg.enabled:
            return None, None
        if len(bucket.hourly) >= cfg.hourly_limit:
            return "hourly", None
        if len(bucket.burst) >= cfg.burst_limit:
            wait = bucket.burst[0] + cfg.burst_window - now
            unit = cfg.retry_after_unit
            return "burst", max(1, math.ceil(wait / unit - 1e-9)) * unit
        return None, None

    def consume(self, key: str, now: float) -> None:
        bucket = self._prune(key, now)
        bucket.hourly.append(now)
        bucket.burst.append(now)

    def headers(self, key: str, now: float, *, exhausted: bool = False) -> dict[str, str]:
        bucket = self._prune(key, now)
        cfg = self.config
        remaining = 0 if exhausted else max(0, cfg.hourly_limit - len(bucket.hourly))
        reset = math.ceil(bucket.hourly[0] + cfg.hourly_window) if bucket.hourly else math.ceil(now)
        return {
            "ratelimit-limit": str(cfg.hourly_limit),
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(reset),
        }

    def reset(self) -> None:
        self._buckets.clear()
