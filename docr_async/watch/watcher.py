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
from typing import TYPE_CHECKING, Self

import attrs

from ..exceptions import (
    APIConnectionError,
    InvalidResponseError,
    NotFoundError,
    PaginationError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from ..models.garbage_collection import TERMINAL_STATUSES
from ._diff import apply_event, diff_repository, stamp, tag_map
from ._types import PollStats, WatchClient
from .events import (
    EVENT_KINDS,
    GarbageCollectionFinished,
    GarbageCollectionStarted,
    RepositoryCreated,
    RepositoryDeleted,
    StorageChanged,
    WatchEvent,
)
from .state import Fingerprint, RepositoryState, WatchState

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Iterator
    from types import TracebackType

    from ..models import RepositoryV2

__all__ = ["PollStats", "WatchClient", "Watcher"]

logger = logging.getLogger("docr_async.watch")

HOURLY_LIMIT = 5000
"""DigitalOcean's hourly request budget, used until a response reports ``ratelimit-limit``."""
TRANSIENT = (ServerError, APIConnectionError, RateLimitError, PaginationError, InvalidResponseError)
"""Failures a poll survives (after the client's own retries): the next poll tries again."""
PER_PAGE = 200

Step = tuple["WatchEvent | None", "Callable[[], object]"]
"""An event (or none) and the state change that goes with it, applied just before it is yielded."""
LOW_WATER = 0.2
BASELINE_BURST = 50.0
"""Requests a poll may spend on the first baseline when the interval is derived (it then rests longer)."""
MAX_BACKOFF = 16.0


def _fingerprint(repo: RepositoryV2) -> Fingerprint:
    latest = repo.latest_manifest
    return (
        latest.digest if latest else "",
        stamp(latest.updated_at) if latest else "",
        repo.tag_count or 0,
        repo.manifest_count or 0,
    )


def _check_number(name: str, value: object, *, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValidationError(name, value, f"must be a number in [{low:g}, {high:g}]")
    return float(value)


class Watcher:
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

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

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
            slow = self._polls == 1 or self._gc_active or self._polls % self._slow_every == 0
            listing = await self._list_repositories(state.registry)
            now = self._now()
            for name in sorted(set(state.repositories) - set(listing)):
                for event in self._commit([_deleted(state, name, now)], counts):
                    yield event
            for name in set(state.pending) - set(listing):
                del state.pending[name]
            touched = False
            for name, fp in sorted(listing.items()):
                if name in state.repositories:
                    if state.repositories[name].fingerprint == fp:
                        continue
                    counts["changed"] += 1
                    steps = await self._refresh(name, fp, with_manifests=True)
                elif first or name in state.pending:  # the baseline, spread over polls
                    state.pending[name] = fp
                    continue
                else:
                    counts["changed"] += 1
                    steps = await self._create(name, fp, now)
                touched = True
                for event in self._commit(steps, counts):
                    yield event
            self._credit += self._spare()
            while state.pending and self._credit >= 1:
                before = self._client.stats.attempts
                counts["baselined"] += 1
                steps = await self._baseline(min(state.pending))
                self._credit -= max(1, self._client.stats.attempts - before)
                for event in self._commit(steps, counts):
                    yield event
            if not state.pending and self._sweep_share:
                for name in self._sweep_order():
                    if self._credit < 1:
                        break
                    before = self._client.stats.attempts
                    counts["swept"] += 1
                    steps = await self._refresh(
                        name, state.repositories[name].fingerprint, with_manifests=False
                    )
                    steps.append((None, partial(setattr, state, "sweep_after", name)))
                    self._credit -= max(1, self._client.stats.attempts - before)
                    for event in self._commit(steps, counts):
                        yield event
            self._credit = min(self._credit, max(1.0, self._spare()) * 2)
            if first and not self._replay:
                await self._gcs(record_only=True)
            elif slow:
                for event in self._commit(await self._gcs(), counts):
                    yield event
            if (touched or slow) and not first:
                for event in self._commit(await self._storage(), counts):
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

    async def _list_repositories(self, registry: str) -> dict[str, Fingerprint]:
        repos = await self._client.repositories.list(registry, per_page=PER_PAGE).collect()
        return {r.name: _fingerprint(r) for r in repos if self._only is None or r.name in self._only}

    async def _read(
        self, name: str, *, manifests: bool
    ) -> tuple[dict[str, tuple[str, str]], set[str] | None]:
        assert self._state is not None
        registry = self._state.registry
        tags = tag_map(await self._client.tags.list(name, registry=registry, per_page=PER_PAGE).collect())
        if not manifests:
            return tags, None
        listed = await self._client.manifests.list(name, registry=registry, per_page=PER_PAGE).collect()
        return tags, {m.digest for m in listed}

    async def _create(self, name: str, fp: Fingerprint, now: datetime) -> list[Step]:
        assert self._state is not None
        state = self._state
        repo = RepositoryState()
        created = RepositoryCreated(
            registry=state.registry, repository=name, occurred_at=_when(fp), observed_at=now
        )
        steps: list[Step] = [(created, partial(state.repositories.__setitem__, name, repo))]
        return steps + await self._refresh(name, fp, with_manifests=True, repo=repo)

    async def _baseline(self, name: str) -> list[Step]:
        """Read a pending repository: silently, or (``replay``) as a created one."""
        assert self._state is not None
        state = self._state
        fp = state.pending[name]
        drop: Step = (None, partial(state.pending.pop, name, None))
        if self._replay:
            return [drop, *await self._create(name, fp, self._now())]
        try:
            tags, manifests = await self._read(name, manifests=True)
        except NotFoundError:
            return [drop]
        repo = RepositoryState(fingerprint=fp, tags=tags, manifests=manifests or set())
        return [drop, (None, partial(state.repositories.__setitem__, name, repo))]

    async def _refresh(
        self, name: str, fp: Fingerprint, *, with_manifests: bool, repo: RepositoryState | None = None
    ) -> list[Step]:
        """Re-read one repository: its changes, then recording ``fp`` once all are applied."""
        assert self._state is not None
        if repo is None:
            repo = self._state.repositories[name]
        need_manifests = with_manifests and (fp[3] != repo.fingerprint[3] or fp[0] not in repo.manifests)
        try:
            tags, manifests = await self._read(name, manifests=need_manifests)
        except NotFoundError:
            return []  # deleted since the listing: the next listing reports it
        events = diff_repository(
            repo, tags, manifests, registry=self._state.registry, repository=name, observed_at=self._now()
        )
        steps: list[Step] = [(event, partial(apply_event, repo, event)) for event in events]

        def done() -> None:
            assert repo is not None
            repo.tags = tags
            if manifests is not None:
                repo.manifests = manifests
            repo.manifests.update(digest for digest, _ in tags.values())
            repo.fingerprint = fp

        steps.append((None, done))
        return steps

    async def _gcs(self, *, record_only: bool = False) -> list[Step]:
        state = self._state
        assert state is not None
        page = await self._client.garbage_collections.list(state.registry, per_page=20)
        self._gc_active = any(not gc.is_terminal for gc in page.items)
        if record_only:
            state.garbage_collections.update((gc.uuid, gc.status) for gc in page.items)
            return []
        now = self._now()
        steps: list[Step] = []
        for gc in sorted(page.items, key=lambda g: (stamp(g.created_at), g.uuid)):
            known = state.garbage_collections.get(gc.uuid)
            record = partial(state.garbage_collections.__setitem__, gc.uuid)
            if known is None:
                started = GarbageCollectionStarted(
                    registry=state.registry,
                    uuid=gc.uuid,
                    type=gc.type,
                    occurred_at=gc.created_at,
                    observed_at=now,
                )
                steps.append((started, partial(record, "requested")))
            if gc.is_terminal and known not in TERMINAL_STATUSES:
                finished = GarbageCollectionFinished(
                    registry=state.registry,
                    uuid=gc.uuid,
                    status=gc.status,
                    freed_bytes=gc.freed_bytes,
                    blobs_deleted=gc.blobs_deleted,
                    occurred_at=gc.updated_at,
                    observed_at=now,
                )
                steps.append((finished, partial(record, gc.status)))
            elif not gc.is_terminal:
                steps.append((None, partial(record, gc.status)))
        return steps

    async def _storage(self) -> list[Step]:
        state = self._state
        assert state is not None
        registry = await self._client.registries.get(state.registry)
        used = registry.storage_usage_bytes
        if used is None or used == state.storage_usage_bytes:
            return []
        changed = StorageChanged(
            registry=state.registry,
            storage_usage_bytes=used,
            previous_bytes=state.storage_usage_bytes,
            occurred_at=registry.storage_usage_bytes_updated_at,
            observed_at=self._now(),
        )
        return [(changed, partial(setattr, state, "storage_usage_bytes", used))]


def _deleted(state: WatchState, name: str, now: datetime) -> Step:
    event = RepositoryDeleted(
        registry=state.registry,
        repository=name,
        last_digest=state.repositories[name].fingerprint[0],
        observed_at=now,
    )
    return (event, partial(state.repositories.pop, name, None))


def _when(fp: Fingerprint) -> datetime | None:
    return datetime.fromisoformat(fp[1]) if fp[1] else None


def _kind(value: type[WatchEvent] | str) -> str:
    if isinstance(value, str) and value in EVENT_KINDS:
        return value
    if isinstance(value, type) and issubclass(value, WatchEvent) and value.kind in EVENT_KINDS:
        return value.kind
    raise ValidationError("kinds", value, f"must be an event class or one of {sorted(EVENT_KINDS)}")
