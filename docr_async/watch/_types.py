"""What a watcher needs of a client (`WatchClient`) and what it reports per poll (`PollStats`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import attrs

from .._namespaces import ResourceNamespaces

if TYPE_CHECKING:
    from .._limiter import Limiter
    from .._protocol import RequestStats
    from .._ratelimit import RateLimitInfo

__all__ = ["PollStats", "WatchClient"]


class WatchClient(ResourceNamespaces, Protocol):
    """What a watcher needs of a :class:`~docr_async.DOCRClient`: its namespaces, stats and rate limit."""

    @property
    def stats(self) -> RequestStats:
        """``client.stats``."""

    @property
    def rate_limit(self) -> RateLimitInfo | None:
        """``client.rate_limit``."""

    @property
    def rate_limiter(self) -> Limiter:
        """``client.rate_limiter``."""


@attrs.frozen(kw_only=True)
class PollStats:
    """What one poll did and cost (``watcher.last_poll``; also logged at DEBUG).

    Attributes:
        number: The poll's number (1 = the first).
        requests: HTTP attempts sent (retries included).
        changed: Repositories re-read because their listing entry changed (or they are new).
        baselined: Repositories read for the first baseline.
        swept: Repositories re-read by the background sweep.
        events: Events found (before the ``kinds`` filter).
        interval: Seconds until the next poll.
        remaining: The hourly budget left, as last reported.
        error: The transient error that cut the poll short, if any.
    """

    number: int
    requests: int
    changed: int = 0
    baselined: int = 0
    swept: int = 0
    events: int = 0
    interval: float = 0.0
    remaining: int | None = None
    error: str | None = None
