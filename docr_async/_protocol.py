"""What goes over the wire and what comes back, without I/O.

The request loop in :mod:`._transport` does the I/O; the decisions about what a response or a
failure means live here as pure functions: the shapes (:class:`Timeout`, :class:`APIResponse`,
:class:`RequestStats`), parsing a success body, mapping an error response or a failed attempt to
the SDK's typed error (the token scrubbed, nothing chained), and the deadline arithmetic.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
import attrs
from yarl import URL

from ._builders import frozen_builder
from ._constants import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    HEADER_REQUEST_ID,
    HEADER_RETRY_AFTER,
)
from ._ratelimit_headers import MAX_TRUSTED_WAIT, RateLimitInfo, parse_retry_after
from ._version import __version__
from .exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InvalidResponseError,
    TooManyRequestsError,
    status_error_class,
)

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

__all__ = [
    "APIResponse",
    "Refusal",
    "RequestStats",
    "Timeout",
    "build_url",
    "connection_error",
    "decipher_response",
    "describe_error_body",
    "parse_json",
    "request_headers",
    "shrink_timeout",
    "status_error",
    "user_agent",
    "wrong_loop_message",
]


def user_agent() -> str:
    """``docr-async/<v> aiohttp/<v> python/<v>``."""
    return f"docr-async/{__version__} aiohttp/{aiohttp.__version__} python/{platform.python_version()}"


@attrs.frozen(kw_only=True)
class Timeout:
    """Request timeouts in seconds, per attempt.

    Attributes:
        connect: Time to get a connection (including waiting for a pooled one).
        total: Time for the whole attempt, response body included.
    """

    connect: float | None = DEFAULT_CONNECT_TIMEOUT
    total: float | None = DEFAULT_TOTAL_TIMEOUT

    def to_aiohttp(self) -> aiohttp.ClientTimeout:
        """The equivalent :class:`aiohttp.ClientTimeout`."""
        return aiohttp.ClientTimeout(total=self.total, connect=self.connect)


@attrs.frozen(kw_only=True)
class APIResponse:
    """A successful response, before it is structured into models.

    Attributes:
        status: HTTP status (2xx).
        data: Parsed JSON body, or ``None`` for an empty body (204).
        rate_limit: The rate-limit state reported with the response.
        request_id: The ``x-request-id`` header, if sent.
        retries: How many retries the request took.
        method: The request method.
        url: The request URL.
    """

    status: int
    data: Any
    rate_limit: RateLimitInfo | None
    request_id: str | None
    retries: int
    method: str
    url: str


@attrs.define
class RequestStats:
    """Counters of one client's traffic (shared by its ``with_options`` copies).

    Attributes:
        attempts: HTTP attempts sent (each retry counts).
        retries: Attempts that were retries.
        rate_limited: 429 responses received.
        server_errors: 5xx responses received.
        connection_errors: Attempts that failed without a response.
    """

    attempts: int = 0
    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    connection_errors: int = 0

    def snapshot(self) -> RequestStats:
        """A copy, to diff against later."""
        return attrs.evolve(self)

    def since(self, earlier: RequestStats) -> RequestStats:
        """The traffic between ``earlier`` (a snapshot) and now."""
        return RequestStats(
            **{name: getattr(self, name) - getattr(earlier, name) for name in attrs.fields_dict(RequestStats)}
        )


_build_response = frozen_builder(APIResponse)


def request_headers(token: str) -> dict[str, str]:
    """The headers of every request: the token, the user agent, JSON wanted."""
    return {"Authorization": f"Bearer {token}", "User-Agent": user_agent(), "Accept": "application/json"}


def build_url(base: str, path: str, params: Mapping[str, str | int] | None = None) -> URL:
    """The URL of a call: ``path`` (already percent-encoded) below ``base``, with ``params``."""
    url = URL(base + path, encoded=True)
    return url.extend_query(params) if params else url


@attrs.frozen(slots=True)
class Refusal:
    """An error response, deciphered: what to tell the retry policy and, failing that, the caller.

    Attributes:
        status: The HTTP status (>= 300).
        retry_after: The ``Retry-After`` in seconds, ``None`` when absent, garbage or impossible.
        distrusted: A ``Retry-After`` was sent but asks for more than any real limit lasts.
        body: The body, for the error message.
        headers: The response headers.
    """

    status: int
    retry_after: float | None
    distrusted: bool
    body: bytes
    headers: Mapping[str, str]


def decipher_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes | None,
    meta: dict[str, Any],
    *,
    now: float,
    limit: int,
) -> APIResponse | Refusal:
    """What a response means: the result, or a :class:`Refusal` for the retry policy. Pure.

    Args:
        status: The HTTP status.
        headers: The response headers.
        body: The body, ``None`` when it was larger than ``limit`` and not read.
        meta: What every :class:`APIResponse` and error carries (``status``, ``request_id``,
            ``method``, ``url``, ``rate_limit``, ``retries``).
        now: Wall time (Unix epoch seconds), to turn an HTTP-date ``Retry-After`` into seconds.
        limit: ``max_response_bytes``, for the message of an unread body.

    Raises:
        InvalidResponseError: The body was too large to read, or a 2xx body is not JSON.
    """
    if body is None:
        message = f"response body larger than {limit} bytes; not read"
        raise InvalidResponseError(message=message, **meta)
    if status < 300:
        return _build_response(data=parse_json(body, meta), **meta)
    raw = headers.get(HEADER_RETRY_AFTER)
    parsed = None if raw is None else parse_retry_after(raw, now=now)
    distrusted = parsed is not None and parsed > MAX_TRUSTED_WAIT
    return Refusal(status, None if distrusted else parsed, distrusted, body, headers)


def shrink_timeout(timeout: Timeout, left: float) -> aiohttp.ClientTimeout:
    """``timeout`` with no part longer than ``left`` seconds."""
    total = left if timeout.total is None else min(timeout.total, left)
    connect = None if timeout.connect is None else min(timeout.connect, left)
    return aiohttp.ClientTimeout(total=total, connect=connect)


def wrong_loop_message(loop: asyncio.AbstractEventLoop) -> str:
    state = "a closed event loop" if loop.is_closed() else "another event loop"
    return (
        f"this DOCRClient belongs to {state} (its connection pool was opened there) and cannot be "
        "used from this one: create the client inside the running loop (for example in the "
        "coroutine given to asyncio.run), and use one client per loop"
    )


def parse_json(body: bytes, meta: dict[str, Any]) -> Any:
    """A success body as JSON (None when empty); anything else is an InvalidResponseError."""
    if not body or body.isspace():  # what `not body.strip()` says, without copying the body
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        message = f"response is not valid JSON ({len(body)} bytes): {exc}"
    # Raised outside the except block: the decode error (whose .doc is the body) is not chained.
    raise InvalidResponseError(message=message, **meta)


def describe_error_body(body: bytes, content_type: str) -> tuple[str | None, str, str | None]:
    """``(error_id, message, request_id)`` from an error body, whatever it is."""
    if not body.strip():
        return None, "empty response body", None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        kind = content_type.split(";", maxsplit=1)[0].strip() or "unknown content type"
        return None, f"non-JSON response body ({kind}, {len(body)} bytes)", None
    if not isinstance(data, dict):
        return None, f"unexpected JSON error body of type {type(data).__name__}", None
    error_id = data.get("id")
    message = data.get("message")
    request_id = data.get("request_id")
    return (
        error_id if isinstance(error_id, str) else None,
        message if isinstance(message, str) and message else "no message in error body",
        request_id if isinstance(request_id, str) else None,
    )


def status_error(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    scrub: Callable[[str], str],
    method: str,
    url: str,
    rate_limit: RateLimitInfo | None,
    retries: int,
    retry_after: float | None,
) -> APIStatusError:
    """Map an error response to the typed exception for its status, every server text scrubbed."""
    error_id, message, request_id = describe_error_body(body, headers.get("Content-Type", ""))
    request_id = request_id or headers.get(HEADER_REQUEST_ID)
    cls = status_error_class(status)
    kwargs: dict[str, Any] = {
        "status": status,
        "message": scrub(message),
        "error_id": scrub(error_id) if error_id else None,
        "request_id": scrub(request_id) if request_id else None,
        "method": method,
        "url": url,
        "rate_limit": rate_limit,
        "retries": retries,
    }
    if cls is TooManyRequestsError:
        return TooManyRequestsError(retry_after=retry_after, **kwargs)
    return cls(**kwargs)


def connection_error(
    exc: BaseException,
    *,
    scrub: Callable[[str], str],
    method: str,
    url: str,
    retries: int,
    deadline: float | None = None,
) -> APIConnectionError:
    """The SDK error for an attempt that got no usable response.

    Only a scrubbed description of ``exc`` is kept: aiohttp's exceptions carry the request's
    headers (the token among them), so the caller must raise the result outside its ``except``
    block, leaving ``__cause__`` and ``__context__`` empty.

    Args:
        exc: What the attempt raised.
        scrub: Removes the token from a text.
        method: The request method.
        url: The (scrubbed) request URL.
        retries: Retries taken before this failure.
        deadline: The retry deadline in seconds, when it shrank the attempt that failed.
    """
    if isinstance(exc, aiohttp.ClientResponseError):
        # A malformed reply: aiohttp's message quotes the offending bytes (which a hostile server
        # fills with the token it was sent) after the first line; keep only that line.
        first = str(exc.message).splitlines()[0] if exc.message else ""
        detail = f"{type(exc).__name__}: {first}"
    else:
        detail = str(exc) or type(exc).__name__
    detail = scrub(detail)
    if isinstance(exc, TimeoutError):
        if deadline is not None:
            detail = f"the retry deadline of {deadline:g}s was reached ({detail})"
        return APITimeoutError(f"request timed out: {detail}", method=method, url=url, retries=retries)
    return APIConnectionError(f"connection failed: {detail}", method=method, url=url, retries=retries)
