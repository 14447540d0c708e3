"""Execute a cleanup plan: verify each item just in time, then delete it through the shared limiter.

The API has no conditional delete, so safety comes from checking as late as possible:

- Before anything is sent: the plan's own policy is re-applied to every item (a hand-edited plan
  cannot delete a protected or excluded tag: such items are skipped with the reason; for a plan
  made with a policy file, each repository's own rule, and a deletion recorded under another rule
  than its repository's is skipped too), a plan for
  another registry and a plan that would leave a repository without any tag are refused
  (:class:`PlanRefusedError`; ``allow_empty_repositories=True`` allows the latter), the registry
  must exist (:class:`NotFoundError`) and no garbage collection may be running.
- Per repository, immediately before its deletions, its tags (and manifests, when it has manifest
  deletions) are listed again, strictly (a listing that changes while read is read again, never
  de-duplicated). The listing is read again whenever it is older than ``reverify_after`` seconds
  (client clock) while the repository's deletions go on. Listing pages are the only extra cost:
  never one request per item.
- A tag is deleted only if it still points at the planned digest and was not pushed since; a
  manifest only if every tag now on it is one the plan removes with it. Otherwise the item is
  ``skipped`` with the reason (a skip is not a failure). An item absent from the fresh listing,
  or answering 404 to its DELETE after the listing showed it, is ``already_gone``.
- What remains: a change made between an item's verifying listing and its DELETE is not seen.
  Each result records that window (``window_seconds``); the report gives its median and p99.
- Repeated 401/403/409 responses trip a circuit breaker, and an exhausted rate-limit budget stops
  the run: remaining items are reported as not attempted.
- Cancellation (Ctrl-C, SIGTERM in the CLI) stops scheduling; :attr:`CleanupExecutor.report` still
  accounts for every item (deleted, already gone, failed, skipped, or not attempted).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio
import attrs

from .._constants import LOGGER_NAME
from .._ratelimit import RateLimiter
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
from ._groups import collapse
from .errors import PlanRefusedError
from .plan import CleanupPlan, Deletion, DeletionKind
from .report import CleanupReport, ItemResult, ItemStatus
from .verify import (
    RepositoryView,
    emptied_repositories,
    policy_refusal,
    read_repository,
    removed_tags,
    require_registry,
    rule_verdict,
    verdict,
)

if TYPE_CHECKING:
    from .._client import DOCRClient

__all__ = [
    "DEFAULT_REVERIFY_AFTER",
    "CleanupExecutor",
    "CleanupReport",
    "ItemResult",
    "ItemStatus",
    "execute_plan",
]

logger = logging.getLogger(LOGGER_NAME)

DEFAULT_REVERIFY_AFTER = 10.0
"""Seconds after which a repository's verifying listing is read again before its next DELETE."""

MAX_WAIT_AFTER_CHECK = 2.0
"""Longest wait for rate-limit budget (a slot, a short 429 pause) between an item's verification and
its DELETE (at most ``reverify_after``); a longer one sends the item back to pacing and verification."""

Progress = Callable[[ItemResult], None]
EventHook = Callable[[str, Deletion], None]
"""Called with ``("verified", deletion)`` after an item passed verification, just before its DELETE."""


@attrs.define
class _Repository:
    name: str
    manifests: bool
    removes: set[str]
    lock: anyio.Lock = attrs.field(factory=anyio.Lock)
    view: RepositoryView | None = None
    refusal: tuple[ItemStatus, str] | None = None


