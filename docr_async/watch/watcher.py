"""The :class:`Watcher`: a budget-aware async iterator of registry events (``client.watch()``).

One poll costs: the repository listing (one request per 200 repositories), the tags (and, when the
manifest count or latest manifest says so, the manifests) of each repository whose listing entry
changed, a few repositories of the background sweep or of the first baseline, and now and then one
request for garbage collections and one for storage. Requests are sent one at a time, from the
consumer's task: no background task exists, so breaking out of the loop leaves nothing behind.

Latencies: a change the repository listing shows (a push of a new manifest, a tag or manifest
deleted, a repository created or deleted) is reported by the next poll, so within one interval
(two when the change lands while a poll runs). A change it cannot show (a tag moved onto a digest
that already existed, while the counts stay equal) is reported by the sweep, within
:attr:`Watcher.sweep_period`.
"""

from __future__ import annotations

import logging
import math
from contextlib import aclosing
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

import attrs

from .._closing import AsyncClosing
from ..exceptions import (
    APIConnectionError,
    InvalidResponseError,
    PaginationError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from ._reads import Reads, Step, deleted_step
from ._types import PollStats, WatchClient
from .events import EVENT_KINDS, WatchEvent
from .state import WatchState

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Iterator

__all__ = ["PollStats", "WatchClient", "Watcher"]

logger = logging.getLogger("docr_async.watch")

HOURLY_LIMIT = 5000
"""DigitalOcean's hourly request budget, used until a response reports ``ratelimit-limit``."""
TRANSIENT = (ServerError, APIConnectionError, RateLimitError, PaginationError, InvalidResponseError)
"""Failures a poll survives (after the client's own retries): the next poll tries again."""
LOW_WATER = 0.2
BASELINE_BURST = 50.0
"""Requests a poll may spend on the first baseline when the interval is derived (it then rests longer)."""
MAX_BACKOFF = 16.0


def _check_number(name: str, value: object, *, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValidationError(name, value, f"must be a number in [{low:g}, {high:g}]")
    return float(value)


class Watcher(AsyncClosing):
    """Registry events, polled within a budget: ``async for event in client.watch(): ...``.

    Use it as an async context manager (``async with client.watch() as events:``), which closes the
    stream on exit, so breaking out sends nothing more and leaves no task behind. See the module
    docstring for the cost of a poll and the two latencies.

    Args:
        client: The client (a :class:`WatchClient`).
        registry: The registry (default: the client's default, or ``since``'s).
        repositories: Watch only these repositories.
        kinds: Yield only these event classes (or ``kind`` strings); the state still follows all.
        interval: Seconds between polls; default: derived from ``budget`` (see :attr:`interval`).
        budget: Share of the hourly request limit to spend, in (0, 1].
        sweep_share: Share of the budget for the background sweep, in [0, 0.9].
        min_interval: The shortest derived interval.
        slow_every: Poll garbage collections and storage every this many polls.
        since: A saved :class:`WatchState` (or its ``to_json()`` dict) to resume from.
        replay: Report what exists at the start as created repositories and pushed tags.
        max_failures: Transient poll failures in a row before the error is raised.
        on_poll: Called with each poll's :class:`PollStats`.
        clock: Epoch seconds for ``observed_at`` (default: the rate limiter's clock).
        sleep: Sleeps between polls (default: the rate limiter's sleep); inject it for virtual time.

    Raises:
        ValidationError: On a bad option or ``since``, before any request.
    """

    def __init__(
        self,
        client: WatchClient,
        registry: str | None = None,
        *,
        repositories: Iterable[str] | None = None,
        kinds: Iterable[type[WatchEvent] | str] | None = None,
        interval: float | None = None,
        budget: float = 0.1,
        sweep_share: float = 0.5,
        min_interval: float = 10.0,
        slow_every: int = 6,
        since: WatchState | dict[str, object] | None = None,
        replay: bool = False,
        max_failures: int = 10,
        on_poll: Callable[[PollStats], object] | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._client = client
        self._interval = None if interval is None else _check_number("interval", interval, low=0.001)
        self._budget = _check_number("budget", budget, low=0.001, high=1.0)
        self._sweep_share = _check_number("sweep_share", sweep_share, low=0.0, high=0.9)
        self._min_interval = _check_number("min_interval", min_interval, low=0.0)
        if not isinstance(slow_every, int) or slow_every < 1:
            raise ValidationError("slow_every", slow_every, "must be an int >= 1")
        if not isinstance(max_failures, int) or max_failures < 1:
            raise ValidationError("max_failures", max_failures, "must be an int >= 1")
        self._slow_every = slow_every
        self._max_failures = max_failures
        self._only = None if repositories is None else frozenset(repositories)
        self._kinds = None if kinds is None else frozenset(_kind(k) for k in kinds)
        if isinstance(since, dict):
            since = WatchState.from_json(since)
        if since is not None and not isinstance(since, WatchState):
            raise ValidationError("since", since, "must be a WatchState or its to_json() dict")
        if since is not None and registry is not None and since.registry != registry:
            raise ValidationError(
                "since", since.registry, f"is the state of another registry than {registry!r}"
            )
        self._registry = registry
        self._state = since.copy() if since is not None else None
        self._replay = replay
        self._on_poll = on_poll
        self._clock = clock or client.rate_limiter.clock
        self._sleep = sleep or client.rate_limiter.clock.sleep
        self._polls = 0
        self._credit = 0.0
        self._core_cost: float | None = None
        self._gc_active = False
        self._last_poll: PollStats | None = None
        self._total_requests = 0
        self._events: AsyncGenerator[WatchEvent] | None = None

    # ---- public state ---------------------------------------------------------------------------

    @property
    def state(self) -> WatchState | None:
        """A copy of what has been reported (``None`` before the first poll); save its ``to_json()``."""
        return None if self._state is None else self._state.copy()

    @property
    def last_poll(self) -> PollStats | None:
        """The statistics of the latest poll."""
        return self._last_poll

    @property
    def total_requests(self) -> int:
        """HTTP attempts this watcher has sent."""
        return self._total_requests

    @property
    def allowance(self) -> float:
        """Requests per hour the watcher may spend: ``budget`` times the hourly limit."""
        info = self._client.rate_limit
        limit = info.limit if info is not None and info.limit else HOURLY_LIMIT
        return self._budget * limit

    @property
    def interval(self) -> float:
        """Seconds between polls: ``interval``, else what the budget allows; longer when the budget is low."""
        if self._interval is not None:
            base = self._interval
        else:
            cost = self._core_cost if self._core_cost is not None else 1.0
            spent = self._last_poll.requests if self._last_poll is not None else 0
            base = max(
                self._min_interval,
                cost * 3600 / (self.allowance * (1 - self._sweep_share)),
                spent * 3600 / self.allowance,  # after a costly poll (the baseline), rest longer
            )
        return base * self._backoff()

    @property
    def sweep_period(self) -> float | None:
        """Seconds for the sweep to re-read every repository (``None``: no sweep, or nothing to sweep)."""
        count = len(self._state.repositories) if self._state else 0
        rate = self.allowance * self._sweep_share
        return count * 3600 / rate if count and rate else None

    def _backoff(self) -> float:
        info = self._client.rate_limit
        if info is None or info.remaining is None or not info.limit:
            return 1.0
        low = LOW_WATER * info.limit
        if info.remaining >= low:
            return 1.0
        return min(MAX_BACKOFF, low / max(info.remaining, 1))

    # ---- iteration ----------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop the event stream now (``async with`` does it on exit). Idempotent."""
        if self._events is not None:
            await self._events.aclose()

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        # One stream per watcher: iterating again continues where the last loop stopped.
        if self._events is None:
            self._events = self._run()
        return self._events

    async def _run(self) -> AsyncGenerator[WatchEvent]:
        failures = 0
        while True:
            try:
                async with aclosing(self.poll()) as events:
                    async for event in events:
                        yield event
                failures = 0
                delay = self.interval
            except TRANSIENT as exc:
                failures += 1
                if failures >= self._max_failures:
                    raise
                logger.warning("watch poll failed (%d in a row), retrying next interval: %s", failures, exc)
                delay = self.interval * min(2.0 ** (failures - 1), MAX_BACKOFF)
            await self._sleep(delay)

    async def poll(self) -> AsyncGenerator[WatchEvent]:
        """One poll without sleeping: yield what changed since the previous one.

        Each event is applied to :attr:`state` just before it is yielded. Iterate it inside
        ``contextlib.aclosing`` if you may break out of it.

        Raises:
            AuthenticationError: The token is invalid (401).
            NotFoundError: The registry does not exist.
        """
        self._polls += 1
        start = self._client.stats.attempts
        counts = {"changed": 0, "baselined": 0, "swept": 0, "events": 0}
        error: str | None = None
        try:
            first = self._state is None
            if self._state is None:
                registry = await self._client.registries.get(self._registry)
                self._state = WatchState(
                    registry=registry.name, storage_usage_bytes=registry.storage_usage_bytes
                )
            state = self._state
            reads = Reads(self._client, state, self._now)
            slow = self._polls == 1 or self._gc_active or self._polls % self._slow_every == 0
            listing = await reads.repositories(self._only)
            now = self._now()
            for name in sorted(set(state.repositories) - set(listing)):
                for event in self._commit([deleted_step(state, name, now)], counts):
                    yield event
            for name in set(state.pending) - set(listing):
                del state.pending[name]
            touched = False
            for name, fp in sorted(listing.items()):
                if name in state.repositories:
                    if state.repositories[name].fingerprint == fp:
                        continue
                    counts["changed"] += 1
                    steps = await reads.refresh(name, fp, with_manifests=True)
                elif first or name in state.pending:  # the baseline, spread over polls
                    state.pending[name] = fp
                    continue
                else:
                    counts["changed"] += 1
                    steps = await reads.create(name, fp, now)
                touched = True
                for event in self._commit(steps, counts):
                    yield event
            self._credit += self._spare()
            while state.pending and self._credit >= 1:
                before = self._client.stats.attempts
                counts["baselined"] += 1
                steps = await reads.baseline(min(state.pending), replay=self._replay)
                self._credit -= max(1, self._client.stats.attempts - before)
                for event in self._commit(steps, counts):
                    yield event
            if not state.pending and self._sweep_share:
                for name in self._sweep_order():
                    if self._credit < 1:
                        break
                    before = self._client.stats.attempts
                    counts["swept"] += 1
                    steps = await reads.refresh(
                        name, state.repositories[name].fingerprint, with_manifests=False
                    )
                    steps.append((None, partial(setattr, state, "sweep_after", name)))
                    self._credit -= max(1, self._client.stats.attempts - before)
                    for event in self._commit(steps, counts):
                        yield event
            self._credit = min(self._credit, max(1.0, self._spare()) * 2)
            if first and not self._replay:
                _, self._gc_active = await reads.garbage_collections(record_only=True)
            elif slow:
                steps, self._gc_active = await reads.garbage_collections()
                for event in self._commit(steps, counts):
                    yield event
            if (touched or slow) and not first:
                for event in self._commit(await reads.storage(), counts):
                    yield event
        except TRANSIENT as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            spent = self._client.stats.attempts - start
            self._total_requests += spent
            core = spent - counts["baselined"] - counts["swept"]
            self._core_cost = core if self._core_cost is None else 0.7 * self._core_cost + 0.3 * core
            info = self._client.rate_limit
            self._last_poll = PollStats(
                number=self._polls,
                requests=spent,
                remaining=info.remaining if info is not None else None,
                error=error,
                **counts,
            )
            self._last_poll = attrs.evolve(self._last_poll, interval=self.interval)
            logger.debug("watch poll: %s", self._last_poll)
            if self._on_poll is not None:
                self._on_poll(self._last_poll)

    def _commit(self, steps: list[Step], counts: dict[str, int]) -> Iterator[WatchEvent]:
        """Apply each step to the state, then yield its event (if the ``kinds`` filter keeps it)."""
        for event, commit in steps:
            commit()
            if event is None:
                continue
            counts["events"] += 1
            if self._kinds is None or event.kind in self._kinds:
                yield event

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _spare(self) -> float:
        """Requests the budget leaves per poll for the baseline and the sweep."""
        per_poll = self.allowance * self.interval / 3600
        if self._state is not None and self._state.pending:
            burst = BASELINE_BURST if self._interval is None else 1.0
            return max(burst, per_poll - (self._core_cost or 1.0))
        return per_poll * self._sweep_share

    def _sweep_order(self) -> list[str]:
        """Every known repository once, starting after the last one swept."""
        assert self._state is not None
        names = sorted(self._state.repositories)
        after = self._state.sweep_after
        return [n for n in names if n > after] + [n for n in names if n <= after]


def _kind(value: type[WatchEvent] | str) -> str:
    if isinstance(value, str) and value in EVENT_KINDS:
        return value
    if isinstance(value, type) and issubclass(value, WatchEvent) and value.kind in EVENT_KINDS:
        return value.kind
    raise ValidationError("kinds", value, f"must be an event class or one of {sorted(EVENT_KINDS)}")
