"""RetryPolicy decisions, backoff bounds and Retry-After parsing."""

from __future__ import annotations

import asyncio
import math
import random
from email.utils import formatdate
from unittest import mock

import aiohttp
import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from docr_async._retry import DEFAULT_RETRY, NO_RETRY, RETRY_AFTER_CAP, RetryPolicy, parse_retry_after
from docr_async.exceptions import (
    APIConnectionError,
    APITimeoutError,
    RateLimitBudgetError,
    WaitTimeoutError,
)

NOW = 1_700_000_000.0


def http_date(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)


# --------------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("29", 29.0, id="seconds"),
        pytest.param("0", 0.0, id="zero"),
        pytest.param("  7\t", 7.0, id="whitespace"),
        pytest.param("+3", 3.0, id="plus-sign"),
        pytest.param("1.5", 1.5, id="float-seconds"),
        pytest.param(".25", 0.25, id="float-no-leading-digit"),
        pytest.param("2.", 2.0, id="float-trailing-dot"),
        pytest.param(http_date(NOW + 120), 120.0, id="http-date-future"),
        pytest.param(http_date(NOW - 120), 0.0, id="http-date-past"),
        pytest.param(http_date(NOW), 0.0, id="http-date-now"),
        pytest.param("Tue, 14 Nov 2023 22:15:20 -0000", 120.0, id="http-date-no-zone-is-utc"),
        pytest.param("Tue, 14 Nov 2023 23:15:20 +0100", 120.0, id="http-date-offset"),
        pytest.param("-5", None, id="negative"),
        pytest.param("-1.5", None, id="negative-float"),
        pytest.param("-0", None, id="negative-zero"),
        pytest.param("inf", None, id="inf"),
        pytest.param("Infinity", None, id="infinity"),
        pytest.param("-inf", None, id="minus-inf"),
        pytest.param("nan", None, id="nan"),
        pytest.param("NaN", None, id="nan-caps"),
        pytest.param("1e3", None, id="exponent"),
        pytest.param("1_000", None, id="underscore"),
        pytest.param("0x10", None, id="hex"),
        pytest.param("99999999999", RETRY_AFTER_CAP, id="huge"),
        pytest.param("9" * 400, RETRY_AFTER_CAP, id="huge-overflows-float"),
        pytest.param("86401.5", RETRY_AFTER_CAP, id="just-over-cap"),
        pytest.param("Fri, 31 Dec 9999 23:59:59 GMT", RETRY_AFTER_CAP, id="http-date-far-future"),
        pytest.param("", None, id="empty"),
        pytest.param("   ", None, id="blank"),
        pytest.param(None, None, id="missing"),
        pytest.param("garbage", None, id="garbage"),
        pytest.param("soon", None, id="word"),
        pytest.param("12abc", None, id="digits-then-garbage"),
        pytest.param("1 2", None, id="two-numbers"),
        pytest.param("Wed, 99 Oct 2015 07:28:00 GMT", None, id="http-date-bad-day"),
        pytest.param("Fri, 31 Dec 99999 23:59:59 GMT", None, id="http-date-year-out-of-range"),
        pytest.param("٣", None, id="non-ascii-digit"),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    result = parse_retry_after(value, now=NOW)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


def test_parse_retry_after_accepts_non_str_defensively() -> None:
    assert parse_retry_after(29, now=NOW) == 29.0  # type: ignore[arg-type]


@given(st.text(max_size=60))
def test_parse_retry_after_never_raises(value: str) -> None:
    result = parse_retry_after(value, now=NOW)
    assert result is None or (0.0 <= result <= RETRY_AFTER_CAP and not math.isnan(result))


# --------------------------------------------------------------------------- backoff


def test_backoff_without_jitter_is_exact() -> None:
    policy = RetryPolicy(jitter=0)
    assert [policy.backoff(n) for n in range(1, 10)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]


def test_backoff_attempt_below_one_counts_as_one() -> None:
    policy = RetryPolicy(jitter=0)
    assert policy.backoff(0) == policy.backoff(-3) == 0.5


def test_backoff_huge_attempt_does_not_overflow() -> None:
    assert RetryPolicy(jitter=0).backoff(10**6) == 30.0
    assert RetryPolicy(jitter=0, backoff_max=math.inf).backoff(10**6) == 0.5 * 2.0**62


