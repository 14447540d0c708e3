"""What a cleanup run did, item by item: statuses, reasons, verification windows, counts."""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Any

import attrs

from .._transport import RequestStats
from .plan import Deletion, DeletionKind

__all__ = ["CleanupReport", "ItemResult", "ItemStatus"]


class ItemStatus(StrEnum):
    """The outcome of one planned deletion.

    ``skipped`` means the executor refused the item for safety (it changed since planning, or the
    plan's own policy forbids it); it is reported with its reason and is not a failure.
    """

    DELETED = "deleted"
    ALREADY_GONE = "already_gone"
    FAILED = "failed"
    SKIPPED = "skipped"
    NOT_ATTEMPTED = "not_attempted"
    WOULD_DELETE = "would_delete"


DONE = frozenset({ItemStatus.DELETED, ItemStatus.ALREADY_GONE})
_NOT_FAILED = DONE | {ItemStatus.SKIPPED, ItemStatus.WOULD_DELETE}


@attrs.frozen(kw_only=True)
class ItemResult:
    """The outcome of one planned deletion.

    Attributes:
        deletion: What was planned.
        status: What happened.
        detail: Why (the error, the skip reason), if anything needs saying.
        status_code: The HTTP status of a failure, if any.
        request_id: The request id of a failure, if any.
        window_seconds: For a DELETE that was sent: seconds from the start of the listing that
            last verified the item to the DELETE's response (an upper bound of the time in which
            a change by someone else could go unseen).
    """

    deletion: Deletion
    status: ItemStatus
    detail: str | None = None
    status_code: int | None = None
    request_id: str | None = None
    window_seconds: float | None = None

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
            "window_seconds": None if self.window_seconds is None else round(self.window_seconds, 3),
            **({} if self.deletion.rule is None else {"rule": self.deletion.rule}),
        }


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile (``fraction`` in 0..1) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


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
        verification_requests: Listing pages read to verify items just before deleting them.
    """

    registry: str
    dry_run: bool
    results: tuple[ItemResult, ...]
    duration_seconds: float
    requests: RequestStats
    stopped_reason: str | None = None
    expected_freed_bytes: int = 0
    verification_requests: int = 0

    @property
    def counts(self) -> dict[str, int]:
        """Number of items per status (every status present, zeros included)."""
        counts = dict.fromkeys((s.value for s in ItemStatus), 0)
        for result in self.results:
            counts[result.status.value] += 1
        return counts

    @property
    def ok(self) -> bool:
        """True when no item failed or was left unattempted (skips for safety are not failures)."""
        return all(r.status in _NOT_FAILED for r in self.results)

    @property
    def skipped(self) -> tuple[ItemResult, ...]:
        """Items refused for safety, each with its reason."""
        return tuple(r for r in self.results if r.status is ItemStatus.SKIPPED)

    @property
    def tags_removed(self) -> int:
        """Tags that are gone now, counting those removed with their manifest."""
        return sum(
            (1 if r.deletion.kind is DeletionKind.TAG else len(r.deletion.tags))
            for r in self.results
            if r.status in DONE
        )

    @property
    def windows(self) -> list[float]:
        """The verification window of every DELETE sent, in seconds."""
        return [r.window_seconds for r in self.results if r.window_seconds is not None]

    @property
    def window_median_seconds(self) -> float | None:
        """Median verification window (last verification to DELETE response), if any DELETE was sent."""
        return percentile(self.windows, 0.5)

    @property
    def window_p99_seconds(self) -> float | None:
        """99th-percentile verification window, if any DELETE was sent."""
        return percentile(self.windows, 0.99)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        median, p99 = self.window_median_seconds, self.window_p99_seconds
        return {
            "registry": self.registry,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "stopped_reason": self.stopped_reason,
            "duration_seconds": round(self.duration_seconds, 3),
            "counts": self.counts,
            "tags_removed": self.tags_removed,
            "expected_freed_bytes": self.expected_freed_bytes,
            "verification": {
                "requests": self.verification_requests,
                "window_median_seconds": None if median is None else round(median, 3),
                "window_p99_seconds": None if p99 is None else round(p99, 3),
            },
            "requests": attrs.asdict(self.requests),
            "items": [r.to_dict() for r in self.results],
        }

    def to_json(self) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=2)
