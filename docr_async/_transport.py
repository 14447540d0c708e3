"""The single request loop every API call goes through: I/O only.

    concurrency slot -> limiter.slot -> aiohttp (one attempt) -> limiter.observe
        -> decipher_response -> [limiter.on_429] -> RetryPolicy.decide -> return / sleep / raise

What a response or a failure means and what to do next are decided by pure functions
(:func:`._protocol.decipher_response`, :meth:`._retry.RetryPolicy.decide`); this module performs
their decisions. It knows nothing about models: it returns :class:`APIResponse` (status, parsed
JSON, rate-limit state, request id, retries taken). The token is only ever put in the
``Authorization`` header of requests to the configured base URL; redirects are not followed, and
the token is scrubbed from any text that could reach an exception or a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from ._constants import HEADER_REQUEST_ID, HEADER_RETRY_AFTER, LOGGER_NAME, MAX_RESPONSE_BYTES
from ._protocol import (
    APIResponse,
    Refusal,
    RequestStats,
    Timeout,
    build_url,
    connection_error,
    decipher_response,
    request_headers,
    shrink_timeout,
    status_error,
    user_agent,
    wrong_loop_message,
)
from ._ratelimit import DEFAULT_429_PAUSE
from ._ratelimit_headers import MAX_TRUSTED_WAIT, RateLimitInfo
from ._retry import NOT_SENT_ERRORS, TRANSPORT_ERRORS, Action
from .exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    EventLoopError,
)

if TYPE_CHECKING:
    from yarl import URL

    from ._limiter import Limiter
    from ._retry import RetryPolicy

__all__ = ["APIResponse", "RequestStats", "Timeout", "Transport", "user_agent"]

logger = logging.getLogger(LOGGER_NAME)

HEADER_CONTENT_ENCODING = "Content-Encoding"
_URL_CACHE_SIZE = 256

_Params = Mapping[str, str | int]


class _Shared:
    """State shared by a client and all its ``with_options`` copies."""

    def __init__(
        self,
        *,
        token: str,
        base_url: str,
        session: aiohttp.ClientSession | None,
        limiter: Limiter,
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
        self.loop: asyncio.AbstractEventLoop | None = None
        """The event loop the client belongs to: the one it was created in, else first used in."""
        with contextlib.suppress(RuntimeError):  # created outside a loop: bound at first use
            self.loop = asyncio.get_running_loop()
        self.headers = CIMultiDict(request_headers(token))
        self.warned_retry_after = False
        self.urls: dict[tuple[str, tuple[tuple[str, str | int], ...]], tuple[URL, str]] = {}
        """Memoised :meth:`Transport._url` results (yarl URLs are immutable)."""

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
        limiter: Limiter,
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
    def limiter(self) -> Limiter:
        """The client's shared rate limiter."""
        return self._shared.limiter

    @property
    def stats(self) -> RequestStats:
        """Traffic counters shared by the client and its copies."""
        return self._shared.stats

    def copy(self, *, retry: RetryPolicy, timeout: Timeout, max_wait: float | None) -> Transport:
        """A transport sharing session, limiter and concurrency bound, with other per-call options."""
        return Transport(self._shared, retry=retry, timeout=timeout, max_wait=max_wait, owner=False)

    def _get_session(self) -> aiohttp.ClientSession:
        shared = self._shared
        if shared.closed:
            raise ClientClosedError("the client is closed; create a new DOCRClient")
        if shared.session is None:
            # Created lazily inside the running loop (aiohttp requires one). No cookies: the API
            # takes a token alone, and nothing a server sets is carried on (a caller's jar stays).
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
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

        Raises:
            EventLoopError: When called from another loop while the client's own loop still runs
                (close it there). After that loop was closed, closing here only marks the client
                closed and releases what can be released.
        """
        if not self._owner:
            return
        shared = self._shared
        home = shared.loop
        wrong_loop = home is not None and home is not asyncio.get_running_loop()
        if wrong_loop and home is not None and not home.is_closed():
            raise EventLoopError(wrong_loop_message(home))
        shared.closed = True
        session, shared.session = shared.session, None
        if session is None or not shared.owns_session:
            return
        if not wrong_loop:
            await session.close()
            return
        # Its loop is gone (asyncio.run returned without closing the client): the connections
        # died with it; close what does not need that loop, and expect nothing more.
        with contextlib.suppress(RuntimeError):
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

        The retry deadline (``RetryPolicy.deadline``, timed by the limiter's clock) bounds the whole
        call: waits for rate-limit budget, backoff sleeps, and the last attempt, whose timeout is
        shrunk to what is left.

        Args:
            method: HTTP method.
            path: Path below the base URL, already percent-encoded (``/v2/registries/x``).
            params: Query parameters.
            json_body: JSON request body, if any.

        Raises:
            APIStatusError: (a subclass per status) when the API answers with an error.
            APIConnectionError: When no response could be had (after retries).
            APITimeoutError: When an attempt timed out, or the deadline left no time for one.
            RateLimitBudgetError: When waiting for rate-limit budget would exceed ``max_wait`` or
                the time left before the deadline.
            EventLoopError: When called from another event loop than the client's.
        """
        shared = self._shared
        self._check_loop()
        url, url_text = self._url(path, params)
        policy = self.retry
        limiter = shared.limiter
        clock = limiter.clock
        deadline = policy.deadline_at(clock.monotonic())
        attempt = failures = rate_limited = 0
        while True:
            attempt += 1
            timeout, shrunk = self._attempt_timeout(deadline)
            if timeout is None:
                raise self._deadline_error(method, url_text, attempt - 1)
            t0 = time.perf_counter()
            failure: BaseException | None = None
            try:
                status, headers, body = await self._attempt(
                    method, url, json_body, retry=attempt > 1, deadline=deadline
                )
            except TRANSPORT_ERRORS as exc:
                failure = exc
            if failure is not None:
                # Decided and raised outside the except block, so the SDK error has no __context__:
                # aiohttp's exceptions carry the request headers, the token among them.
                shared.stats.connection_errors += 1
                failures += 1
                sent = not isinstance(failure, NOT_SENT_ERRORS)
                decision = policy.decide(
                    method,
                    failure=failure,
                    sent=sent,
                    failures=failures,
                    now=clock.monotonic(),
                    deadline=deadline,
                )
                if decision.action is Action.RETRY:
                    logger.debug(
                        "%s %s failed (%s); retry %d in %.2fs",
                        method,
                        url_text,
                        type(failure).__name__,
                        attempt,
                        decision.delay,
                    )
                    del failure
                    await clock.sleep(decision.delay)
                    continue
                error = self._transport_error(failure, method, url_text, attempt - 1, shrunk=shrunk)
                del failure
                raise error
            info = await limiter.observe(RateLimitInfo.from_headers(headers))
            request_id = headers.get(HEADER_REQUEST_ID)
            if request_id:
                request_id = self.scrub(request_id)
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s -> %d in %.1fms (attempt %d, ratelimit-remaining=%s)",
                    method,
                    url_text,
                    status,
                    (time.perf_counter() - t0) * 1000,
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
            outcome = decipher_response(
                status, headers, body, meta, now=clock.time(), limit=shared.max_response_bytes
            )
            if type(outcome) is APIResponse:
                return outcome
            assert isinstance(outcome, Refusal)
            if outcome.distrusted:
                self._distrust_retry_after(headers.get(HEADER_RETRY_AFTER))
            stats = shared.stats
            pause = None
            if status == 429:
                # Every task of the client waits behind this pause, not only this one. An
                # impossible Retry-After counts as missing: the pause falls back to backoff.
                stats.rate_limited += 1
                rate_limited += 1
                default = policy.backoff(rate_limited) if outcome.distrusted else DEFAULT_429_PAUSE
                pause = await limiter.on_429(outcome.retry_after, info, default=default)
            else:
                stats.server_errors += status >= 500
                failures += 1
            decision = policy.decide(
                method,
                status=status,
                failures=failures,
                rate_limited=rate_limited,
                retry_after=outcome.retry_after,
                pause=pause,
                now=clock.monotonic(),
                deadline=deadline,
            )
            if decision.action is Action.WAIT:
                logger.debug("%s %s -> 429; all tasks paused %.2fs", method, url_text, decision.delay)
                continue
            if decision.action is Action.RETRY:
                logger.debug(
                    "%s %s -> %d; retry %d in %.2fs", method, url_text, status, attempt, decision.delay
                )
                await clock.sleep(decision.delay)
                continue
            raise self.status_error(
                status,
                outcome.body,
                headers,
                method=method,
                url=url_text,
                rate_limit=info,
                retries=attempt - 1,
                retry_after=decision.retry_after,
            )

    def _url(self, path: str, params: _Params | None) -> tuple[URL, str]:
        """The URL of a call and its scrubbed text, memoised (a listing asks for the same ones again)."""
        key = (path, tuple(params.items()) if params else ())
        urls = self._shared.urls
        found = urls.get(key)
        if found is None:
            url = build_url(self._shared.base, path, params)
            found = url, self.scrub(str(url))
            if len(urls) >= _URL_CACHE_SIZE:
                urls.clear()
            urls[key] = found
        return found

    def _distrust_retry_after(self, raw: str | None) -> None:
        """Log, once per client, that an impossible ``Retry-After`` counts as missing."""
        shared = self._shared
        if shared.warned_retry_after:
            return
        shared.warned_retry_after = True
        logger.warning(
            "rate limit: ignoring an impossible header (Retry-After %r is more than %gs); "
            "falling back to backoff. Logged once per client.",
            self.scrub(raw or ""),
            MAX_TRUSTED_WAIT,
        )

    async def _attempt(
        self,
        method: str,
        url: URL,
        json_body: Any,
        *,
        retry: bool,
        deadline: float | None,
    ) -> tuple[int, CIMultiDictProxy[str], bytes | None]:
        """One HTTP attempt: a concurrency slot, then a rate-limit slot held until the response is read.

        With a ``deadline`` (limiter clock), the budget wait may not pass it, and the attempt's
        timeout is shrunk to what is left after that wait.

        Returns:
            Status, headers, and the body (None when larger than ``max_response_bytes``).
        """
        shared = self._shared
        session = self._get_session()
        async with shared.semaphore, shared.limiter.slot(max_wait=self.max_wait, deadline=deadline):
            shared.stats.attempts += 1
            shared.stats.retries += retry
            timeout, _ = self._attempt_timeout(deadline)
            if timeout is None:
                raise TimeoutError("the retry deadline passed while waiting for budget")
            async with session.request(
                method,
                url,
                json=json_body,
                headers=shared.headers,
                timeout=timeout,
                allow_redirects=False,
            ) as resp:
                return resp.status, resp.headers, await _read_body(resp, shared.max_response_bytes)

    def _attempt_timeout(self, deadline: float | None) -> tuple[aiohttp.ClientTimeout | None, bool]:
        """The timeout of the next attempt (``None``: no time left) and whether the deadline shrank it."""
        if deadline is None:
            return self._client_timeout, False
        left = deadline - self._shared.limiter.clock.monotonic()
        if left <= 0:
            return None, True
        total = self.timeout.total
        if total is not None and total <= left:
            return self._client_timeout, False
        return shrink_timeout(self.timeout, left), True

    def _deadline_error(self, method: str, url: str, retries: int) -> APITimeoutError:
        deadline = self.retry.deadline
        return APITimeoutError(
            f"request timed out: the retry deadline of {deadline:g}s left no time for another attempt",
            method=method,
            url=url,
            retries=retries,
        )

    def _check_loop(self) -> None:
        shared = self._shared
        running = asyncio.get_running_loop()
        if shared.loop is None:
            shared.loop = running
        elif shared.loop is not running:
            raise EventLoopError(wrong_loop_message(shared.loop))

    def _transport_error(
        self, exc: BaseException, method: str, url: str, retries: int, *, shrunk: bool = False
    ) -> APIConnectionError:
        deadline = self.retry.deadline if shrunk else None
        return connection_error(
            exc, scrub=self.scrub, method=method, url=url, retries=retries, deadline=deadline
        )

    def status_error(
        self, status: int, body: bytes, headers: Mapping[str, str], **meta: Any
    ) -> APIStatusError:
        """Map an error response to the typed exception for its status (pure, no I/O).

        ``meta`` is what :func:`._protocol.status_error` takes besides ``scrub`` (``method``,
        ``url``, ``rate_limit``, ``retries``, ``retry_after``); this transport's token is scrubbed.
        """
        return status_error(status, body, headers, scrub=self.scrub, **meta)


async def _read_body(resp: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The response body, or None when it is larger than ``limit`` (never buffered past it)."""
    length = resp.content_length  # of the encoded body: a gzip body may inflate far beyond it
    if length is not None and length > limit:
        return None
    if length is not None and HEADER_CONTENT_ENCODING not in resp.headers:
        return await resp.read()  # exactly `length` bytes, read at once
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(64 * 1024):  # decoded bytes, counted as they come
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
