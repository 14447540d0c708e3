"""The pure request core, by tables: no I/O, no clock, no event loop.

``RetryPolicy.decide`` (status x method x attempt x headers -> return / retry after d / wait for
budget / raise), ``decipher_response`` (status, headers, body -> result or refusal with a retry
hint), ``build_url`` and the one deadline check.
"""

from __future__ import annotations

import random
from email.utils import formatdate
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from docr_async import NO_RETRY, Clock, RetryPolicy
from docr_async._protocol import APIResponse, Refusal, build_url, decipher_response, request_headers
from docr_async._ratelimit_headers import MAX_TRUSTED_WAIT
from docr_async._retry import Action, Decision, fits_deadline
from docr_async.exceptions import InvalidResponseError

NOW = 1_000.0
"""A monotonic ``now``; deadlines below are relative to it."""
WALL = 1_700_000_000.0

POLICY = RetryPolicy(max_attempts=3, backoff_base=1.0, jitter=0.0, max_retry_after=900.0, max_429s=4)
RETRY, WAIT, RAISE = Action.RETRY, Action.WAIT, Action.RAISE


def decide(method: str, status: int, **kwargs: Any) -> Decision:
    kwargs.setdefault("failures", 0 if status == 429 else 1)
    kwargs.setdefault("deadline", None)
    return POLICY.decide(method, status=status, now=NOW, **kwargs)


# --------------------------------------------------------------------------- responses


@pytest.mark.parametrize("status", [200, 201, 204, 299])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_a_success_is_returned(method: str, status: int) -> None:
    assert decide(method, status) == Decision(Action.RETURN)


@pytest.mark.parametrize(
    ("method", "status", "failures", "retry_after", "expected"),
    [
        # 5xx: idempotent methods only, while failures < max_attempts; delay = backoff(failures)
        ("GET", 500, 1, None, Decision(RETRY, 1.0)),
        ("GET", 503, 2, None, Decision(RETRY, 2.0)),
        ("DELETE", 502, 1, None, Decision(RETRY, 1.0)),
        ("PUT", 504, 1, None, Decision(RETRY, 1.0)),
        ("GET", 500, 3, None, Decision(RAISE)),  # the third real failure of max_attempts=3
        ("POST", 500, 1, None, Decision(RAISE)),  # may have been processed: never repeated
        ("PATCH", 503, 1, None, Decision(RAISE)),
        ("GET", 501, 1, None, Decision(RAISE)),  # not in retry_statuses
        # a 5xx's Retry-After lengthens the backoff (bounded by max_retry_after), never shortens it
        ("GET", 503, 1, 7.0, Decision(RETRY, 7.0)),
        ("GET", 503, 2, 0.5, Decision(RETRY, 2.0)),
        ("GET", 503, 1, 5000.0, Decision(RETRY, 900.0)),
        ("GET", 503, 3, 7.0, Decision(RAISE, retry_after=7.0)),
        # other 4xx: real errors, never retried
        ("GET", 400, 1, None, Decision(RAISE)),
        ("DELETE", 404, 1, None, Decision(RAISE)),
        ("DELETE", 409, 1, None, Decision(RAISE)),
        ("POST", 412, 1, 3.0, Decision(RAISE, retry_after=3.0)),
    ],
)
def test_error_statuses(
    method: str, status: int, failures: int, retry_after: float | None, expected: Decision
) -> None:
    assert decide(method, status, failures=failures, retry_after=retry_after) == expected


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PATCH"])
@pytest.mark.parametrize(
    ("rate_limited", "failures", "pause", "deadline", "expected"),
    [
        (1, 0, 29.0, None, Decision(WAIT, 29.0)),
        (4, 0, 1.0, None, Decision(WAIT, 1.0)),  # the 4th 429 of max_429s=4 is still waited out
        (5, 0, 1.0, None, Decision(RAISE, retry_after=1.0)),  # the 5th is not
        # real failures do not use up 429s, and 429s do not use up attempts
        (1, 2, 1.0, None, Decision(WAIT, 1.0)),
        (4, 2, 1.0, None, Decision(WAIT, 1.0)),
        (1, 0, 900.0, None, Decision(WAIT, 900.0)),
        (1, 0, 901.0, None, Decision(RAISE, retry_after=901.0)),  # beyond max_retry_after
        (1, 0, 10.0, NOW + 10.5, Decision(WAIT, 10.0)),
        (1, 0, 10.0, NOW + 10.0, Decision(RAISE, retry_after=10.0)),  # no time left for the attempt
        (1, 0, 0.0, NOW + 0.1, Decision(WAIT, 0.0)),
    ],
)
def test_a_429_waits_for_budget_and_is_not_a_failed_attempt(
    method: str, rate_limited: int, failures: int, pause: float, deadline: float | None, expected: Decision
) -> None:
    got = decide(method, 429, rate_limited=rate_limited, failures=failures, pause=pause, deadline=deadline)
    assert got == expected


