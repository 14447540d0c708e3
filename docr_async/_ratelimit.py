"""Rate-limit state: the hourly budget reported by the API, and the limiter every request passes.

DigitalOcean allows 5000 requests per token per sliding hour (reported in the ``ratelimit-*``
headers) and 250 per sliding minute (never reported; a burst 429 carries ``Retry-After``).
:class:`RateLimiter` keeps one client under both, and makes every task of the client wait after a
429 instead of only the task that received it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter, deque
from typing import TYPE_CHECKING

from ._adaptive import BurstController
from ._budget import HourlyBudget
from ._constants import BURST_LIMIT, BURST_WINDOW
from ._limiter import Clock
from ._ratelimit_headers import RateLimitInfo
from ._slot import DONE, NO_SLOT, Done, NoSlot, Slot
from .exceptions import RateLimitBudgetError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime

__all__ = ["DEFAULT_429_PAUSE", "MAX_PAUSE", "RateLimitInfo", "RateLimiter"]

logger = logging.getLogger("docr_async.ratelimit")

DEFAULT_429_PAUSE = 1.0
"""The pause after a 429 that says neither ``Retry-After`` nor an exhausted hourly budget."""
MAX_PAUSE = 86_400.0
"""The longest pause :meth:`RateLimiter.pause` applies (24 h); longer requests are clamped."""


ADAPTIVE_FLOOR_DIVISOR = 10
"""Adaptation never lowers the burst limit below ``burst_limit // 10`` (25 of 250 per minute): 429s
that are not about this client's own pace (a stray one, or many processes on one token) cannot make
it crawl. Fleets of more than about ten processes on one token should share a RedisRateLimiter."""


class RateLimiter:
    """Keeps one client under DigitalOcean's limits; shared by all its tasks and ``with_options()`` copies.

    :meth:`acquire` waits, in virtual-time-friendly loops, for three gates:

    1. the shared pause set by :meth:`pause` / :meth:`wait_for_429` after a 429;
    2. a client-side sliding window: at most ``burst_limit`` sends in any ``burst_window`` seconds,
       with no pacing while under the limit, so the first burst goes out at full speed;
    3. the hourly budget: when the locally decremented ``remaining`` is ``<= 0`` and the reported
       reset is in the future, wait for the reset.

    It waits for the longest of the three at once, so a wait that is too long fails before any
    sleeping. The state changes only between awaits, so no lock is needed on one event loop; it is
    not thread-safe. Waiters are not served in FIFO order. Times come from ``clock`` (epoch seconds,
    since ``ratelimit-reset`` is an epoch), so a wall-clock jump can lengthen or shorten a wait.
    """

    def __init__(
        self,
        *,
        burst_limit: int | None = BURST_LIMIT,
        burst_window: float = BURST_WINDOW,
        enabled: bool = True,
        adaptive: bool = True,
        max_wait: float = 900.0,
        clock: Clock | Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        """Create a limiter.

        Args:
            burst_limit: Sends allowed per ``burst_window``; ``None`` disables the client-side window.
            burst_window: The sliding window of the burst limit, in seconds.
            enabled: ``False`` turns :meth:`acquire` into a no-op (budget and pauses are still recorded).
            adaptive: Lower the burst limit when burst 429s show the window is smaller than
                configured (others spend the token), raise it again when they stop, and pace
                the sends after a pause and while the limit is lowered (see
                ``docs/architecture.md``). It never moves while no burst 429 arrives.
            max_wait: The longest single wait :meth:`acquire` accepts before raising.
            clock: A :class:`Clock`, or a callable returning the current time in Unix epoch
                seconds (it then also serves as the monotonic clock, unless it is ``time.time``).
            sleep: Sleeps for a number of seconds (inject a fake one in tests); default the
                clock's sleep, else :func:`asyncio.sleep`.

        Raises:
            ValueError: A limit or window is not positive, or ``max_wait`` is negative.
        """
        if burst_limit is not None and burst_limit < 1:
            msg = f"burst_limit must be >= 1 or None, got {burst_limit!r}"
            raise ValueError(msg)
        if not burst_window > 0:
            msg = f"burst_window must be > 0, got {burst_window!r}"
            raise ValueError(msg)
        if not max_wait >= 0:
            msg = f"max_wait must be >= 0, got {max_wait!r}"
            raise ValueError(msg)
        self._enabled = enabled
        self._burst_limit = burst_limit
        self._burst_window = float(burst_window)
        self.max_wait = float(max_wait)
        if not isinstance(clock, Clock):
            clock = Clock(clock, sleep=asyncio.sleep if sleep is None else sleep)
        elif sleep is not None:
            clock = Clock(clock.time, monotonic=clock.monotonic, sleep=sleep)
        self._clock_obj = clock
        self._clock = clock.time
        self._sleep = clock.sleep
        self._monotonic = clock.monotonic
        self._sends: deque[float] = deque()
        self._held: Counter[float] = Counter()
        self._pause_until = 0.0
        self._pause_reason = ""
        self._pause_reset_at: datetime | None = None
        self._budget = HourlyBudget(self._clock)
        self._controller = (
            BurstController(
                burst_limit, burst_window, min_limit=max(1, burst_limit // ADAPTIVE_FLOOR_DIVISOR)
            )
            if adaptive and burst_limit is not None
            else None
        )

    # ----------------------------------------------------------------- introspection

    @property
    def enabled(self) -> bool:
        """Whether :meth:`acquire` limits at all."""
        return self._enabled

    @property
    def clock(self) -> Clock:
        """The limiter's :class:`Clock`; calling it gives epoch seconds. Every wait of the client uses it."""
        return self._clock_obj

    @property
    def sleep(self) -> Callable[[float], Awaitable[None]]:
        """The limiter's sleep; share it so backoff and polling sleeps are virtual in tests."""
        return self._sleep

    @property
    def latest(self) -> RateLimitInfo | None:
        """The newest budget the API reported (as reported, without local decrements)."""
        return self._budget.latest

    @property
    def remaining(self) -> int | None:
        """The local estimate of the hourly budget: the server's value minus the sends since."""
        return self._budget.remaining

    @property
    def reset_at(self) -> datetime | None:
        """When the hourly budget frees up, as last reported."""
        return self._budget.reset_at

    @property
    def paused_until(self) -> float | None:
        """The epoch second the current 429 pause ends, or ``None`` when not paused."""
        return self._pause_until if self._pause_until > self._clock() else None

    @property
    def adaptive(self) -> bool:
        """Whether the burst limit adapts to burst 429s."""
        return self._controller is not None

    @property
    def burst_limit(self) -> int | None:
        """The configured burst limit (``None``: no client-side window)."""
        return self._burst_limit

    @property
    def effective_burst_limit(self) -> int | None:
        """The burst limit in force now: the configured one, or lower while adapting to 429s."""
        return self._burst_limit if self._controller is None else self._controller.limit

    @property
    def in_window(self) -> int:
        """How many sends the burst window currently holds."""
        self._expire_sends(self._clock())
        return len(self._sends)

    def clear_pause(self) -> Done:
        """Lift every wait the server's answers imposed: the 429 pause and an exhausted hourly budget.

        It acts at once; the returned object may be awaited (``await limiter.clear_pause()``, as
        the :class:`~docr_async.Limiter` protocol is called) or ignored.

        The shared pause ends now, and the local estimate of the hourly budget is forgotten (set
        to unknown) so an exhausted one no longer holds requests back; the next response's headers
        set it again. The burst window (the client's own pacing) is kept. Use it when you know
        better than the server's headers, e.g. after a proxy sent an absurd pause.
        """
        self._pause_until = 0.0
        self._pause_reason = ""
        self._pause_reset_at = None
        self._budget.remaining = None
        logger.debug("rate limit: pause cleared by the caller")
        return DONE

    def next_wait(self) -> float:
        """Return how long :meth:`acquire` would wait right now (0 when it would not), without acquiring."""
        if not self._enabled:
            return 0.0
        return self._needed_wait(self._clock())[0]

    # ----------------------------------------------------------------- the gates

    async def acquire(self, *, max_wait: float | None = None, deadline: float | None = None) -> float | None:
        """Wait until one request may be sent, then account for it.

        The send is counted in the burst window and the local hourly ``remaining`` is decremented
        before returning, so concurrent tasks see the budget drop. Cancelling a waiting call takes
        nothing.

        Args:
            max_wait: The longest single wait accepted; ``self.max_wait`` when ``None``.
            deadline: A time (``clock.monotonic()`` seconds) the send must happen by, whatever ``max_wait``
                says: a wait that would end later raises at once (the transport passes the retry
                deadline here).

        Returns:
            The send's stamp in the burst window; pass it to :meth:`completed` when the response
            arrives. ``None`` when nothing was recorded (limiter or burst window disabled).

        Raises:
            RateLimitBudgetError: A needed wait exceeds ``max_wait``; raised at once, without sleeping.
        """
        if not self._enabled:
            return None
        limit = self.max_wait if max_wait is None else max_wait
        held = False
        while True:
            now = self._clock()
            wait, reason, reset_at = self._needed_wait(now)
            if wait <= 0:
                self._budget.spend()
                if self._burst_limit is None:
                    return None
                self._sends.append(now)
                if self._controller is not None:
                    controller = self._controller
                    self._adapted(controller.tick(now, binding=held), controller.why)
                    self._controller.released(now)
                return now
            held = held or reason.startswith(("burst", "paced"))
            allowed = limit
            left = None if deadline is None else deadline - self._monotonic()
            if left is not None and left < limit:
                allowed = max(left, 0.0)
                reason = f"{reason}; the retry deadline leaves {allowed:.1f}s"
            if wait > allowed:
                logger.debug("rate limit: refusing to wait %.3fs (max_wait=%gs): %s", wait, allowed, reason)
                raise RateLimitBudgetError(wait=wait, max_wait=allowed, reset_at=reset_at, reason=reason)
            logger.debug("rate limit: waiting %.3fs: %s", wait, reason)
            await self._sleep(wait)

    def completed(self, stamp: float | None) -> None:
        """Move a send's stamp in the burst window to now, when its response has arrived.

        The server counts a request when it arrives, which is after :meth:`acquire` stamped it but
        never after its response came back. Re-stamping at completion keeps the client's window
        from freeing a slot before the server's does, so the window edge produces no 429.
        """
        if stamp is None or self._burst_limit is None:
            return
        now = self._clock()
        with contextlib.suppress(ValueError):  # already expired from the window: count it again
            self._sends.remove(stamp)
        self._sends.append(now)  # every stamp is <= now, so the deque stays sorted

    def slot(self, *, max_wait: float | None = None, deadline: float | None = None) -> Slot | NoSlot:
        """Acquire a send and hold its place in the burst window until the ``async with`` exits.

        The transport wraps each HTTP attempt in this. A held send never leaves the window before
        its response is back (however long it takes), and is then re-stamped by :meth:`completed`.
        Entering raises :class:`RateLimitBudgetError` as :meth:`acquire` does (``max_wait`` and
        ``deadline`` as there).
        """
        if not self._enabled:
            return NO_SLOT  # acquire() would record nothing: skip the per-request awaitables
        return Slot(self, max_wait, deadline)

    def _hold(self, stamp: float) -> None:
        self._held[stamp] += 1

    def _release(self, stamp: float) -> None:
        self._held[stamp] -= 1
        if not self._held[stamp]:
            del self._held[stamp]
        self.completed(stamp)

    def _expire_sends(self, now: float) -> None:
        cutoff = now - self._burst_window
        sends = self._sends
        held = self._held
        # A send still in flight stays (the server may count it later than we stamped it).
        while sends and sends[0] <= cutoff and sends[0] not in held:
            sends.popleft()

    def _needed_wait(self, now: float) -> tuple[float, str, datetime | None]:
        """Return the longest wait among the three gates, why, and the reset to report."""
        wait = 0.0
        reason = ""
        reset_at: datetime | None = None
        if self._pause_until > now:
            wait = self._pause_until - now
            reason = f"paused after a 429 ({self._pause_reason})" if self._pause_reason else "paused"
            reset_at = self._pause_reset_at
        limit = self.effective_burst_limit
        if limit is not None:
            self._expire_sends(now)
            if len(self._sends) >= limit:
                burst_wait = self._sends[-limit] + self._burst_window - now
                if burst_wait <= 0:  # the window is full of sends still in flight: look again soon
                    burst_wait = min(0.05, self._burst_window / 20)
                if burst_wait > wait:
                    wait = burst_wait
                    reason = f"burst limit of {limit} requests per {self._burst_window:g}s reached"
                    reset_at = None
        if self._controller is not None:
            paced = self._controller.release_wait(now)
            if paced > wait:
                wait = paced
                reason = "paced (after a pause, or while the limit is lowered)"
                reset_at = None
        budget = self._budget
        if budget.exhausted():
            assert budget.reset_ts is not None
            hourly_wait = budget.reset_ts - now
            if hourly_wait > wait:
                wait = hourly_wait
                reason = f"hourly budget exhausted (remaining {budget.remaining}) until the reset"
                reset_at = budget.reset_at
        return wait, reason, reset_at

    # ----------------------------------------------------------------- feedback

    def update(self, info: RateLimitInfo | None) -> RateLimitInfo | None:
        """Feed the ``ratelimit-*`` headers of a response; ``None`` when it had none.

        ``None`` changes no budget; it only restarts the adaptive limiter's measurement of what
        the token's other users send (the response may have been counted without saying so).

        What cannot be true is dropped first (see :meth:`trusted`): a ``reset_at`` more than an
        hourly window ahead counts as missing, a ``remaining`` above ``limit`` as ``limit``.

        The merge rule keeps local decrements of requests still in flight: the server's
        ``remaining`` counts only the requests it has seen.

        * Same ``reset_at`` as the current state: ``remaining = min(server, local estimate)``. The
          window's oldest request has not expired, so the true budget can only have dropped.
        * Later ``reset_at`` (or either side has none): the server's values replace the local ones;
          requests expired from the sliding hour, so the server is the only one who knows.
        * Earlier ``reset_at``: a stale response overtaken by a newer one; ignored.

        A response without ``ratelimit-remaining`` only updates :attr:`latest`.

        Returns:
            The info as believed (bounded), to report in errors and pages.
        """
        believed = self._budget.update(info)
        if self._controller is not None:
            reset_at = None if believed is None else believed.reset_at
            remaining = None if believed is None or reset_at is None else believed.remaining
            reset_ts = None if reset_at is None else reset_at.timestamp()
            self._controller.report(self._clock(), remaining, reset_ts)
        return believed

    def trusted(self, info: RateLimitInfo | None) -> RateLimitInfo | None:
        """Return ``info`` without what cannot be true (logged as a WARNING once per limiter).

        A ``reset_at`` more than one hourly window (plus a minute of clock skew) ahead becomes
        ``None``: pausing every task until it would disable the client. A ``remaining`` above
        ``limit`` becomes ``limit``.
        """
        return self._budget.trusted(info)

    def trusted_retry_after(self, seconds: float | None) -> float | None:
        """Return a parsed ``Retry-After``, or ``None`` when it asks for more than an hourly window.

        No rate limit of the API lasts longer, so such a value (a billion seconds, a date in 2099)
        is treated as missing and the caller falls back to backoff. Logged as a WARNING once per
        limiter.
        """
        return self._budget.trusted_retry_after(seconds)

    def _adapted(self, new_limit: int | None, why: str) -> None:
        if new_limit is not None:
            logger.debug(
                "rate limit: effective burst limit now %d per %gs (configured %s): %s",
                new_limit,
                self._burst_window,
                self._burst_limit,
                why,
            )

    def pause(self, seconds: float, *, reason: str = "") -> None:
        """Make every task of the client wait until ``seconds`` from now (after a 429).

        Extends, never shortens, a current pause. ``nan`` and non-positive values are ignored;
        values above :data:`MAX_PAUSE` are clamped to it.
        """
        self._pause(seconds, reason=reason, reset_at=None, now=self._clock())

    def _pause(self, seconds: float, *, reason: str, reset_at: datetime | None, now: float) -> None:
        if math.isnan(seconds) or seconds <= 0:
            return
        until = now + min(seconds, MAX_PAUSE)
        if until > self._pause_until:
            self._pause_until = until
            self._pause_reason = reason
            self._pause_reset_at = reset_at
            logger.debug("rate limit: pausing all requests for %.3fs: %s", min(seconds, MAX_PAUSE), reason)

    def wait_for_429(
        self, retry_after: float | None, info: RateLimitInfo | None, *, default: float = DEFAULT_429_PAUSE
    ) -> float:
        """Pause every task after a 429 and return how long the pause lasts from now.

        It does not sleep: the next :meth:`acquire` of every task waits (or raises
        :class:`RateLimitBudgetError` when the pause exceeds its ``max_wait``). The rule:

        * ``Retry-After`` present (the burst limit): pause that long. The ``remaining: 0`` such a
          429 reports concerns the minute, not the hour, so an exhausted local hourly estimate is
          forgotten (set to unknown) rather than held until the hourly reset.
        * no ``Retry-After`` and a future ``reset_at`` (the hourly budget; from ``info``, else the
          latest known) with ``remaining`` 0 or unknown: pause until the reset.
        * otherwise: pause ``default`` seconds.

        A ``Retry-After`` or ``reset_at`` beyond one hourly window is impossible and counts as
        missing (see :meth:`trusted_retry_after`), so it never pauses every task for days.

        Call :meth:`update` with the same ``info`` first (or not at all): this method does not.

        Args:
            retry_after: The parsed ``Retry-After`` seconds, or ``None`` when absent or garbage.
            info: The ``ratelimit-*`` headers of the 429, if any.
            default: The pause when nothing better is known.

        Returns:
            Seconds from now until the (possibly extended, at most 24 h) pause ends; compare it with
            ``RetryPolicy.max_retry_after`` to decide whether to retry.
        """
        now = self._clock()
        retry_after = self.trusted_retry_after(retry_after)
        info = self.trusted(info)
        if retry_after is not None and not math.isnan(retry_after) and retry_after >= 0:
            budget = self._budget
            spent = budget.remaining is not None and budget.remaining <= 0
            if spent and (info is None or info.remaining == 0):
                budget.remaining = None
            controller = self._controller
            if controller is not None:
                self._expire_sends(now)
                echo = self._pause_until > now
                self._adapted(controller.on_429(now, in_window=len(self._sends), echo=echo), "burst 429")
            self._pause(
                retry_after, reason=f"burst limit, Retry-After {retry_after:g}s", reset_at=None, now=now
            )
            if controller is not None:
                controller.on_pause(now, self._pause_until)
        else:
            known = info if info is not None and info.reset_at is not None else self._budget.latest
            until_reset = None if known is None else known.seconds_until_reset(now)
            remaining = None if known is None else known.remaining
            if until_reset and (remaining is None or remaining <= 0):
                assert known is not None
                self._pause(until_reset, reason="hourly budget exhausted", reset_at=known.reset_at, now=now)
            else:
                self._pause(default, reason="429 without Retry-After or reset", reset_at=None, now=now)
        return max(self._pause_until - now, 0.0)

    # ----------------------------------------------------------------- the Limiter protocol

    async def observe(self, info: RateLimitInfo | None) -> RateLimitInfo | None:
        """Report a response's ``ratelimit-*`` headers (the :class:`~docr_async.Limiter` protocol).

        The same as :meth:`update`, awaitable.
        """
        return self.update(info)

    async def on_429(self, retry_after: float | None, info: RateLimitInfo | None, *, default: float) -> float:
        """Report a 429 and return the pause every task now observes (the ``Limiter`` protocol).

        The same as :meth:`wait_for_429`, awaitable.
        """
        return self.wait_for_429(retry_after, info, default=default)
