"""The single request loop every API call goes through.

    concurrency slot -> limiter.acquire -> aiohttp (one attempt) -> limiter.update
        -> retry decision (RetryPolicy) -> error mapping

The transport knows nothing about models: it returns :class:`APIResponse` (status, parsed JSON,
rate-limit state, request id, retries taken). The token is only ever put in the ``Authorization``
header of requests to the configured base URL; redirects are not followed, and the token is scrubbed
from any text that could reach an exception or a log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import platform
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
import attrs
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._constants import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    HEADER_REQUEST_ID,
    HEADER_RETRY_AFTER,
    LOGGER_NAME,
    MAX_RESPONSE_BYTES,
)
from ._ratelimit_headers import RateLimitInfo, parse_retry_after
from ._version import __version__
from .exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    InvalidResponseError,
    TooManyRequestsError,
    status_error_class,
)

if TYPE_CHECKING:
    from ._ratelimit import RateLimiter
    from ._retry import RetryPolicy

__all__ = ["APIResponse", "RequestStats", "Timeout", "Transport", "user_agent"]

logger = logging.getLogger(LOGGER_NAME)

_Params = Mapping[str, str | int]


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


# Errors after which we know the request never left this machine: safe to retry any method.
_NOT_SENT_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
)
_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
    aiohttp.ClientResponseError,  # a malformed status line, header, chunk size or Content-Length
    TimeoutError,
)


class _Shared:
    """State shared by a client and all its ``with_options`` copies."""

    def __init__(
        self,
        *,
        token: str,
        base_url: str,
        session: aiohttp.ClientSession | None,
        limiter: RateLimiter,
        max_concurrency: int,
        max_response_bytes: int,
    ) -> None:
        self.token = token
        self.max_response_bytes = max_response_bytes
        self.base = base_url.rstrip("/")
        self.session = session
        self.owns_session = session is None
        self.closed = False
        self.limiter = limiter
        self.semaphore = asyncio.Semaphore(max_concurrency)
        self.stats = RequestStats()
        self.headers = CIMultiDict(
            {
                "Authorization": f"Bearer {token}",
                "User-Agent": user_agent(),
                "Accept": "application/json",
            }
        )

    def __repr__(self) -> str:
        return f"_Shared(base_url={self.base!r}, token=<redacted>)"


class Transport:
    """Sends requests for one client (and its ``with_options`` copies).

    The aiohttp session, the rate limiter and the concurrency bound are shared by all copies;
    timeout, retry policy and ``max_wait`` are per copy.
    """

    def __init__(
        self,
        shared: _Shared,
        *,
        retry: RetryPolicy,
        timeout: Timeout,
        max_wait: float | None,
        owner: bool = True,
    ) -> None:
        self._shared = shared
        self._owner = owner
        self.retry = retry
        self.timeout = timeout
        self._client_timeout = timeout.to_aiohttp()
        self.max_wait = max_wait

    @classmethod
    def create(
        cls,
        *,
        token: str,
        base_url: str,
        session: aiohttp.ClientSession | None,
        limiter: RateLimiter,
        max_concurrency: int,
        retry: RetryPolicy,
        timeout: Timeout,
        max_wait: float | None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> Transport:
        """A new transport with its own shared state (session, limiter, concurrency bound)."""
        shared = _Shared(
            token=token,
            base_url=base_url,
            session=session,
            limiter=limiter,
            max_concurrency=max_concurrency,
            max_response_bytes=max_response_bytes,
        )
        return cls(shared, retry=retry, timeout=timeout, max_wait=max_wait)

    def __repr__(self) -> str:
        return f"Transport(base_url={self._shared.base!r}, token=<redacted>)"

    @property
    def base_url(self) -> str:
        """The configured base URL (no trailing slash)."""
        return self._shared.base

    @property
    def limiter(self) -> RateLimiter:
        """The client's shared rate limiter."""
        return self._shared.limiter

    @property
    def stats(self) -> RequestStats:
        """Traffic counters shared by the client and its copies."""
        return self._shared.stats

    def copy(self, *, retry: RetryPolicy, timeout: Timeout, max_wait: float | None) -> Transport:
        """A transport sharing session, limiter and concurrency bound, with other per-call options."""
        return Transport(self._shared, retry=retry, timeout=timeout, max_wait=max_wait, owner=False)

    async def _get_session(self) -> aiohttp.ClientSession:
        shared = self._shared
        if shared.closed:
            raise ClientClosedError("the client is closed; create a new DOCRClient")
        if shared.session is None:
            # Created lazily inside the running loop (aiohttp requires one).
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300))
            # aiohttp silently re-sends an idempotent request once when a pooled connection turns
            # out closed. Such a resend would bypass the retry policy, the stats and the burst
            # window, so our own session leaves every retry to RetryPolicy (as aiohttp's test
            # client does). A caller's session is left as its owner configured it.
            if hasattr(session, "_retry_connection"):
                session._retry_connection = False
            shared.session = session
        return shared.session

    async def aclose(self) -> None:
        """Close the session if the client created it (a caller's session is left open). Idempotent.

        Closing a ``with_options`` copy does nothing: the pool belongs to the original client.
        """
        if not self._owner:
            return
        shared = self._shared
        shared.closed = True
        session, shared.session = shared.session, None
        if session is not None and shared.owns_session:
            await session.close()

    def scrub(self, text: str) -> str:
        """Remove the token from text that may reach an exception or a log line."""
        token = self._shared.token
        return text.replace(token, "<redacted>") if token else text

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: _Params | None = None,
        json_body: Any = None,
    ) -> APIResponse:
        """Send one API call (with retries) and return its successful response.

        Args:
            method: HTTP method.
            path: Path below the base URL, already percent-encoded (``/v2/registries/x``).
            params: Query parameters.
            json_body: JSON request body, if any.

        Raises:
            APIStatusError: (a subclass per status) when the API answers with an error.
            APIConnectionError: When no response could be had (after retries).
            RateLimitBudgetError: When waiting for rate-limit budget would exceed ``max_wait``.
        """
        shared = self._shared
        url = URL(shared.base + path, encoded=True)
        if params:
            url = url.extend_query(params)
        url_text = self.scrub(str(url))
        policy = self.retry
        limiter = shared.limiter
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            t0 = time.perf_counter()
            try:
                status, headers, body = await self._attempt(method, url, json_body, retry=attempt > 1)
            except _TRANSPORT_ERRORS as exc:
                shared.stats.connection_errors += 1
                sent = not isinstance(exc, _NOT_SENT_ERRORS)
                delay = policy.backoff(attempt)
                if policy.should_retry_exception(method, exc, sent=sent, attempt=attempt) and (
                    self._within_deadline(started, delay)
                ):
                    logger.debug(
                        "%s %s failed (%s); retry %d in %.2fs",
                        method,
                        url_text,
                        type(exc).__name__,
                        attempt,
                        delay,
                    )
                    await limiter.sleep(delay)
                    continue
                raise self._transport_error(exc, method, url_text, attempt - 1) from exc
            stats = shared.stats
            elapsed_ms = (time.perf_counter() - t0) * 1000
            info = RateLimitInfo.from_headers(headers)
            limiter.update(info)
            request_id = headers.get(HEADER_REQUEST_ID)
            if request_id:
                request_id = self.scrub(request_id)
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s -> %d in %.1fms (attempt %d, ratelimit-remaining=%s)",
                    method,
                    url_text,
                    status,
                    elapsed_ms,
                    attempt,
                    info.remaining if info else None,
                )
            meta: dict[str, Any] = {
                "status": status,
                "request_id": request_id,
                "method": method,
                "url": url_text,
                "rate_limit": info,
                "retries": attempt - 1,
            }
            if body is None:
                message = f"response body larger than {shared.max_response_bytes} bytes; not read"
                raise InvalidResponseError(message=message, **meta)
            if status < 300:
                return APIResponse(data=_parse_json(body, meta), **meta)
            retry_after = parse_retry_after(headers.get(HEADER_RETRY_AFTER), now=limiter.clock())
            stats.rate_limited += status == 429
            stats.server_errors += status >= 500
            if status == 429:
                # Every task of the client waits behind this pause, not only this one.
                pause = limiter.wait_for_429(retry_after, info)
                if (
                    policy.should_retry_status(method, status, attempt)
                    and pause <= policy.max_retry_after
                    and self._within_deadline(started, pause)
                ):
                    logger.debug("%s %s -> 429; all tasks paused %.2fs", method, url_text, pause)
                    continue
                retry_after = pause
            elif policy.should_retry_status(method, status, attempt):
                delay = policy.backoff(attempt)
                if retry_after is not None:
                    delay = max(delay, min(retry_after, policy.max_retry_after))
                if self._within_deadline(started, delay):
                    logger.debug("%s %s -> %d; retry %d in %.2fs", method, url_text, status, attempt, delay)
                    await limiter.sleep(delay)
                    continue
            raise self.status_error(
                status,
                body,
                headers,
                method=method,
                url=url_text,
                rate_limit=info,
                retries=attempt - 1,
                retry_after=retry_after,
            )

    async def _attempt(
        self, method: str, url: URL, json_body: Any, *, retry: bool
    ) -> tuple[int, CIMultiDictProxy[str], bytes | None]:
        """One HTTP attempt: a concurrency slot, then a rate-limit slot held until the response is read.

        Returns:
            Status, headers, and the body (None when larger than ``max_response_bytes``).
        """
        shared = self._shared
        session = await self._get_session()
        async with shared.semaphore, shared.limiter.slot(max_wait=self.max_wait):
            shared.stats.attempts += 1
            shared.stats.retries += retry
            async with session.request(
                method,
                url,
                json=json_body,
                headers=shared.headers,
                timeout=self._client_timeout,
                allow_redirects=False,
            ) as resp:
                return resp.status, resp.headers, await _read_body(resp, shared.max_response_bytes)

    def _within_deadline(self, started: float, delay: float) -> bool:
        deadline = self.retry.deadline
        return deadline is None or (time.monotonic() - started + delay) <= deadline

    def _transport_error(self, exc: BaseException, method: str, url: str, retries: int) -> APIConnectionError:
        detail = self.scrub(str(exc)) or type(exc).__name__
        if isinstance(exc, TimeoutError):
            return APITimeoutError(f"request timed out: {detail}", method=method, url=url, retries=retries)
        return APIConnectionError(f"connection failed: {detail}", method=method, url=url, retries=retries)

    def status_error(
        self,
        status: int,
        body: bytes,
        headers: CIMultiDictProxy[str] | Mapping[str, str],
        *,
        method: str,
        url: str,
        rate_limit: RateLimitInfo | None,
        retries: int,
        retry_after: float | None,
    ) -> APIStatusError:
        """Map an error response to the typed exception for its status (pure, no I/O)."""
        error_id, message, request_id = _describe_error_body(body, headers.get("Content-Type", ""))
        request_id = request_id or headers.get(HEADER_REQUEST_ID)
        cls = status_error_class(status)
        kwargs: dict[str, Any] = {
            "status": status,
            "message": self.scrub(message),
            "error_id": self.scrub(error_id) if error_id else None,
            "request_id": self.scrub(request_id) if request_id else None,
            "method": method,
            "url": url,
            "rate_limit": rate_limit,
            "retries": retries,
        }
        if cls is TooManyRequestsError:
            return TooManyRequestsError(retry_after=retry_after, **kwargs)
        return cls(**kwargs)


def _parse_json(body: bytes, meta: dict[str, Any]) -> Any:
    """A success body as JSON (None when empty); anything else is an InvalidResponseError."""
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        message = f"response is not valid JSON ({len(body)} bytes): {exc}"
        raise InvalidResponseError(message=message, **meta) from None


async def _read_body(resp: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The response body, or None when it is larger than ``limit`` (never buffered past it)."""
    length = resp.content_length  # of the encoded body: a gzip body may inflate far beyond it
    if length is not None and length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(64 * 1024):  # decoded bytes, counted as they come
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _describe_error_body(body: bytes, content_type: str) -> tuple[str | None, str, str | None]:
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