def test_a_429_without_a_pause_uses_its_retry_after() -> None:
    assert decide("GET", 429, rate_limited=1, retry_after=3.0) == Decision(WAIT, 3.0)
    assert decide("GET", 429, rate_limited=1) == Decision(RAISE)  # nothing to wait for


def test_no_retry_never_waits_nor_retries() -> None:
    got = NO_RETRY.decide("GET", status=429, failures=0, rate_limited=1, pause=1.0, now=NOW, deadline=None)
    assert got == Decision(RAISE, retry_after=1.0)
    assert NO_RETRY.decide("GET", status=503, failures=1, now=NOW, deadline=None) == Decision(RAISE)


def test_a_policy_without_429_in_retry_statuses_raises_429s() -> None:
    policy = POLICY.with_(retry_statuses={500})
    got = policy.decide("GET", status=429, failures=0, rate_limited=1, pause=2.0, now=NOW, deadline=None)
    assert got == Decision(RAISE, retry_after=2.0)


@pytest.mark.parametrize(
    ("deadline", "expected"),
    [
        (None, Decision(RETRY, 2.0)),
        (NOW + 2.01, Decision(RETRY, 2.0)),
        (NOW + 2.0, Decision(RAISE)),  # the backoff would end exactly at the deadline
        (NOW - 1.0, Decision(RAISE)),
    ],
)
def test_the_deadline_bounds_backoff(deadline: float | None, expected: Decision) -> None:
    assert decide("GET", 503, failures=2, deadline=deadline) == expected


def test_jitter_draws_from_the_given_rng() -> None:
    policy = POLICY.with_(jitter=1.0)
    got = policy.decide("GET", status=500, failures=2, now=NOW, deadline=None, rng=random.Random(7))
    expected = 2.0 * (1.0 - random.Random(7).random())
    assert got.action is RETRY
    assert got.delay == pytest.approx(expected)


# --------------------------------------------------------------------------- failed attempts


def connector_error() -> aiohttp.ClientConnectorError:
    return aiohttp.ClientConnectorError(mock_key(), OSError(111, "refused"))


def mock_key() -> Any:
    from aiohttp.client_reqrep import ConnectionKey

    return ConnectionKey("127.0.0.1", 1, False, True, None, None, None)


@pytest.mark.parametrize(
    ("method", "failure", "sent", "failures", "expected"),
    [
        ("GET", aiohttp.ServerDisconnectedError(), True, 1, Decision(RETRY, 1.0)),
        ("DELETE", TimeoutError(), True, 2, Decision(RETRY, 2.0)),
        ("GET", aiohttp.ServerDisconnectedError(), True, 3, Decision(RAISE)),  # attempts used up
        ("POST", aiohttp.ServerDisconnectedError(), True, 1, Decision(RAISE)),  # may have been processed
        ("POST", aiohttp.ServerDisconnectedError(), False, 1, Decision(RETRY, 1.0)),  # never sent
        ("POST", connector_error(), True, 1, Decision(RETRY, 1.0)),  # a connect error was never sent
        ("GET", ValueError("a bug"), True, 1, Decision(RAISE)),
    ],
)
def test_failed_attempts(
    method: str, failure: BaseException, sent: bool, failures: int, expected: Decision
) -> None:
    got = POLICY.decide(method, failure=failure, sent=sent, failures=failures, now=NOW, deadline=None)
    assert got == expected


def test_a_failure_whose_backoff_passes_the_deadline_raises() -> None:
    got = POLICY.decide("GET", failure=TimeoutError(), failures=1, now=NOW, deadline=NOW + 0.5)
    assert got == Decision(RAISE)


@pytest.mark.parametrize(
    ("deadline", "now", "delay", "fits"),
    [(None, 5.0, 1e9, True), (10.0, 5.0, 4.9, True), (10.0, 5.0, 5.0, False), (10.0, 11.0, 0.0, False)],
)
def test_the_one_deadline_check(deadline: float | None, now: float, delay: float, fits: bool) -> None:
    assert fits_deadline(deadline, now, delay) is fits


def test_max_429s_is_validated() -> None:
    with pytest.raises(ValueError, match="max_429s"):
        RetryPolicy(max_429s=-1)


