"""A rate limiter shared by every process that uses one token, kept in Redis (``docr-async[redis]``).

Usage::

    from docr_async import DOCRClient
    from docr_async.redis import RedisRateLimiter

    limiter = RedisRateLimiter.from_url("redis://127.0.0.1:6379/0")
    async with DOCRClient(token, rate_limiter=limiter) as client:
        ...
    await limiter.aclose()

The sliding burst window (a sorted set of sends), the hourly budget (a hash) and the shared 429
pause (a string) live in Redis under keys derived from a SHA-256 of the token, never the token
itself; every change is one Lua script, so it is atomic across processes and hosts. Each send
holds its place in the shared window until its response is back (its score is in the future while
it is in flight, at most ``hold_timeout`` seconds), then is re-stamped at its completion time, so
the shared window never frees a slot before the server's does. Times are Redis's own (``TIME``),
so hosts need no synchronised clocks for the burst window.

A request costs one Redis round trip: the acquire script also re-stamps this process's sends
whose responses came back since its last call and publishes the newest hourly budget. A
completion is sent as its age (milliseconds since the response, rounded down), so it lands at its
true completion time on Redis's clock however late it is carried; until then the place stays held,
which is never earlier than the server frees it. Completions that no send carries go out in one
background call right after (and in :meth:`RedisRateLimiter.aclose`).

When Redis cannot be reached, the limiter warns once and falls back to the local
:class:`~docr_async.RateLimiter` it extends (its own window, adaptation and pauses), trying Redis
again every ``reconnect_interval`` seconds; with ``on_error="raise"`` it raises
:class:`RedisUnavailableError` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any, Literal, Self

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    msg = "docr_async.redis needs redis-py: pip install 'docr-async[redis]'"
    raise ImportError(msg) from exc

from ._constants import BURST_LIMIT, BURST_WINDOW
from ._ratelimit import DEFAULT_429_PAUSE, RateLimiter, RateLimitInfo
from .exceptions import DOCRError, RateLimitBudgetError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["RedisRateLimiter", "RedisUnavailableError"]

logger = logging.getLogger("docr_async.ratelimit")

_FAILURES: tuple[type[BaseException], ...] = (RedisError, OSError, asyncio.TimeoutError)

# KEYS: window, pause, budget. ARGV: limit (0: none), window ms, hold ms, member, poll ms,
# remaining ('': nothing to publish), reset epoch ms (-1: unknown), then pairs of (member, age ms):
# sends whose responses are back, re-stamped at their completion time (now - age).
# Returns {wait ms, gate}: gate 0 = acquired, 1 = pause, 2 = hourly budget, 3 = burst window.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
local hold = tonumber(ARGV[3])
for i = 8, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], now - tonumber(ARGV[i + 1]), ARGV[i])
end
if #ARGV >= 8 then redis.call('PEXPIRE', KEYS[1], window + hold) end
if ARGV[6] ~= '' then
  local new_reset = tonumber(ARGV[7])
  local cur_reset = tonumber(redis.call('HGET', KEYS[3], 'reset') or '-1')
  if not (new_reset >= 0 and cur_reset >= 0 and new_reset < cur_reset) then
    local cur = redis.call('HGET', KEYS[3], 'remaining')
    if new_reset >= 0 and new_reset == cur_reset and cur then
      redis.call('HSET', KEYS[3], 'remaining', math.min(tonumber(ARGV[6]), tonumber(cur)))
    else
      redis.call('HSET', KEYS[3], 'remaining', ARGV[6], 'reset', ARGV[7])
    end
    redis.call('PEXPIRE', KEYS[3], 3720000)
  end
end
local pause = tonumber(redis.call('GET', KEYS[2]) or '0')
if pause > now then return {pause - now, 1} end
local rem = redis.call('HGET', KEYS[3], 'remaining')
local reset = tonumber(redis.call('HGET', KEYS[3], 'reset') or '-1')
if rem and tonumber(rem) <= 0 and reset > now then return {reset - now, 2} end
local limit = tonumber(ARGV[1])
if limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window - 1)
  local count = redis.call('ZCARD', KEYS[1])
  if count >= limit then
    local edge = tonumber(redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')[2])
    local wait = edge + window + 1 - now
    if edge > now or wait <= 0 then wait = tonumber(ARGV[5]) end
    return {wait, 3}
  end
  if ARGV[4] ~= '' then
    redis.call('ZADD', KEYS[1], now + hold, ARGV[4])
    redis.call('PEXPIRE', KEYS[1], window + hold)
  end
end
if rem and ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[3], 'remaining', -1) end
return {0, 0}
"""

