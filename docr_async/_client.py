"""``DOCRClient``: configuration, token discovery, session ownership and the resource namespaces."""

from __future__ import annotations

import ipaddress
import os
from functools import cached_property
from typing import TYPE_CHECKING, Any, Self

from yarl import URL

from ._closing import AsyncClosing
from ._constants import DEFAULT_BASE_URL, MAX_RESPONSE_BYTES, TOKEN_ENV_VARS
from ._converter import make_converter
from ._core import ClientCore, Settings
from ._default_registry import DefaultRegistry
from ._ratelimit import RateLimiter, RateLimitInfo
from ._retry import RetryPolicy
from ._transport import RequestStats, Timeout, Transport
from .exceptions import ConfigurationError
from .handles import RegistryHandle
from .models import Registry
from .pagination import DEFAULT_MAX_PAGES, DEFAULT_PREFETCH
from .resources import GarbageCollections, Legacy, Manifests, Registries, Repositories, Tags
from .watch import Watcher

if TYPE_CHECKING:
    from collections.abc import Iterable

    import aiohttp

    from ._limiter import Limiter
    from .watch import WatchEvent, WatchState

__all__ = ["DOCRClient"]

_UNSET: object = object()


def _resolve_token(token: str | None) -> str:
    if token is None:
        for name in TOKEN_ENV_VARS:
            value = os.environ.get(name, "").strip()
            if value:
                token = value
                break
        else:
            raise ConfigurationError(
                f"no API token: pass token=... or set {' or '.join(TOKEN_ENV_VARS)} "
                "(create one at https://cloud.digitalocean.com/account/api/tokens)"
            )
    if not isinstance(token, str) or not token.strip():
        raise ConfigurationError("the API token must be a non-empty string")
    if any(ch.isspace() or ord(ch) < 0x21 or ord(ch) > 0x7E for ch in token):
        raise ConfigurationError("the API token contains whitespace or non-printable characters")
    return token


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _resolve_base_url(base_url: str, allow_insecure_http: bool) -> str:
    try:
        url = URL(base_url)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"invalid base_url {base_url!r}: {exc}") from None
    if url.scheme not in {"http", "https"} or not url.host:
        raise ConfigurationError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    if url.user or url.password:
        raise ConfigurationError("base_url must not contain credentials")
    if url.query_string or url.fragment:
        raise ConfigurationError("base_url must not contain a query or fragment")
    if url.scheme == "http" and not (allow_insecure_http or _is_loopback(url.host)):
        raise ConfigurationError(
            f"refusing plain http:// to {url.host}: the token would travel unencrypted "
            "(use https, a loopback host, or allow_insecure_http=True)"
        )
    return str(url).rstrip("/")


