"""What to retry and how long to back off (``Retry-After`` parsing is re-exported from the leaf).

Everything here is pure: no I/O, no clock of its own (``now`` and ``rng`` are passed in), so the
transport's request loop stays small and this module is tested by tables. The one decision the
loop asks for after every attempt is :meth:`RetryPolicy.decide`; :func:`fits_deadline` is the one
deadline check; :data:`NOT_SENT_ERRORS` and :data:`TRANSPORT_ERRORS` the one table of failures.
"""

from __future__ import annotations

import asyncio
import enum
import random
from typing import TYPE_CHECKING, Any

import aiohttp
import attrs

from ._ratelimit_headers import RETRY_AFTER_CAP, parse_retry_after
from .exceptions import APIConnectionError, DOCRError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "DEFAULT_RETRY",
    "NOT_SENT_ERRORS",
    "NO_RETRY",
    "RETRY_AFTER_CAP",
    "TRANSPORT_ERRORS",
    "Action",
    "Decision",
    "RetryPolicy",
    "fits_deadline",
    "parse_retry_after",
]

_RETRYABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectionError,  # includes ServerDisconnectedError, ClientOSError, ServerTimeoutError
    aiohttp.ClientPayloadError,  # the body was cut short
    TimeoutError,  # asyncio.TimeoutError is TimeoutError on Python >= 3.11
    ConnectionError,  # a bare ConnectionResetError / BrokenPipeError escaping aiohttp
    APIConnectionError,  # our own wrapper (APITimeoutError included)
)
NOT_SENT_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectorError,  # DNS failure, refused: no connection, so nothing was sent
    aiohttp.ConnectionTimeoutError,  # the connect timeout fired before a connection existed
)
"""Failures after which the request surely never left this machine: safe to retry any method."""
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
    aiohttp.ClientResponseError,  # a malformed status line, header, chunk size or Content-Length
    TimeoutError,
)
"""What an attempt may raise instead of giving a response (the transport catches exactly these)."""
_PERMANENT_EXCEPTIONS: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectorCertificateError,  # a bad certificate does not fix itself
)
_EXPONENT_CAP = 62
"""``2**62`` is far beyond any sane ``backoff_max``; capping the exponent avoids float overflow."""

_rng = random.Random()  # noqa: S311 -- jitter, not cryptography


def fits_deadline(deadline: float | None, now: float, delay: float) -> bool:
    """Whether waiting ``delay`` from ``now`` still leaves time for an attempt before ``deadline``.

    The one deadline check of the package (``deadline`` and ``now`` on ``Clock.monotonic``).
    """
    return deadline is None or now + delay < deadline


class Action(enum.Enum):
    """What the request loop does next (see :meth:`RetryPolicy.decide`)."""

    RETURN = "return"
    """The response is the result."""
    RETRY = "retry"
    """A real failure worth another attempt: sleep ``Decision.delay``, then send again."""
    WAIT = "wait"
    """A 429: the limiter now pauses every task; send again through its slot, which waits it out."""
    RAISE = "raise"
    """Give up: raise the typed error (with ``Decision.retry_after``)."""


@attrs.frozen(slots=True)
class Decision:
    """The outcome of :meth:`RetryPolicy.decide`."""

    action: Action
    delay: float = 0.0
    """``RETRY``: seconds to sleep first. ``WAIT``: the pause the limiter's slot will wait out."""
    retry_after: float | None = None
    """``RAISE``: the wait the server asked for, reported in ``TooManyRequestsError``."""


_RETURN = Decision(Action.RETURN)


def _to_statuses(value: Iterable[int]) -> frozenset[int]:
    return frozenset(value)


def _to_methods(value: Iterable[str]) -> frozenset[str]:
    return frozenset(method.upper() for method in value)


def _check_statuses(_instance: object, attribute: attrs.Attribute[Any], value: frozenset[int]) -> None:
    bad = sorted(status for status in value if status != 429 and not 500 <= status <= 599)
    if bad:
        msg = (
            f"{attribute.name} may hold only 429 and 5xx statuses, not {bad}: "
            "other 4xx responses (409 above all) are real errors at DigitalOcean"
        )
        raise ValueError(msg)