# --------------------------------------------------------------------------- decipher_response

META: dict[str, Any] = {
    "status": 0,
    "request_id": "r-1",
    "method": "GET",
    "url": "http://x/v2/registry",
    "rate_limit": None,
    "retries": 0,
}


def decipher(status: int, headers: dict[str, str], body: bytes | None) -> APIResponse | Refusal:
    """Headers arrive case-insensitive, as aiohttp gives them."""
    meta = dict(META, status=status)
    return decipher_response(status, CIMultiDict(headers), body, meta, now=WALL, limit=100)


@pytest.mark.parametrize(
    ("status", "body", "data"),
    [(200, b'{"a": 1}', {"a": 1}), (201, b"[1, 2]", [1, 2]), (204, b"", None), (200, b"  \n", None)],
)
def test_a_success_is_deciphered_to_its_json(status: int, body: bytes, data: Any) -> None:
    got = decipher(status, {}, body)
    assert isinstance(got, APIResponse)
    assert (got.status, got.data, got.request_id, got.url) == (status, data, "r-1", META["url"])


@pytest.mark.parametrize(
    ("status", "headers", "retry_after", "distrusted"),
    [
        (429, {"Retry-After": "29"}, 29.0, False),
        (429, {"retry-after": "1.5"}, 1.5, False),
        (429, {"Retry-After": formatdate(WALL + 120, usegmt=True)}, 120.0, False),  # on the wall clock
        (429, {"Retry-After": formatdate(WALL - 120, usegmt=True)}, 0.0, False),
        (429, {}, None, False),
        (429, {"Retry-After": "soon"}, None, False),
        (429, {"Retry-After": str(int(MAX_TRUSTED_WAIT))}, MAX_TRUSTED_WAIT, False),
        (429, {"Retry-After": str(int(MAX_TRUSTED_WAIT) + 1)}, None, True),  # impossible: missing
        (429, {"Retry-After": "Fri, 31 Dec 2099 23:59:59 GMT"}, None, True),
        (503, {"Retry-After": "5"}, 5.0, False),
        (404, {}, None, False),
    ],
)
def test_an_error_is_deciphered_to_a_refusal_with_its_retry_hint(
    status: int, headers: dict[str, str], retry_after: float | None, distrusted: bool
) -> None:
    got = decipher(status, headers, b'{"id": "x", "message": "no"}')
    assert isinstance(got, Refusal)
    assert (got.status, got.retry_after, got.distrusted) == (status, retry_after, distrusted)
    assert got.body == b'{"id": "x", "message": "no"}'
    assert dict(got.headers) == headers


@pytest.mark.parametrize(("status", "body"), [(200, None), (200, b"{not json"), (404, None)])
def test_an_unreadable_body_is_a_typed_error(status: int, body: bytes | None) -> None:
    with pytest.raises(InvalidResponseError) as caught:
        decipher(status, {}, body)
    assert (caught.value.status, caught.value.request_id) == (status, "r-1")
    assert caught.value.__context__ is None


# --------------------------------------------------------------------------- building a request


@pytest.mark.parametrize(
    ("path", "params", "url"),
    [
        ("/v2/registry", None, "http://h/v2/registry"),
        ("/v2/registries/r/repositories/my%2Fapp/tags", {"per_page": 20, "page": "2"}, None),
        (
            "/v2/registries/r/repositories/a%2Fb/tags/v1",
            {},
            "http://h/v2/registries/r/repositories/a%2Fb/tags/v1",
        ),
    ],
)
def test_build_url_keeps_the_encoded_path(path: str, params: dict[str, Any] | None, url: str | None) -> None:
    built = build_url("http://h", path, params)
    assert built.raw_path == path
    if params:
        assert dict(built.query) == {k: str(v) for k, v in params.items()}
    else:
        assert str(built) == url


def test_request_headers_carry_the_token_and_ask_for_json() -> None:
    headers = request_headers("tok")
    assert headers["Authorization"] == "Bearer tok"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("docr-async/")


# --------------------------------------------------------------------------- the clock


def test_an_injected_clock_drives_both_wall_and_monotonic_time() -> None:
    now = [5.0]
    clock = Clock(lambda: now[0])
    now[0] = 9.0
    assert (clock(), clock.time(), clock.monotonic()) == (9.0, 9.0, 9.0)


def test_the_real_clock_measures_durations_on_the_monotonic_clock() -> None:
    import asyncio
    import time

    clock = Clock()
    assert (clock.time, clock.monotonic, clock.sleep) == (time.time, time.monotonic, asyncio.sleep)