# KEYS: pause. ARGV: pause ms. Extends, never shortens, the shared pause; returns its ms from now.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local want = now + tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if want > cur then
  redis.call('SET', KEYS[1], want, 'PX', tonumber(ARGV[1]) + 1000)
  cur = want
end
return cur - now
"""


class RedisUnavailableError(DOCRError):
    """Redis could not be reached and the limiter was told to fail rather than fall back."""


class RedisRateLimiter(RateLimiter):
    """A :class:`~docr_async.RateLimiter` whose burst window, hourly budget and 429 pause live in Redis.

    Every process (on every host) that uses the same token and Redis shares one window and one
    pause. The client hands the limiter its token (only a SHA-256 of it is used, as the key);
    one limiter serves one token. Close it with :meth:`aclose` (or ``async with``) when done.
    """

    def __init__(
        self,
        redis_client: aioredis.Redis,
        *,
        burst_limit: int | None = BURST_LIMIT,
        burst_window: float = BURST_WINDOW,
        enabled: bool = True,
        adaptive: bool = True,
        max_wait: float = 900.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_error: Literal["fallback", "raise"] = "fallback",
        hold_timeout: float = 120.0,
        reconnect_interval: float = 5.0,
        key_prefix: str = "docr-async",
        owns_client: bool = False,
    ) -> None:
        """Create a limiter on an existing ``redis.asyncio.Redis`` client.

        Args:
            redis_client: The Redis client (``redis.asyncio``).
            burst_limit: Sends allowed per ``burst_window`` by all processes together (the
                token's full limit, never a share); ``None`` disables the window.
            burst_window: The sliding window of the burst limit, in seconds.
            enabled: ``False`` turns the limiter into a no-op, as for :class:`RateLimiter`.
            adaptive: Adaptation of the local fallback limiter (see :class:`RateLimiter`).
            max_wait: The longest single wait accepted before raising.
            clock: The local clock (deadlines, the fallback limiter); the shared window uses Redis's.
            sleep: Sleeps for a number of seconds.
            on_error: ``"fallback"``: when Redis fails, warn and limit locally; ``"raise"``: raise
                :class:`RedisUnavailableError`.
            hold_timeout: The longest a send in flight holds its place in the shared window (a
                process that dies mid-request frees it after this plus the window).
            reconnect_interval: Seconds between attempts to return to Redis after a failure.
            key_prefix: The prefix of the Redis keys.
            owns_client: Close ``redis_client`` in :meth:`aclose`.

        Raises:
            ValueError: A limit, window or timeout is out of range, or ``on_error`` is unknown.
        """
        super().__init__(
            burst_limit=burst_limit,
            burst_window=burst_window,
            enabled=enabled,
            adaptive=adaptive,
            max_wait=max_wait,
            clock=clock,
            sleep=sleep,
        )
        if on_error not in ("fallback", "raise"):
            msg = f"on_error must be 'fallback' or 'raise', got {on_error!r}"
            raise ValueError(msg)
        if not hold_timeout > 0 or not reconnect_interval >= 0:
            msg = "hold_timeout must be > 0 and reconnect_interval >= 0"
            raise ValueError(msg)
        self._redis = redis_client
        self._owns_client = owns_client
        self._on_error = on_error
        self._hold_ms = int(hold_timeout * 1000)
        self._window_ms = int(burst_window * 1000)
        self._poll_ms = max(1, min(50, self._window_ms // 20))
        self._reconnect_interval = reconnect_interval
        self._prefix = key_prefix
        self._keys: tuple[str, str, str] | None = None
        self._fallback_until: float | None = None
        self._pending_pause = 0.0
        self._pending_info: RateLimitInfo | None = None
        self._pending_releases: list[tuple[str, float]] = []
        self._release_task: asyncio.Task[None] | None = None
        self._acquire = redis_client.register_script(_ACQUIRE)
        self._pause_script = redis_client.register_script(_PAUSE)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        socket_timeout: float = 2.0,
        **options: Any,
    ) -> Self:
        """Create a limiter on a new Redis client for ``url`` (closed by :meth:`aclose`).

        Args:
            url: A Redis URL (``redis://host:6379/0``, ``rediss://``, ``unix://``).
            socket_timeout: Connect and command timeout, in seconds: how long a Redis outage can
                hold a request before the fallback takes over.
            **options: The other options of the constructor (``burst_limit``, ``burst_window``,
                ``max_wait``, ``on_error``, ...).

        Returns:
            The limiter.
        """
        client = aioredis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        return cls(client, owns_client=True, **options)

    async def aclose(self) -> None:
        """Publish what is still pending (completed sends, budget), then close the Redis client if
        this limiter created it. Idempotent."""
        task, self._release_task = self._release_task, None
        if task is not None:
            await task
        with contextlib.suppress(RedisUnavailableError):
            await self._flush()
        if self._owns_client:
            self._owns_client = False
            await self._redis.aclose()

    async def __aenter__(self) -> Self:
        """Use the limiter as an async context manager that closes it."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the limiter (see :meth:`aclose`)."""
        await self.aclose()

    def __repr__(self) -> str:
        state = "fallback" if self.using_fallback else "redis"
        return f"RedisRateLimiter(burst_limit={self.burst_limit}, state={state})"

    # ----------------------------------------------------------------- token and state

    def bind_token(self, token: str) -> None:
        """Key the shared state by ``token`` (its SHA-256; the client calls this with its token).

        Raises:
            ValueError: The limiter is already bound to another token.
        """
        digest = hashlib.sha256(b"docr-async rate limit\0" + token.encode()).hexdigest()[:32]
        keys = (
            f"{self._prefix}:{digest}:burst",
            f"{self._prefix}:{digest}:pause",
            f"{self._prefix}:{digest}:hour",
        )
        if self._keys is not None and self._keys != keys:
            msg = "this RedisRateLimiter is already used with another token; create one per token"
            raise ValueError(msg)
        self._keys = keys

    @property
    def keys(self) -> tuple[str, str, str] | None:
        """The Redis keys (window, pause, hourly budget), once bound to a token."""
        return self._keys

    @property
    def using_fallback(self) -> bool:
        """Whether requests are limited locally now because Redis failed."""
        return self._fallback_until is not None

    def _redis_usable(self) -> bool:
        if self._keys is None or not self.enabled:
            return False
        until = self._fallback_until
        return until is None or self._clock() >= until

    def _failed(self, exc: BaseException) -> None:
        if self._on_error == "raise":
            raise RedisUnavailableError(f"Redis is unreachable for the shared rate limit: {exc!r}")
        if self._fallback_until is None:
            logger.warning(
                "rate limit: Redis is unreachable (%s); limiting locally until it is back",
                type(exc).__name__,
            )
        self._fallback_until = self._clock() + self._reconnect_interval

    def _recovered(self) -> None:
        if self._fallback_until is not None:
            self._fallback_until = None
            logger.warning("rate limit: Redis is reachable again; the shared window is back in use")

    # ----------------------------------------------------------------- feedback (published lazily)

    def update(self, info: RateLimitInfo | None) -> RateLimitInfo | None:
        """As :meth:`RateLimiter.update`; the budget is also published to Redis at the next send."""
        believed = super().update(info)
        if believed is not None and believed.remaining is not None:
            self._pending_info = believed
        return believed

    def wait_for_429(
        self, retry_after: float | None, info: RateLimitInfo | None, *, default: float = DEFAULT_429_PAUSE
    ) -> float:
        """As :meth:`RateLimiter.wait_for_429`; the pause is also published to every process."""
        pause = super().wait_for_429(retry_after, info, default=default)
        self._pending_pause = max(self._pending_pause, pause)
        return pause

    async def observe(self, info: RateLimitInfo | None) -> RateLimitInfo | None:
        """Report a response's ``ratelimit-*`` headers; they reach Redis with this process's next send.

        No round trip of its own: the budget rides on the next acquire (or the background flush
        of completed sends), so a request costs one Redis round trip, not three.
        """
        return self.update(info)

    async def on_429(self, retry_after: float | None, info: RateLimitInfo | None, *, default: float) -> float:
        """Report a 429: pause every task of every process; return the pause now in force."""
        pause = self.wait_for_429(retry_after, info, default=default)
        return max(pause, await self._flush())

    async def clear_pause(self) -> None:  # type: ignore[override]
        """Lift the shared pause and forget the hourly estimate, locally and in Redis."""
        super().clear_pause()
        self._pending_pause = 0.0
        if self._redis_usable():
            assert self._keys is not None
            try:
                await self._redis.delete(self._keys[1])
                await self._redis.hdel(self._keys[2], "remaining")
            except _FAILURES as exc:
                self._failed(exc)

    async def _flush(self) -> float:
        """Publish a pending pause, budget and completed sends; return the shared pause from now."""
        if not self._redis_usable():
            return 0.0
        assert self._keys is not None
        shared = 0.0
        try:
            if self._pending_pause > 0:
                pause_ms = int(self._pending_pause * 1000)
                self._pending_pause = 0.0
                shared = int(await self._pause_script(keys=[self._keys[1]], args=[pause_ms])) / 1000
            if self._pending_releases or self._pending_info is not None:
                await self._call_acquire("")
        except _FAILURES as exc:
            self._failed(exc)
        return shared

    def _queue_release(self, member: str) -> None:
        """Record that ``member``'s response is back; it is re-stamped with the next Redis call."""
        self._pending_releases.append((member, time.monotonic()))
        if self._release_task is None or self._release_task.done():
            self._release_task = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        """Publish completed sends that no acquire carried (a background task, one at a time)."""
        await asyncio.sleep(0)  # a send about to go out carries them: usually nothing is left
        with contextlib.suppress(RedisUnavailableError):  # the next acquire raises it to a caller
            await self._flush()

    async def _call_acquire(self, member: str) -> tuple[int, int]:
        """Run the acquire script (``member`` empty: only publish), carrying what is pending."""
        assert self._keys is not None
        releases, self._pending_releases = self._pending_releases, []
        info, self._pending_info = self._pending_info, None
        remaining: int | str = ""
        reset_ms = -1
        if info is not None and info.remaining is not None:
            remaining = info.remaining
            reset_ms = -1 if info.reset_at is None else int(info.reset_at.timestamp() * 1000)
        now = time.monotonic()
        pairs: list[str | int] = []
        for done_member, done_at in releases:
            pairs += [done_member, int((now - done_at) * 1000)]  # floor: never earlier than it was
        burst = self._burst_limit or 0
        args = [burst, self._window_ms, self._hold_ms, member, self._poll_ms, remaining, reset_ms, *pairs]
        try:
            wait_ms, gate = await self._acquire(keys=list(self._keys), args=args)
        except BaseException:
            self._pending_releases[:0] = releases  # retried with the next call
            if self._pending_info is None:
                self._pending_info = info
            raise
        return int(wait_ms), int(gate)

    # ----------------------------------------------------------------- the shared window

    def slot(self, *, max_wait: float | None = None, deadline: float | None = None) -> _RedisSlot:  # type: ignore[override]
        """Acquire a place in the shared window and hold it until the ``async with`` exits.

        Falls back to the local window (see :class:`RateLimiter`) while Redis is unreachable.
        """
        return _RedisSlot(self, max_wait, deadline)

    async def _shared_acquire(self, max_wait: float | None, deadline: float | None) -> str | None:
        """Wait for the shared gates and take a place; ``None`` when Redis failed (fall back)."""
        assert self._keys is not None
        limit = self.max_wait if max_wait is None else max_wait
        member = uuid.uuid4().hex
        reasons = {
            1: "paused after a 429 (shared)",
            2: "hourly budget exhausted (shared)",
            3: "shared burst window full",
        }
        while True:
            try:
                if self._pending_pause > 0:
                    await self._flush()
                if not self._redis_usable():
                    return None
                wait_ms, gate = await self._call_acquire(member)
            except _FAILURES as exc:
                self._failed(exc)
                return None
            self._recovered()
            if int(gate) == 0:
                self._budget.spend()
                return member
            wait = int(wait_ms) / 1000
            now = self._monotonic()  # the retry deadline is on the monotonic clock
            allowed = limit
            reason = reasons.get(int(gate), "shared limit")
            if deadline is not None and deadline - now < limit:
                allowed = max(deadline - now, 0.0)
                reason = f"{reason}; the retry deadline leaves {allowed:.1f}s"
            if wait > allowed:
                raise RateLimitBudgetError(wait=wait, max_wait=allowed, reset_at=None, reason=reason)
            await self._sleep(wait)


class _RedisSlot:
    """The async context manager :meth:`RedisRateLimiter.slot` returns."""

    __slots__ = ("_deadline", "_limiter", "_local", "_max_wait", "_member")

    def __init__(self, limiter: RedisRateLimiter, max_wait: float | None, deadline: float | None) -> None:
        self._limiter = limiter
        self._max_wait = max_wait
        self._deadline = deadline
        self._member: str | None = None
        self._local: float | None = None

    async def __aenter__(self) -> None:
        limiter = self._limiter
        if not limiter.enabled:
            return
        if limiter._redis_usable():
            self._member = await limiter._shared_acquire(self._max_wait, self._deadline)
            if self._member is not None:
                return
        self._local = await limiter.acquire(max_wait=self._max_wait, deadline=self._deadline)
        if self._local is not None:
            limiter._hold(self._local)

    async def __aexit__(self, *exc_info: object) -> None:
        if self._member is not None:
            self._limiter._queue_release(self._member)
        elif self._local is not None:
            self._limiter._release(self._local)
