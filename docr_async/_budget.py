"""The hourly budget as the API reports it, and what of the server's rate-limit headers to believe.

DigitalOcean reports the hourly budget of a token in the ``ratelimit-*`` headers of every response.
:class:`HourlyBudget` keeps the newest report, decremented locally by every send since (the server
only counts the requests it has seen), and drops what cannot be true before believing anything:
a reset more than an hour ahead, a ``remaining`` above the limit, a ``Retry-After`` of days.
:class:`~docr_async.RateLimiter` holds one and waits for its reset when it is exhausted.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ._ratelimit_headers import MAX_TRUSTED_WAIT, RateLimitInfo, bound_info

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

__all__ = ["HourlyBudget"]

logger = logging.getLogger("docr_async.ratelimit")


class HourlyBudget:
    """The hourly budget of one client: the newest report and the local estimate since.

    Attributes:
        latest: The newest report (as reported, bounded, without local decrements).
        remaining: The local estimate: the server's ``remaining`` minus the sends since
            (``None``: unknown).
        reset_ts: When the budget frees up, in epoch seconds, as last reported.
        reset_at: The same as a datetime.
    """

    __slots__ = ("_clock", "_warned", "latest", "remaining", "reset_at", "reset_ts")

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._warned: set[str] = set()
        self.latest: RateLimitInfo | None = None
        self.remaining: int | None = None
        self.reset_ts: float | None = None
        self.reset_at: datetime | None = None

    def spend(self) -> None:
        """Count one send against the local estimate."""
        if self.remaining is not None:
            self.remaining -= 1

    def exhausted(self) -> bool:
        """Whether the local estimate is used up with a known reset to wait for."""
        return self.remaining is not None and self.remaining <= 0 and self.reset_ts is not None

    def update(self, info: RateLimitInfo | None) -> RateLimitInfo | None:
        """Merge a response's report; see :meth:`docr_async.RateLimiter.update` for the rule."""
        info = self.trusted(info)
        if info is None:
            return None
        new_ts = None if info.reset_at is None else info.reset_at.timestamp()
        if new_ts is not None and self.reset_ts is not None and new_ts < self.reset_ts:
            return info
        self.latest = info
        if info.remaining is None:
            return info
        if new_ts is not None and new_ts == self.reset_ts and self.remaining is not None:
            self.remaining = min(info.remaining, self.remaining)
        else:
            self.remaining = info.remaining
            self.reset_ts = new_ts
            self.reset_at = info.reset_at
        return info

    def trusted(self, info: RateLimitInfo | None) -> RateLimitInfo | None:
        """Return ``info`` without what cannot be true (logged as a WARNING once per kind)."""
        bounded, problems = bound_info(info, now=self._clock())
        for problem in problems:
            self._distrust(problem.split(" ", 1)[0], problem)
        return bounded

    def trusted_retry_after(self, seconds: float | None) -> float | None:
        """Return ``seconds``, or ``None`` when it asks for more than an hourly window."""
        if seconds is not None and seconds > MAX_TRUSTED_WAIT:
            self._distrust("retry-after", f"Retry-After of {seconds:g}s is more than {MAX_TRUSTED_WAIT:g}s")
            return None
        return seconds

    def _distrust(self, kind: str, problem: str) -> None:
        if kind in self._warned:
            return
        self._warned.add(kind)
        logger.warning(
            "rate limit: ignoring an impossible header (%s); falling back to backoff. "
            "Logged once per client.",
            problem,
        )