def _check_non_negative(_instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not value >= 0:  # also rejects nan
        msg = f"{attribute.name} must be >= 0, got {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """What to retry and how long to wait. The defaults suit DigitalOcean.

    Retries are safe by construction: a 429 is retried for any method (the request was refused,
    not processed), a 5xx only for idempotent methods, and no other 4xx ever (a 409 is a real
    conflict at DigitalOcean).
    """

    max_attempts: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    """Attempts that may fail for real (5xx, connection errors, timeouts), the first included;
    ``1`` means no retry after a failure. 429s do not count: see ``max_429s``."""
    backoff_base: float = attrs.field(default=0.5, validator=_check_non_negative)
    """The delay before the first retry, doubled for each further one (before jitter)."""
    backoff_max: float = attrs.field(default=30.0, validator=_check_non_negative)
    """The longest backoff delay."""
    jitter: float = attrs.field(default=1.0, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)])
    """Fraction of the delay that is randomised: ``1.0`` is full jitter, ``0.0`` none."""
    deadline: float | None = attrs.field(default=300.0, validator=_check_non_negative)
    """Overall seconds for one call, timed by the limiter's clock: waits for rate-limit budget, 429
    pauses, backoff sleeps and every attempt (the last one's timeout shrinks to what is left).
    ``None`` for no deadline; ``0`` leaves no time for any attempt. A budget wait must also be
    within ``max_wait``."""
    retry_statuses: frozenset[int] = attrs.field(
        default=frozenset({429, 500, 502, 503, 504}), converter=_to_statuses, validator=_check_statuses
    )
    """Statuses worth retrying; only 429 and 5xx are allowed."""
    idempotent_methods: frozenset[str] = attrs.field(
        default=frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}), converter=_to_methods
    )
    """Methods that may be repeated after a 5xx or after the request was sent (upper case)."""
    max_retry_after: float = attrs.field(default=900.0, validator=_check_non_negative)
    """A 429 asking for a longer wait than this is not waited for; the error is raised instead."""
    max_429s: int = attrs.field(default=50, validator=attrs.validators.ge(0))
    """429s one call waits out before raising ``TooManyRequestsError``. A 429 is an instruction to
    wait, not a failed attempt: it does not count against ``max_attempts`` (waits are bounded by
    ``max_wait`` and ``deadline``); this generous cap only keeps a call from looping forever."""

    def decide(
        self,
        method: str,
        *,
        status: int | None = None,
        failure: BaseException | None = None,
        sent: bool = True,
        failures: int,
        rate_limited: int = 0,
        retry_after: float | None = None,
        pause: float | None = None,
        now: float,
        deadline: float | None,
        rng: random.Random | None = None,
    ) -> Decision:
        """Decide what follows a response (``status``) or a failed attempt (``failure``). Pure.

        Args:
            method: The HTTP method.
            status: The response status, when there is a response.
            failure: What the attempt raised instead, when there is none.
            sent: Whether the failed request may have reached the server.
            failures: Real failures of this call so far, this one included (5xx, other error
                statuses, connection errors, timeouts): compared with ``max_attempts``.
            rate_limited: 429s of this call so far, this one included: compared with ``max_429s``.
            retry_after: The (trusted) ``Retry-After`` of the response, in seconds.
            pause: After a 429, the pause the limiter now imposes on every task (``Limiter.on_429``).
            now: ``Clock.monotonic()`` now.
            deadline: The call's deadline on the same clock (``None``: none).
            rng: Random source of the backoff jitter.

        Returns:
            ``RETURN`` for a 2xx; ``WAIT`` for a 429 whose pause fits ``max_retry_after``, the
            deadline and ``max_429s``; ``RETRY`` after ``delay`` for a retryable 5xx or failure
            within ``max_attempts`` and the deadline; ``RAISE`` otherwise.
        """
        if failure is not None:
            if self.should_retry_exception(method, failure, sent=sent, attempt=failures):
                delay = self.backoff(failures, rng=rng)
                if fits_deadline(deadline, now, delay):
                    return Decision(Action.RETRY, delay)
            return Decision(Action.RAISE)
        if status is None or status < 300:
            return _RETURN
        if status == 429:
            wait = retry_after if pause is None else pause
            if (
                wait is not None
                and 429 in self.retry_statuses
                and rate_limited <= self.max_429s
                and wait <= self.max_retry_after
                and fits_deadline(deadline, now, wait)
            ):
                return Decision(Action.WAIT, wait)
            return Decision(Action.RAISE, retry_after=wait)
        if self.should_retry_status(method, status, failures):
            delay = self.backoff(failures, rng=rng)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.max_retry_after))
            if fits_deadline(deadline, now, delay):
                return Decision(Action.RETRY, delay)
        return Decision(Action.RAISE, retry_after=retry_after)

    def deadline_at(self, now: float) -> float | None:
        """The deadline of a call starting at ``now`` (``Clock.monotonic``), or ``None``."""
        return None if self.deadline is None else now + self.deadline

    def is_idempotent(self, method: str) -> bool:
        """Return whether ``method`` may safely be sent twice."""
        return method.upper() in self.idempotent_methods

    def should_retry_status(self, method: str, status: int, attempt: int) -> bool:
        """Return whether a response with ``status`` deserves another attempt.

        Args:
            method: The HTTP method of the request.
            status: The response status.
            attempt: The 1-based number of the attempt that just failed.

        Returns:
            ``True`` for a 429 (any method) or a 5xx listed in ``retry_statuses`` for an idempotent
            method, while ``attempt < max_attempts``; ``False`` otherwise.
        """
        if attempt >= self.max_attempts or status not in self.retry_statuses:
            return False
        if status == 429:
            return True
        return self.is_idempotent(method)

    def should_retry_exception(self, method: str, exc: BaseException, *, sent: bool, attempt: int) -> bool:
        """Return whether a request that failed with ``exc`` deserves another attempt.

        Connection failures before anything was sent are retried for any method; timeouts and
        dropped connections after the request was sent only for idempotent methods (the server may
        have acted on it). A connect error (``ClientConnectorError``, ``ConnectionTimeoutError``)
        counts as not sent whatever ``sent`` says. Cancellation, certificate errors, our own
        non-connection errors and every other exception are never retried.

        Args:
            method: The HTTP method of the request.
            exc: The exception raised by the attempt.
            sent: Whether the request may have reached the server.
            attempt: The 1-based number of the attempt that just failed.

        Returns:
            Whether to try again.
        """
        if attempt >= self.max_attempts or isinstance(exc, asyncio.CancelledError):
            return False
        if not isinstance(exc, _RETRYABLE_EXCEPTIONS) or isinstance(exc, _PERMANENT_EXCEPTIONS):
            return False
        if isinstance(exc, DOCRError) and not isinstance(exc, APIConnectionError):
            return False  # e.g. WaitTimeoutError is a TimeoutError but not a transport failure
        if not sent or isinstance(exc, NOT_SENT_ERRORS):
            return True
        return self.is_idempotent(method)

    def backoff(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """Return the delay before the retry that follows failed attempt ``attempt``.

        The base delay is ``min(backoff_max, backoff_base * 2**(attempt - 1))``; jitter then takes a
        random part of it away: ``delay * (1 - jitter * rng.random())``. With ``jitter=1`` that is
        "full jitter" (uniform in ``(0, delay]``), with ``jitter=0`` the exact delay. The result is
        always within ``[0, backoff_max]``.

        Args:
            attempt: The 1-based number of the attempt that just failed (values below 1 count as 1).
            rng: The random source; a module-level ``random.Random`` when omitted.

        Returns:
            Seconds to sleep.
        """
        exponent = min(max(attempt - 1, 0), _EXPONENT_CAP)
        delay = min(self.backoff_max, self.backoff_base * float(2**exponent))
        if self.jitter:
            delay *= 1.0 - self.jitter * (rng or _rng).random()
        return min(max(delay, 0.0), self.backoff_max)

    def retry_delay(
        self, attempt: int, *, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Return the wait before the next attempt: the server's ``Retry-After`` if given, else backoff."""
        if retry_after is not None and retry_after >= 0:
            return retry_after
        return self.backoff(attempt, rng=rng)

    def within_deadline(self, elapsed: float, delay: float = 0.0) -> bool:
        """Return whether waiting ``delay`` more seconds after ``elapsed`` stays within the deadline."""
        return self.deadline is None or elapsed + delay <= self.deadline

    def with_(self, **changes: Any) -> RetryPolicy:
        """Return a copy with some fields changed (validated like the constructor)."""
        return attrs.evolve(self, **changes)


DEFAULT_RETRY = RetryPolicy()
"""The default policy: 5 attempts, 0.5 s doubling to 30 s with full jitter, 300 s deadline."""
NO_RETRY = RetryPolicy(max_attempts=1, max_429s=0)
"""A policy that never retries."""
