"""Execute a cleanup plan: concurrent deletions through the client's shared limiter and retries.

- A 404 on delete counts as already gone (a retried DELETE whose first response was lost, or a
  rerun after an interruption).
- Before deleting any manifest by digest, the repository's manifests are listed again: a manifest
  that gained a tag since planning is skipped, so nothing the user did not ask for is deleted.
- Repeated 401/403/409 responses (revoked token, registry read-only) trip a circuit breaker, and an
  exhausted rate-limit budget stops the run: remaining items are reported as not attempted instead
  of burning budget on requests that cannot succeed.
- Cancellation (Ctrl-C) stops scheduling; :attr:`CleanupExecutor.report` still accounts for every
  item (deleted, already gone, failed, skipped, or not attempted).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import attrs

from .._constants import LOGGER_NAME
from .._transport import RequestStats
from ..exceptions import (
    APIStatusError,
    AuthenticationError,
    ConflictError,
    DOCRError,
    GarbageCollectionActiveError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitBudgetError,
)
from .plan import CleanupPlan, Deletion, DeletionKind

if TYPE_CHECKING:
    from .._client import DOCRClient

__all__ = ["CleanupExecutor", "CleanupReport", "ItemResult", "ItemStatus", "execute_plan"]

logger = logging.getLogger(LOGGER_NAME)


class ItemStatus(StrEnum):
    """The outcome of one planned deletion."""

    DELETED = "deleted"
    ALREADY_GONE = "already_gone"
    FAILED = "failed"
    SKIPPED = "skipped"
    NOT_ATTEMPTED = "not_attempted"
    WOULD_DELETE = "would_delete"


_DONE = frozenset({ItemStatus.DELETED, ItemStatus.ALREADY_GONE})


@attrs.frozen(kw_only=True)
class ItemResult:
    """The outcome of one planned deletion.

    Attributes:
        deletion: What was planned.
        status: What happened.
        detail: Why (the error, the skip reason), if anything needs saying.
        status_code: The HTTP status of a failure, if any.
        request_id: The request id of a failure, if any.
    """

    deletion: Deletion
    status: ItemStatus
    detail: str | None = None
    status_code: int | None = None
    request_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "key": self.deletion.key,
            "kind": self.deletion.kind.value,
            "repository": self.deletion.repository,
            "tag": self.deletion.tag,
            "digest": self.deletion.digest,
            "tags": list(self.deletion.tags),
            "status": self.status.value,
            "detail": self.detail,
            "status_code": self.status_code,
            "request_id": self.request_id,
        }


@attrs.frozen(kw_only=True)
class CleanupReport:
    """What a cleanup run did, item by item.

    Attributes:
        registry: The registry.
        dry_run: True when nothing was sent.
        results: One result per planned deletion, in plan order.
        duration_seconds: Wall time of the run.
        requests: The client's traffic during the run (attempts, retries, 429s, 5xx ...).
        stopped_reason: Why the run stopped early, if it did.
        expected_freed_bytes: The plan's estimate of storage freed after GC.
    """

    registry: str
    dry_run: bool
    results: tuple[ItemResult, ...]
    duration_seconds: float
    requests: RequestStats
    stopped_reason: str | None = None
    expected_freed_bytes: int = 0

    @property
    def counts(self) -> dict[str, int]:
        """Number of items per status (every status present, zeros included)."""
        counts = dict.fromkeys((s.value for s in ItemStatus), 0)
        for result in self.results:
            counts[result.status.value] += 1
        return counts

    @property
    def ok(self) -> bool:
        """True when every item was deleted (or already gone), or it was a dry run."""
        return all(r.status in _DONE or r.status is ItemStatus.WOULD_DELETE for r in self.results)

    @property
    def tags_removed(self) -> int:
        """Tags that are gone now, counting those removed with their manifest."""
        return sum(
            (1 if r.deletion.kind is DeletionKind.TAG else len(r.deletion.tags))
            for r in self.results
            if r.status in _DONE
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "registry": self.registry,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "stopped_reason": self.stopped_reason,
            "duration_seconds": round(self.duration_seconds, 3),
            "counts": self.counts,
            "tags_removed": self.tags_removed,
            "expected_freed_bytes": self.expected_freed_bytes,
            "requests": attrs.asdict(self.requests),
            "items": [r.to_dict() for r in self.results],
        }

    def to_json(self) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=2)


Progress = Callable[[ItemResult], None]


class CleanupExecutor:
    """Runs one plan once. Read :attr:`report` at any time, also after cancellation.

    Args:
        client: The client (its limiter and retry policy apply to every deletion).
        plan: The plan to execute.
        concurrency: Deletions in flight at once.
        dry_run: Send nothing; every item is reported as ``would_delete``.
        progress: Called with each item's result as it completes.
        max_consecutive_failures: Consecutive 401/403/409 responses that stop the run.
        check_gc: Refuse to start while a garbage collection holds the registry read-only.
    """

    def __init__(
        self,
        client: DOCRClient,
        plan: CleanupPlan,
        *,
        concurrency: int = 8,
        dry_run: bool = False,
        progress: Progress | None = None,
        max_consecutive_failures: int = 3,
        check_gc: bool = True,
    ) -> None:
        self._client = client
        self._plan = plan
        self._concurrency = max(1, concurrency)
        self._dry_run = dry_run
        self._progress = progress
        self._max_failures = max(1, max_consecutive_failures)
        self._check_gc = check_gc
        self._results: list[ItemResult | None] = [None] * len(plan.deletions)
        self._in_flight: set[int] = set()
        self._stopped: str | None = None
        self._consecutive_failures = 0
        self._started = time.monotonic()
        self._finished: float | None = None
        self._stats_before = client.stats.snapshot()
        self._ran = False

    @property
    def report(self) -> CleanupReport:
        """The report so far: items never started are ``not_attempted``."""
        results = tuple(
            r
            if r is not None
            else ItemResult(
                deletion=d,
                status=ItemStatus.FAILED if i in self._in_flight else ItemStatus.NOT_ATTEMPTED,
                detail=(
                    "interrupted while in flight; outcome unknown (a rerun converges)"
                    if i in self._in_flight
                    else self._stopped
                ),
            )
            for i, (r, d) in enumerate(zip(self._results, self._plan.deletions, strict=True))
        )
        end = self._finished if self._finished is not None else time.monotonic()
        return CleanupReport(
            registry=self._plan.registry,
            dry_run=self._dry_run,
            results=results,
            duration_seconds=end - self._started,
            requests=self._client.stats.since(self._stats_before),
            stopped_reason=self._stopped,
            expected_freed_bytes=self._plan.expected_freed_bytes,
        )

    def _record(self, index: int, result: ItemResult) -> None:
        self._results[index] = result
        if self._progress is not None:
            self._progress(result)

    async def run(self) -> CleanupReport:
        """Execute the plan and return the report.

        Raises:
            GarbageCollectionActiveError: If a garbage collection is running (nothing is sent).
            RuntimeError: If this executor already ran.
        """
        if self._ran:
            raise RuntimeError("a CleanupExecutor runs once; create another")
        self._ran = True
        self._started = time.monotonic()
        self._stats_before = self._client.stats.snapshot()
        try:
            if self._dry_run:
                for index, deletion in enumerate(self._plan.deletions):
                    self._record(index, ItemResult(deletion=deletion, status=ItemStatus.WOULD_DELETE))
                return self.report
            registry = self._plan.registry
            if self._check_gc:
                active = await self._client.garbage_collections.get_active(registry)
                if active is not None:
                    raise GarbageCollectionActiveError(
                        f"garbage collection {active.uuid} is {active.status!r}: "
                        f"{registry} is read-only until it ends",
                        garbage_collection=active,
                    )
            pending = await self._verify_manifests()
            await self._delete_all(pending)
            return self.report
        finally:
            self._finished = time.monotonic()

    async def _verify_manifests(self) -> list[int]:
        """Re-list repositories with manifest deletions; skip manifests that changed since planning."""
        by_repo: dict[str, list[int]] = defaultdict(list)
        for index, deletion in enumerate(self._plan.deletions):
            if deletion.kind is DeletionKind.MANIFEST:
                by_repo[deletion.repository].append(index)
        for repository, indexes in by_repo.items():
            try:
                current = {
                    m.digest: m
                    async for m in self._client.manifests.list(repository, registry=self._plan.registry)
                }
            except NotFoundError:
                current = {}
            for index in indexes:
                deletion = self._plan.deletions[index]
                manifest = current.get(deletion.digest)
                if manifest is None:
                    self._record(index, ItemResult(deletion=deletion, status=ItemStatus.ALREADY_GONE))
                    continue
                extra_tags = set(manifest.tags) - set(deletion.tags)
                if extra_tags:
                    self._record(
                        index,
                        ItemResult(
                            deletion=deletion,
                            status=ItemStatus.SKIPPED,
                            detail=f"manifest gained tags since planning: {sorted(extra_tags)}",
                        ),
                    )
        return [i for i, r in enumerate(self._results) if r is None]

    async def _delete_all(self, indexes: list[int]) -> None:
        queue = iter(indexes)

        async def worker() -> None:
            for index in queue:
                if self._stopped is not None:
                    return
                self._in_flight.add(index)
                result = await self._delete_one(self._plan.deletions[index])
                self._in_flight.discard(index)
                self._record(index, result)

        workers = [asyncio.ensure_future(worker()) for _ in range(min(self._concurrency, len(indexes)))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _delete_one(self, deletion: Deletion) -> ItemResult:
        registry = self._plan.registry
        try:
            if deletion.kind is DeletionKind.TAG:
                assert deletion.tag is not None
                await self._client.tags.delete(
                    deletion.tag, repository=deletion.repository, registry=registry
                )
            else:
                await self._client.manifests.delete(
                    deletion.digest, repository=deletion.repository, registry=registry
                )
        except NotFoundError:
            self._consecutive_failures = 0
            return ItemResult(deletion=deletion, status=ItemStatus.ALREADY_GONE)
        except RateLimitBudgetError as exc:
            self._stop(f"rate-limit budget exhausted: {exc}")
            return ItemResult(deletion=deletion, status=ItemStatus.NOT_ATTEMPTED, detail=str(exc))
        except APIStatusError as exc:
            if isinstance(exc, AuthenticationError | PermissionDeniedError | ConflictError):
                self._consecutive_failures += 1
                if self._consecutive_failures >= self._max_failures:
                    self._stop(
                        f"{self._consecutive_failures} consecutive {exc.status} responses: {exc.message}"
                    )
            return ItemResult(
                deletion=deletion,
                status=ItemStatus.FAILED,
                detail=str(exc),
                status_code=exc.status,
                request_id=exc.request_id,
            )
        except DOCRError as exc:
            return ItemResult(deletion=deletion, status=ItemStatus.FAILED, detail=str(exc))
        self._consecutive_failures = 0
        return ItemResult(deletion=deletion, status=ItemStatus.DELETED)

    def _stop(self, reason: str) -> None:
        if self._stopped is None:
            logger.warning("cleanup of %s stopped: %s", self._plan.registry, reason)
            self._stopped = reason


async def execute_plan(
    client: DOCRClient,
    plan: CleanupPlan,
    *,
    concurrency: int = 8,
    dry_run: bool = False,
    progress: Progress | None = None,
    max_consecutive_failures: int = 3,
) -> CleanupReport:
    """Execute a plan and return its report (see :class:`CleanupExecutor` for the guarantees).

    Raises:
        GarbageCollectionActiveError: If a garbage collection is running (nothing is sent).
    """
    executor = CleanupExecutor(
        client,
        plan,
        concurrency=concurrency,
        dry_run=dry_run,
        progress=progress,
        max_consecutive_failures=max_consecutive_failures,
    )
    return await executor.run()