def test_backoff_full_jitter_spreads_over_zero_to_delay() -> None:
    policy = RetryPolicy(backoff_base=1, backoff_max=100)
    rng = random.Random(1)
    delays = [policy.backoff(4, rng=rng) for _ in range(2000)]
    assert all(0 < d <= 8 for d in delays)
    assert min(delays) < 0.5
    assert max(delays) > 7.5


def test_backoff_uses_module_rng_by_default() -> None:
    delay = DEFAULT_RETRY.backoff(3)
    assert 0 <= delay <= 2


@given(
    attempt=st.integers(min_value=-5, max_value=5000),
    seed=st.integers(min_value=0, max_value=2**32),
    base=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    cap=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    jitter=st.floats(min_value=0, max_value=1),
)
def test_backoff_bounds(attempt: int, seed: int, base: float, cap: float, jitter: float) -> None:
    policy = RetryPolicy(backoff_base=base, backoff_max=cap, jitter=jitter)
    delay = policy.backoff(attempt, rng=random.Random(seed))
    undelayed = min(cap, base * 2.0 ** min(max(attempt - 1, 0), 62))
    assert 0.0 <= delay <= cap
    assert delay <= undelayed
    assert delay >= undelayed * (1 - jitter) - 1e-9 * max(undelayed, 1.0)


def test_retry_delay_prefers_retry_after() -> None:
    policy = RetryPolicy(jitter=0)
    assert policy.retry_delay(1, retry_after=12.0) == 12.0
    assert policy.retry_delay(3) == 2.0
    assert policy.retry_delay(3, retry_after=-1) == 2.0


def test_within_deadline() -> None:
    policy = RetryPolicy(deadline=10)
    assert policy.within_deadline(4, 6)
    assert not policy.within_deadline(4, 6.5)
    assert RetryPolicy(deadline=None).within_deadline(1e9, 1e9)


# --------------------------------------------------------------------------- construction


def test_defaults_and_no_retry() -> None:
    assert RetryPolicy() == DEFAULT_RETRY
    assert DEFAULT_RETRY.max_attempts == 5
    assert DEFAULT_RETRY.retry_statuses == {429, 500, 502, 503, 504}
    assert NO_RETRY.max_attempts == 1
    assert not NO_RETRY.should_retry_status("GET", 503, 1)
    assert not NO_RETRY.should_retry_status("GET", 429, 1)


def test_policy_is_frozen_and_with_copies() -> None:
    policy = RetryPolicy()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        policy.max_attempts = 2  # type: ignore[misc]
    other = policy.with_(max_attempts=2, retry_statuses=[429])
    assert other.max_attempts == 2
    assert other.retry_statuses == frozenset({429})
    assert policy.max_attempts == 5


def test_methods_are_normalised_to_upper_case() -> None:
    policy = RetryPolicy(idempotent_methods={"get", "Delete"})
    assert policy.idempotent_methods == {"GET", "DELETE"}
    assert policy.should_retry_status("delete", 503, 1)
    assert not policy.should_retry_status("put", 503, 1)


@pytest.mark.parametrize(
    "changes",
    [
        {"max_attempts": 0},
        {"backoff_base": -1.0},
        {"backoff_max": math.nan},
        {"jitter": 1.5},
        {"jitter": -0.1},
        {"deadline": -1.0},
        {"max_retry_after": -5.0},
        {"retry_statuses": {409}},
        {"retry_statuses": {429, 400}},
        {"retry_statuses": {200}},
    ],
)
def test_invalid_policies_are_rejected(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(changes))):
        RetryPolicy(**changes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=next(iter(changes))):
        DEFAULT_RETRY.with_(**changes)


# --------------------------------------------------------------------------- status decisions

METHODS = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "POST", "PATCH"]
IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
STATUSES = [400, 401, 403, 404, 405, 408, 409, 412, 422, 429, 500, 501, 502, 503, 504]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("method", METHODS)
def test_should_retry_status_table(method: str, status: int) -> None:
    if status == 429:
        expected = True
    elif status in {500, 502, 503, 504}:
        expected = method in IDEMPOTENT
    else:
        expected = False
    assert DEFAULT_RETRY.should_retry_status(method, status, 1) is expected