class CleanupExecutor:
    """Runs one plan once. Read :attr:`report` at any time, also after cancellation.

    Args:
        client: The client (its limiter, retry policy and clock apply to every request).
        plan: The plan to execute.
        concurrency: Deletions in flight at once.
        dry_run: Send nothing; every item the plan's policy allows is reported as ``would_delete``.
        progress: Called with each item's result as it completes.
        max_consecutive_failures: Consecutive 401/403/409 responses that stop the run.
        check_gc: Refuse to start while a garbage collection holds the registry read-only.
        registry: The registry the caller means; a plan for another one is refused.
        reverify_after: Seconds (client clock) after which a repository is listed again before
            its next DELETE.
        allow_empty_repositories: Allow a plan that leaves a repository without any tag.
        on_event: Called with ``("verified", deletion)`` between an item's verification and its
            DELETE (for progress displays and tests).
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
        registry: str | None = None,
        reverify_after: float = DEFAULT_REVERIFY_AFTER,
        allow_empty_repositories: bool = False,
        on_event: EventHook | None = None,
    ) -> None:
        if not reverify_after >= 0:
            raise ValueError("reverify_after must be >= 0")
        self._client = client
        self._plan = plan
        self._concurrency = max(1, concurrency)
        self._dry_run = dry_run
        self._progress = progress
        self._max_failures = max(1, max_consecutive_failures)
        self._check_gc = check_gc
        self._registry = registry
        self._reverify_after = reverify_after
        self._allow_empty = allow_empty_repositories
        self._on_event = on_event
        self._clock = client.rate_limiter.clock
        # A DELETE waits little for budget after its verification (see _process).
        self._now_or_never = client.with_options(max_wait=min(MAX_WAIT_AFTER_CHECK, reverify_after))
        self._results: list[ItemResult | None] = [None] * len(plan.deletions)
        self._in_flight: set[int] = set()
        self._stopped: str | None = None
        self._consecutive_failures = 0
        self._started = time.monotonic()
        self._finished: float | None = None
        self._stats_before = client.stats.snapshot()
        self._verification_pages = 0
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
            verification_requests=self._verification_pages,
        )

    def _record(self, index: int, result: ItemResult) -> None:
        self._results[index] = result
        if self._progress is not None:
            self._progress(result)

    def _refuse_whole_plan(self) -> None:
        plan = self._plan
        if self._registry is not None and self._registry != plan.registry:
            raise PlanRefusedError(
                f"it was made for registry {plan.registry!r}, not {self._registry!r}",
                plan_registry=plan.registry,
            )
        if self._allow_empty:
            return
        allowed = [d for d in plan.deletions if policy_refusal(plan, d) is None]
        emptied = emptied_repositories(attrs.evolve(plan, deletions=tuple(allowed)))
        if emptied:
            raise PlanRefusedError(
                f"it would leave {len(emptied)} repositories without any tag: {', '.join(emptied)}; "
                "pass allow_empty_repositories=True (--allow-empty-repositories) to allow it",
                plan_registry=plan.registry,
                repositories=tuple(emptied),
            )

    async def run(self) -> CleanupReport:
        """Execute the plan and return the report.

        Raises:
            PlanRefusedError: For a plan of another registry, or one that would leave a repository
                without any tag (nothing is sent).
            NotFoundError: If the registry does not exist (nothing is deleted).
            GarbageCollectionActiveError: If a garbage collection is running (nothing is deleted).
            RuntimeError: If this executor already ran.
            ExceptionGroup: If several workers fail with unexpected errors at once (one such error
                is raised as itself).
        """
        if self._ran:
            raise RuntimeError("a CleanupExecutor runs once; create another")
        self._ran = True
        self._started = time.monotonic()
        self._stats_before = self._client.stats.snapshot()
        try:
            self._refuse_whole_plan()
            pending: list[int] = []
            for index, deletion in enumerate(self._plan.deletions):
                refusal = policy_refusal(self._plan, deletion)
                if refusal is not None:
                    self._record(
                        index, ItemResult(deletion=deletion, status=ItemStatus.SKIPPED, detail=refusal)
                    )
                elif self._dry_run:
                    self._record(index, ItemResult(deletion=deletion, status=ItemStatus.WOULD_DELETE))
                else:
                    pending.append(index)
            if not self._dry_run:
                await self._preflight()
                await self._delete_all(pending)
            return self.report
        finally:
            self._finished = time.monotonic()

    async def _preflight(self) -> None:
        registry = self._plan.registry
        await require_registry(self._client, registry)
        if self._check_gc:
            active = await self._client.garbage_collections.get_active(registry)
            if active is not None:
                raise GarbageCollectionActiveError(
                    f"garbage collection {active.uuid} is {active.status!r}: "
                    f"{registry} is read-only until it ends",
                    garbage_collection=active,
                )

    async def _delete_all(self, indexes: list[int]) -> None:
        deletions = [self._plan.deletions[i] for i in indexes]
        removes = removed_tags(deletions)
        repos: dict[str, _Repository] = {}
        for d in deletions:
            repo = repos.setdefault(d.repository, _Repository(d.repository, False, removes[d.repository]))
            repo.manifests = repo.manifests or d.kind is DeletionKind.MANIFEST
        queue = iter(indexes)

        async def worker() -> None:
            for index in queue:
                if self._stopped is not None:
                    return
                deletion = self._plan.deletions[index]
                self._record(index, await self._process(repos[deletion.repository], index, deletion))

        failure: BaseException | None = None
        try:
            async with anyio.create_task_group() as group:
                for _ in range(min(self._concurrency, len(indexes))):
                    group.start_soon(worker)
        except BaseExceptionGroup as exc:
            failure = collapse(exc)
        if failure is not None:
            raise failure

    async def _process(self, repo: _Repository, index: int, deletion: Deletion) -> ItemResult:
        """Pace, verify, delete. A DELETE waits at most MAX_WAIT_AFTER_CHECK seconds for rate-limit
        budget after its verification: beyond that, the item goes back to pacing and is verified again."""
        while True:
            stop = await self._pace()
            if stop is not None:
                return ItemResult(deletion=deletion, status=ItemStatus.NOT_ATTEMPTED, detail=stop)
            view, refusal = await self._verify(repo, deletion)
            if refusal is not None:
                return refusal
            assert view is not None
            if self._on_event is not None:
                self._on_event("verified", deletion)
            self._in_flight.add(index)
            result = await self._delete_one(deletion)
            self._in_flight.discard(index)
            if result is None:
                continue  # no budget soon enough: wait, then verify again
            if result.status in (ItemStatus.DELETED, ItemStatus.ALREADY_GONE):
                view.forget(deletion)
            return attrs.evolve(result, window_seconds=max(0.0, self._clock() - view.listed_at))

    async def _pace(self) -> str | None:
        """Wait until the limiter would send at once (None), or say why the run stops.

        Without this, items verified just before the burst window fills would wait for a slot
        (up to a minute at 250/min) between their verification and their DELETE.
        """
        limiter = self._client.rate_limiter
        if not isinstance(limiter, RateLimiter):
            return None  # a custom Limiter says nothing about its next wait: verify and send
        while (wait := limiter.next_wait()) > 0:
            if wait > limiter.max_wait:
                self._stop(f"rate-limit budget exhausted: the next request may go in {wait:.0f} s")
                return self._stopped
            await limiter.sleep(wait)
        return None

    async def _verify(
        self, repo: _Repository, deletion: Deletion
    ) -> tuple[RepositoryView | None, ItemResult | None]:
        """The repository's fresh view and None, or None and the item's result without a DELETE."""
        async with repo.lock:
            now = self._clock()
            if repo.view is None or now - repo.view.listed_at >= self._reverify_after:
                try:
                    repo.view = await read_repository(
                        self._client, self._plan.registry, repo.name, manifests=repo.manifests, now=now
                    )
                except NotFoundError:
                    repo.view = RepositoryView(listed_at=now, exists=False)
                except RateLimitBudgetError as exc:
                    self._stop(f"rate-limit budget exhausted: {exc}")
                    return None, ItemResult(
                        deletion=deletion, status=ItemStatus.NOT_ATTEMPTED, detail=str(exc)
                    )
                except DOCRError as exc:
                    return None, self._failure(deletion, exc, "verification failed: ")
                self._verification_pages += repo.view.pages
                if repo.refusal is None and not self._allow_empty and repo.view.exists:
                    current = set(repo.view.tags)
                    if current and current <= repo.removes:
                        repo.refusal = (
                            ItemStatus.SKIPPED,
                            f"would leave {repo.name} without any tag (every tag it has now is planned "
                            "for deletion); allow_empty_repositories=True allows it",
                        )
            view = repo.view
        if repo.refusal is not None and (deletion.kind is DeletionKind.TAG or deletion.tags):
            status, detail = repo.refusal
            return None, ItemResult(deletion=deletion, status=status, detail=detail)
        found = verdict(view, deletion) or rule_verdict(self._plan, view, deletion)
        if found is not None:
            status, detail = found
            return None, ItemResult(deletion=deletion, status=status, detail=detail)
        return view, None

    async def _delete_one(self, deletion: Deletion) -> ItemResult | None:
        """The DELETE's result; None when no rate-limit budget came soon enough (nothing more sent)."""
        registry = self._plan.registry
        client = self._now_or_never
        try:
            if deletion.kind is DeletionKind.TAG:
                assert deletion.tag is not None
                await client.tags.delete(deletion.tag, repository=deletion.repository, registry=registry)
            else:
                await client.manifests.delete(
                    deletion.digest, repository=deletion.repository, registry=registry
                )
        except NotFoundError:
            self._consecutive_failures = 0
            return ItemResult(
                deletion=deletion,
                status=ItemStatus.ALREADY_GONE,
                detail="listed when verified, then 404: deleted by someone else in the meantime",
            )
        except RateLimitBudgetError:
            return None
        except DOCRError as exc:
            return self._failure(deletion, exc)
        self._consecutive_failures = 0
        return ItemResult(deletion=deletion, status=ItemStatus.DELETED)

    def _failure(self, deletion: Deletion, exc: DOCRError, prefix: str = "") -> ItemResult:
        if not isinstance(exc, APIStatusError):
            return ItemResult(deletion=deletion, status=ItemStatus.FAILED, detail=prefix + str(exc))
        if isinstance(exc, AuthenticationError | PermissionDeniedError | ConflictError):
            self._consecutive_failures += 1
            if self._consecutive_failures >= self._max_failures:
                self._stop(f"{self._consecutive_failures} consecutive {exc.status} responses: {exc.message}")
        return ItemResult(
            deletion=deletion,
            status=ItemStatus.FAILED,
            detail=prefix + str(exc),
            status_code=exc.status,
            request_id=exc.request_id,
        )

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
    registry: str | None = None,
    reverify_after: float = DEFAULT_REVERIFY_AFTER,
    allow_empty_repositories: bool = False,
) -> CleanupReport:
    """Execute a plan and return its report (see :class:`CleanupExecutor` for the guarantees).

    Raises:
        PlanRefusedError: For a plan of another registry or one that empties a repository.
        NotFoundError: If the registry does not exist (nothing is deleted).
        GarbageCollectionActiveError: If a garbage collection is running (nothing is deleted).
    """
    executor = CleanupExecutor(
        client,
        plan,
        concurrency=concurrency,
        dry_run=dry_run,
        progress=progress,
        max_consecutive_failures=max_consecutive_failures,
        registry=registry,
        reverify_after=reverify_after,
        allow_empty_repositories=allow_empty_repositories,
    )
    return await executor.run()