class DOCRClient(AsyncClosing):
    """An asyncio client for the DigitalOcean Container Registry API.

    Use it as an async context manager (``async with DOCRClient() as client:``) or call
    :meth:`aclose` when done. One client is meant to be shared by every task of an application: its
    connection pool, rate limiter and concurrency bound are shared. It belongs to one event loop
    (the one it is created in, else the first that uses it); from another it raises
    :class:`EventLoopError`, so create it inside the running loop, one client per loop.

    Args:
        token: API token; defaults to ``$DIGITALOCEAN_TOKEN``, then ``$DIGITALOCEAN_ACCESS_TOKEN``.
        registry: The registry of calls that name none; defaults to ``$DIGITALOCEAN_REGISTRY``, then
            to the account's only registry, discovered once (``RegistryDiscoveryError`` at the first
            such call when the account has several or none).
        base_url: API root (``https://api.digitalocean.com``). Plain ``http://`` is refused unless
            the host is loopback or ``allow_insecure_http`` is set.
        session: An :class:`aiohttp.ClientSession` to use; the client never closes it.
        timeout: Per-attempt timeouts (a :class:`Timeout`, or a number for the total timeout).
        retry: What to retry and how (:class:`RetryPolicy`); ``NO_RETRY`` disables retries.
        rate_limiter: Any :class:`Limiter`; a :class:`RateLimiter` (one per client) by default. Pass
            ``RateLimiter(enabled=False)`` for private proxies and overhead benchmarks; its ``clock``
            and ``sleep`` are used for every wait the client makes (inject them in tests).
        max_concurrency: Requests in flight at once for this client.
        max_wait: Longest wait for rate-limit budget before raising :class:`RateLimitBudgetError`
            (``None``: the limiter's own ``max_wait``).
        prefetch: Pages fetched ahead while iterating a listing (``0`` disables prefetching).
        max_pages: A listing with more pages raises :class:`PaginationError`.
        strict: Reject unknown response fields instead of keeping them in ``extra``.
        allow_insecure_http: Allow a non-loopback ``http://`` base URL.
        max_response_bytes: A larger response body raises :class:`InvalidResponseError` unread.

    Raises:
        ConfigurationError: If there is no token, the base URL is unsafe or invalid, or the
            registry (argument or ``$DIGITALOCEAN_REGISTRY``) is not a registry name.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        registry: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        session: aiohttp.ClientSession | None = None,
        timeout: Timeout | float = Timeout(),  # noqa: B008 -- immutable
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 -- immutable
        rate_limiter: Limiter | None = None,
        max_concurrency: int = 64,
        max_wait: float | None = None,
        prefetch: int = DEFAULT_PREFETCH,
        max_pages: int = DEFAULT_MAX_PAGES,
        strict: bool = False,
        allow_insecure_http: bool = False,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be an int >= 1")
        if not isinstance(max_response_bytes, int) or max_response_bytes < 1:
            raise ConfigurationError("max_response_bytes must be an int >= 1")
        if not isinstance(prefetch, int) or prefetch < 0:
            raise ConfigurationError("prefetch must be an int >= 0")
        resolved = _resolve_token(token)
        limiter = rate_limiter if rate_limiter is not None else RateLimiter()
        bind_token = getattr(limiter, "bind_token", None)  # a shared limiter keys its state by the token
        if callable(bind_token):
            bind_token(resolved)
        transport = Transport.create(
            token=resolved,
            base_url=_resolve_base_url(base_url, allow_insecure_http),
            session=session,
            limiter=limiter,
            max_concurrency=max_concurrency,
            retry=retry,
            timeout=_timeout(timeout),
            max_wait=max_wait,
            max_response_bytes=max_response_bytes,
        )
        settings = Settings(prefetch=prefetch, max_pages=max_pages, strict=strict)
        self._bind(
            ClientCore(
                transport=transport,
                converter=make_converter(strict=strict),
                settings=settings,
                default_registry=DefaultRegistry.from_config(registry),
            )
        )

    def _bind(self, core: ClientCore) -> None:
        # The client's only state: everything else (resources, properties) derives from the core.
        self._core = core

    @classmethod
    def _from_core(cls, core: ClientCore) -> Self:
        """A client over an existing core (``with_options``): the same binding as ``__init__``."""
        client = cls.__new__(cls)
        client._bind(core)
        return client

    @property
    def _transport(self) -> Transport:
        # For tests that inspect the shared session; the package itself goes through the core.
        return self._core.transport

    def __repr__(self) -> str:
        return f"DOCRClient(base_url={self.base_url!r}, token=<redacted>)"

    async def aclose(self) -> None:
        """Close the connection pool (unless the session was passed in). Idempotent.

        Raises:
            EventLoopError: If called from another loop while the client's own loop still runs.
        """
        await self._core.transport.aclose()

    def with_options(
        self,
        *,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        max_wait: float | object | None = _UNSET,
    ) -> DOCRClient:
        """A copy with other per-call options, sharing the connection pool and rate limiter.

        ``await client.with_options(retry=NO_RETRY, timeout=5).tags.delete(...)`` is how to set
        options for one call. Closing a copy does not close the shared pool.
        """
        transport = self._core.transport
        if max_wait is _UNSET:
            new_max_wait = transport.max_wait
        elif max_wait is None or (
            isinstance(max_wait, int | float) and not isinstance(max_wait, bool) and max_wait >= 0
        ):
            new_max_wait = max_wait
        else:
            raise ConfigurationError(f"max_wait must be seconds >= 0 or None, got {max_wait!r}")
        core = self._core.with_options(
            retry=retry if retry is not None else transport.retry,
            timeout=_timeout(timeout) if timeout is not None else transport.timeout,
            max_wait=new_max_wait,
        )
        return type(self)._from_core(core)

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return self._core.transport.base_url

    @property
    def rate_limit(self) -> RateLimitInfo | None:
        """The latest rate-limit state the API reported (shared by all tasks of this client)."""
        return self._core.transport.limiter.latest

    @property
    def stats(self) -> RequestStats:
        """Counters of this client's traffic: attempts, retries, 429s, 5xx, connection errors."""
        return self._core.transport.stats

    @property
    def rate_limiter(self) -> Limiter:
        """The client's shared :class:`Limiter` (a :class:`RateLimiter` unless another was given)."""
        return self._core.transport.limiter

    @property
    def prefetch(self) -> int:
        """Pages fetched ahead while iterating a listing."""
        return self._core.settings.prefetch

    @property
    def max_pages(self) -> int:
        """The runaway-pagination guard."""
        return self._core.settings.max_pages

    def registry(self, name: str | Registry | None = None) -> RegistryHandle:
        """A handle on one registry (a name or a listed :class:`Registry`); ``None``: the default.

        Nothing is sent until a method of the handle is awaited (or its listing iterated).

        Raises:
            ValidationError: If the name is not a registry name.
        """
        return RegistryHandle(self, name.name if isinstance(name, Registry) else name)

    def watch(
        self,
        registry: str | None = None,
        *,
        repositories: Iterable[str] | None = None,
        kinds: Iterable[type[WatchEvent] | str] | None = None,
        interval: float | None = None,
        budget: float = 0.1,
        sweep_share: float = 0.5,
        since: WatchState | dict[str, Any] | None = None,
        replay: bool = False,
        **options: Any,
    ) -> Watcher:
        """Registry events for bots: ``async for event in client.watch(): ...`` (see :mod:`docr_async.watch`).

        Nothing is sent until iteration starts. The first poll without ``since`` reports nothing (or,
        with ``replay=True``, every existing repository and tag); later polls report what changed.

        Args:
            registry: The registry (default: the client's default registry, or ``since``'s).
            repositories: Watch only these repositories.
            kinds: Yield only these event classes (or their ``kind`` strings).
            interval: Seconds between polls; default: derived from ``budget``, never under 10 s.
            budget: Share of the hourly request limit the watcher may spend (0.1 = 500 of 5000).
            sweep_share: Share of that budget for the sweep that catches re-tags the listing hides.
            since: A saved :attr:`Watcher.state` (or its ``to_json()`` dict) to resume from.
            replay: Report what exists at the start as :class:`RepositoryCreated` / :class:`TagPushed`.
            options: More :class:`Watcher` options: ``min_interval``, ``slow_every``,
                ``max_failures``, ``on_poll`` (called with each poll's :class:`PollStats`), and
                ``clock`` / ``sleep`` (default: the rate limiter's; inject
                them to run in virtual time).

        Raises:
            ValidationError: On a bad option or ``since`` (before any request).
        """
        return Watcher(
            self,
            registry,
            repositories=repositories,
            kinds=kinds,
            interval=interval,
            budget=budget,
            sweep_share=sweep_share,
            since=since,
            replay=replay,
            **options,
        )

    @cached_property
    def registries(self) -> Registries:
        """Registries and account-level calls (``/v2/registries``)."""
        return Registries(self._core)

    @cached_property
    def repositories(self) -> Repositories:
        """Repositories of a registry."""
        return Repositories(self._core)

    @cached_property
    def tags(self) -> Tags:
        """Tags of a repository."""
        return Tags(self._core)

    @cached_property
    def manifests(self) -> Manifests:
        """Manifests (digests) of a repository."""
        return Manifests(self._core)

    @cached_property
    def garbage_collections(self) -> GarbageCollections:
        """Garbage collection of a registry."""
        return GarbageCollections(self._core)

    @cached_property
    def legacy(self) -> Legacy:
        """The deprecated single-registry API (``/v2/registry``)."""
        return Legacy(self._core)


def _timeout(value: Timeout | float) -> Timeout:
    if isinstance(value, Timeout):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return Timeout(total=float(value))
    raise ConfigurationError(f"timeout must be a Timeout or a positive number, got {value!r}")
