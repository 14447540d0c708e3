"""The limiter protocol the transport talks to, and the one clock every time decision uses.

:class:`Limiter` is what :class:`~docr_async.DOCRClient` needs of a rate limiter: a slot to send
in, a place to report each response's ``ratelimit-*`` headers and each 429, a way to lift a pause,
and a :class:`Clock`. The methods that may need I/O (a limiter keeping its state in Redis, shared
by a fleet) are awaitable. :class:`~docr_async.RateLimiter` is the in-process implementation.

:class:`Clock` bundles the three time sources of a client, so a test injects one object and every
wait of the client runs in virtual time: ``monotonic`` for durations and deadlines, ``time`` (wall
clock, Unix epoch) for what the server reports as a date (``ratelimit-reset``, an HTTP-date
``Retry-After``), and ``sleep``.
"""

from __future__ import annotations

import asyncio
import time as _time
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from contextlib import AbstractAsyncContextManager

    from ._ratelimit_headers import RateLimitInfo

__all__ = ["Clock", "Limiter"]


class Clock:
    """The time sources of one client: wall time, monotonic time and sleep.

    Calling the clock returns the wall time (``clock()`` is ``clock.time()``), so code written for
    a plain ``time.time``-like callable keeps working.

    Args:
        time: Wall clock in Unix epoch seconds (``ratelimit-reset`` and HTTP dates are compared with it).
        monotonic: Clock for durations and deadlines. Defaults to :func:`time.monotonic` with the
            real wall clock, and to ``time`` itself with an injected one (a virtual clock is
            already monotonic, and one callable then drives every decision).
        sleep: Sleeps for a number of seconds (inject a virtual one in tests).
    """

    __slots__ = ("monotonic", "sleep", "time")

    def __init__(
        self,
        time: Callable[[], float] = _time.time,
        *,
        monotonic: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.time = time
        if monotonic is None:
            monotonic = _time.monotonic if time is _time.time else time
        self.monotonic = monotonic
        self.sleep = sleep

    def __call__(self) -> float:
        """Return the wall time (Unix epoch seconds)."""
        return self.time()

    def __repr__(self) -> str:
        return f"Clock(time={self.time!r}, monotonic={self.monotonic!r}, sleep={self.sleep!r})"


class Limiter(Protocol):
    """What the transport needs of a rate limiter (``DOCRClient(rate_limiter=...)`` takes any).

    One limiter is shared by every task of a client and its ``with_options`` copies; a distributed
    one by every process that shares the token. The transport calls, per attempt:
    ``async with slot(...)`` around the send, ``await observe(info)`` with each response's headers,
    and ``await on_429(...)`` after a 429, then loops back to ``slot``, which waits out the pause.
    """

    @property
    def clock(self) -> Clock:
        """The clock every time decision of the client uses (deadlines, backoff, pauses)."""
        ...

    @property
    def latest(self) -> RateLimitInfo | None:
        """The newest rate-limit state the API reported."""
        ...

    def slot(self, *, max_wait: float | None, deadline: float | None) -> AbstractAsyncContextManager[None]:
        """Acquire a place in the burst window (and hourly budget) and hold it until the exit.

        Args:
            max_wait: The longest wait accepted (``None``: the limiter's own default).
            deadline: A time on ``clock.monotonic()`` the send must happen by.

        Raises:
            RateLimitBudgetError: On entering, when the needed wait exceeds ``max_wait`` or ends
                after ``deadline``; raised at once, without sleeping.
        """
        ...

    async def observe(self, info: RateLimitInfo | None) -> RateLimitInfo | None:
        """Report a response's ``ratelimit-*`` headers; return them as believed (bounded)."""
        ...

    async def on_429(self, retry_after: float | None, info: RateLimitInfo | None, *, default: float) -> float:
        """Report a 429 and return the pause (seconds from now) every task now observes.

        Args:
            retry_after: The response's ``Retry-After`` in seconds (``None``: absent or impossible).
            info: The response's ``ratelimit-*`` headers as returned by :meth:`observe`.
            default: The pause when neither ``Retry-After`` nor an exhausted budget says more.
        """
        ...

    def clear_pause(self) -> Awaitable[None]:
        """Lift a pause the server imposed (await it; :class:`RateLimiter` also acts at once)."""
        ...