@pytest.mark.parametrize("method", METHODS)
def test_409_is_never_retried(method: str) -> None:
    for attempt in range(1, 5):
        assert not DEFAULT_RETRY.should_retry_status(method, 409, attempt)


def test_post_on_503_is_not_retried_but_post_on_429_is() -> None:
    assert not DEFAULT_RETRY.should_retry_status("POST", 503, 1)
    assert DEFAULT_RETRY.should_retry_status("POST", 429, 1)
    assert DEFAULT_RETRY.should_retry_status("post", 429, 1)


def test_status_attempt_cap() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.should_retry_status("GET", 503, 1)
    assert policy.should_retry_status("GET", 503, 2)
    assert not policy.should_retry_status("GET", 503, 3)
    assert not policy.should_retry_status("GET", 429, 3)
    assert not policy.should_retry_status("GET", 429, 99)


def test_status_not_listed_is_not_retried() -> None:
    policy = RetryPolicy(retry_statuses={429, 503})
    assert not policy.should_retry_status("GET", 500, 1)
    assert policy.should_retry_status("GET", 503, 1)
    assert RetryPolicy(retry_statuses={501}).should_retry_status("GET", 501, 1)


# --------------------------------------------------------------------------- exception decisions


def connector_error() -> aiohttp.ClientConnectorError:
    return aiohttp.ClientConnectorError(mock.Mock(), OSError(111, "Connection refused"))


def certificate_error() -> aiohttp.ClientConnectorCertificateError:
    return aiohttp.ClientConnectorCertificateError(mock.Mock(), Exception("self-signed"))


TRANSIENT_AFTER_SEND: list[BaseException] = [
    aiohttp.ServerDisconnectedError(),
    aiohttp.ClientOSError(104, "Connection reset by peer"),
    aiohttp.SocketTimeoutError(),
    aiohttp.ClientPayloadError("Response payload is not completed"),
    TimeoutError(),  # asyncio.TimeoutError is the same class
    ConnectionResetError(),
    APIConnectionError("dropped", method="GET", url="https://api.example/v2"),
    APITimeoutError("timed out", method="GET", url="https://api.example/v2"),
]
NEVER_RETRIED: list[BaseException] = [
    asyncio.CancelledError(),
    KeyboardInterrupt(),
    ValueError("x"),
    RuntimeError("x"),
    aiohttp.InvalidURL("nope"),
    aiohttp.ClientResponseError(mock.Mock(), (), status=500),
    aiohttp.TooManyRedirects(mock.Mock(), ()),
    certificate_error(),
    WaitTimeoutError("gc still running"),
    RateLimitBudgetError(wait=60, max_wait=10, reset_at=None, reason="burst"),
]


@pytest.mark.parametrize("exc", TRANSIENT_AFTER_SEND, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("method", METHODS)
def test_transient_errors_before_sending_are_retried_for_any_method(method: str, exc: BaseException) -> None:
    assert DEFAULT_RETRY.should_retry_exception(method, exc, sent=False, attempt=1)


@pytest.mark.parametrize("exc", TRANSIENT_AFTER_SEND, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("method", METHODS)
def test_transient_errors_after_sending_are_retried_only_when_idempotent(
    method: str, exc: BaseException
) -> None:
    assert DEFAULT_RETRY.should_retry_exception(method, exc, sent=True, attempt=1) is (method in IDEMPOTENT)


@pytest.mark.parametrize(
    "exc", [connector_error(), aiohttp.ConnectionTimeoutError()], ids=lambda e: type(e).__name__
)
def test_connect_errors_count_as_not_sent(exc: BaseException) -> None:
    assert DEFAULT_RETRY.should_retry_exception("POST", exc, sent=True, attempt=1)


@pytest.mark.parametrize("exc", NEVER_RETRIED, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("sent", [False, True])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_other_errors_are_never_retried(method: str, sent: bool, exc: BaseException) -> None:
    assert not DEFAULT_RETRY.should_retry_exception(method, exc, sent=sent, attempt=1)


def test_exception_attempt_cap() -> None:
    policy = RetryPolicy(max_attempts=2)
    exc = aiohttp.ServerDisconnectedError()
    assert policy.should_retry_exception("GET", exc, sent=True, attempt=1)
    assert not policy.should_retry_exception("GET", exc, sent=True, attempt=2)
    assert not NO_RETRY.should_retry_exception("GET", exc, sent=False, attempt=1)
