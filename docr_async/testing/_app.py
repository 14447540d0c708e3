"""The fake application: its public inspection and control surface, and the request pipeline
(control routes, faults, rate limits, authentication, routing, response hooks)."""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
import math
import random
import re
import time
from typing import TYPE_CHECKING, Any, Unpack

import attrs
from aiohttp import web

from ._configs import (
    FakeConfig,
    FakeOptions,
    FaultConfig,
    GCConfig,
    RateLimitConfig,
    ResponseHook,
    SeedSpec,
)
from ._control import run_control
from ._errors import FakeDOCRError, NotFoundError
from ._faults import FaultInjector
from ._http import BAD_GATEWAY_HTML, Ctx, drop_connection, encode_json, error_body, error_reply
from ._limiter import ServerRateLimiter, format_retry_after
from ._model import BlobRef, FakeManifest
from ._primitives import Clock, JSONDict, ManualClock, ShiftedClock, random_uuid, token_for_seed
from ._records import RequestRecord, TokenStats
from ._routes import API_ROUTES, match, split_raw_path
from ._state import FakeState

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["DEFAULT_RESPONSE_HOOKS", "FakeApp"]

logger = logging.getLogger("docr_async.testing")

DEFAULT_RESPONSE_HOOKS: list[ResponseHook] = []
"""Hooks every :class:`FakeDOCR` calls in addition to its own (read at call time). A test suite can
append a validating hook here once, so every fake created anywhere in the suite is checked."""

_ANONYMOUS = ""  # the rate-limit/stats key of requests without a valid token (never a valid token)
_BEARER_RE = re.compile(r"^\s*bearer\s+(\S+)\s*$", re.IGNORECASE)


class FakeApp:
    """Everything the fake knows and does, minus the listening socket (``FakeDOCR`` adds that).

    Built from one :class:`FakeConfig` (or the same fields as keywords); :meth:`make_app` gives the
    ``aiohttp.web.Application`` to serve it with any aiohttp runner or test client.
    """

    def __init__(
        self, token: str | None = None, *, config: FakeConfig | None = None, **options: Unpack[FakeOptions]
    ) -> None:
        self.config = FakeConfig.resolve(token, config, options)
        """What this fake was built from (the server fields ``host``, ``port``, ``shutdown_timeout``
        matter only to :class:`FakeDOCR`)."""
        cfg = self.config
        seed = cfg.seed
        self.seed = seed
        self.clock: Clock = cfg.clock if cfg.clock is not None else time.time
        """The time source (Unix seconds) for rate limits, GC progress and timestamps. Settable."""
        self.public_url = cfg.public_url.rstrip("/")
        self.token: str = cfg.token if cfg.token is not None else token_for_seed(seed)
        self._tokens: list[str] = [self.token]
        self._valid_tokens: set[str] = {self.token}
        self._state = FakeState.seeded(seed, cfg.seed_spec or SeedSpec(), self.clock(), cfg.gc)
        self._limiter = ServerRateLimiter(cfg.rate_limits or RateLimitConfig())
        self._faults = FaultInjector(seed)
        self._faults.configure(cfg.faults or FaultConfig())
        self._id_rng = random.Random(f"request-ids:{seed}")  # noqa: S311
        if cfg.response_hooks is None:
            hooks: list[ResponseHook] = []
        elif callable(cfg.response_hooks):
            hooks = [cfg.response_hooks]
        else:
            hooks = list(cfg.response_hooks)
        self.response_hooks: list[ResponseHook] = hooks
        """Hooks called as ``hook(request, response, body)`` for every response sent."""
        self.use_default_hooks = cfg.use_default_hooks
        self.hook_errors: list[BaseException] = []
        """Exceptions raised by response hooks (they never break a response)."""
        self._log: collections.deque[RequestRecord] = collections.deque(maxlen=cfg.request_log_limit)
        self._stats: dict[str, TokenStats] = collections.defaultdict(TokenStats)
        self.fault_counts: collections.Counter[str] = collections.Counter()
        """How many faults of each kind were injected."""

    # ---- public inspection and control ----------------------------------------------------------

    @property
    def state(self) -> FakeState:
        """The in-memory model, with garbage collections advanced to the current clock."""
        self._state.tick(self.clock())
        return self._state

    @property
    def requests(self) -> list[RequestRecord]:
        """The request log, oldest first (control routes under ``/_fake`` are not logged)."""
        return list(self._log)

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._log.clear()

    @property
    def faults(self) -> FaultConfig:
        """The current fault configuration."""
        return self._faults.config

    @faults.setter
    def faults(self, config: FaultConfig) -> None:
        self.set_faults(config)

    def set_faults(self, config: FaultConfig | None = None, **changes: Any) -> FaultConfig:
        """Replace the fault config (or change fields of the current one); re-seeds the fault RNG."""
        new = config if config is not None else self._faults.config
        if changes:
            new = attrs.evolve(new, **changes)
        self._faults.configure(new)
        return new

    def clear_faults(self) -> None:
        """Switch every fault off."""
        self.set_faults(FaultConfig())

    @property
    def rate_limits(self) -> RateLimitConfig:
        """The current rate-limit configuration (counted requests are kept when it changes)."""
        return self._limiter.config

    @rate_limits.setter
    def rate_limits(self, config: RateLimitConfig) -> None:
        self._limiter.config = config

    def reset_rate_limits(self) -> None:
        """Forget every counted request, restoring every token's full budget."""
        self._limiter.reset()

    def advance_clock(self, seconds: float) -> float:
        """Move the fake's time forward by ``seconds`` and return the new time.

        Garbage collections, rate-limit windows and timestamps all follow. A :class:`ManualClock`
        is advanced in place; any other clock is wrapped with an offset. This lets a test drive a
        standalone fake (``POST /_fake/clock``) in virtual time instead of waiting.

        Raises:
            ValueError: If ``seconds`` is negative or not finite.
        """
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a finite number >= 0, not {seconds!r}")
        if isinstance(self.clock, ManualClock):
            return self.clock.advance(seconds)
        self.clock = ShiftedClock(self.clock, seconds)
        return self.clock()

    @property
    def gc_config(self) -> GCConfig:
        """How new garbage collections progress."""
        return self._state.gc_config

    @gc_config.setter
    def gc_config(self, config: GCConfig) -> None:
        self._state.gc_config = config

    @property
    def tokens(self) -> list[str]:
        """Every token that is currently valid."""
        return [t for t in self._tokens if t in self._valid_tokens]

    def add_token(self, token: str | None = None) -> str:
        """Accept another token (generated deterministically if not given) and return it."""
        if token is None:
            token = token_for_seed(self.seed, len(self._tokens))
        if not token:
            raise ValueError("a token must not be empty")
        if token not in self._tokens:
            self._tokens.append(token)
        self._valid_tokens.add(token)
        return token

    def revoke_token(self, token: str) -> None:
        """Make ``token`` invalid: later requests with it get 401."""
        self._valid_tokens.discard(token)

    def stats(self, token: str | None = None) -> TokenStats:
        """Requests and 429s counted for ``token`` (default: the primary token)."""
        found = self._stats.get(self.token if token is None else token)
        return attrs.evolve(found) if found is not None else TokenStats()

    @property
    def unauthenticated_stats(self) -> TokenStats:
        """Requests and 429s counted for requests without a valid token."""
        return self.stats(_ANONYMOUS)

    def reseed(self, seed: int | None = None, spec: SeedSpec | None = None) -> None:
        """Replace the whole account with a freshly seeded one (tokens and rate limits are kept)."""
        gc_config = self._state.gc_config
        self._state = FakeState.seeded(
            self.seed if seed is None else seed, spec or SeedSpec(), self.clock(), gc_config
        )

    def push(
        self,
        registry: str,
        repository: str,
        tag: str | Sequence[str] | None = None,
        *,
        layers: int | None = None,
        blobs: Sequence[tuple[str, int]] | None = None,
        digest: str | None = None,
        size_bytes: int | None = None,
        updated_at: float | None = None,
    ) -> FakeManifest:
        """Push an image like ``docker push`` would: creates the repository if needed, adds the
        manifest (or reuses ``digest``), moves ``tag`` to it. Raises ``ReadOnlyRegistryError``
        while a garbage collection is active and ``FakeDOCRError`` for an unknown registry."""
        tags = [tag] if isinstance(tag, str) else list(tag or [])
        refs = [BlobRef(d, s) for d, s in blobs] if blobs is not None else None
        return self._state.push(
            registry,
            repository,
            tags,
            self.clock(),
            blobs=refs,
            layers=layers,
            digest=digest,
            size_bytes=size_bytes,
            updated_at=updated_at,
        )

    def summary(self) -> JSONDict:
        """The ``GET /_fake/state`` document."""
        now = self.clock()
        out = self._state.summary(now)
        out["requests_served"] = sum(s.requests for s in self._stats.values())
        out["throttled_served"] = sum(s.throttled for s in self._stats.values())
        out["faults_injected"] = dict(self.fault_counts)
        out["tokens"] = [
            {
                "fingerprint": "unauthenticated"
                if key == _ANONYMOUS
                else hashlib.sha256(key.encode()).hexdigest()[:12],
                "valid": key in self._valid_tokens,
                "requests": st.requests,
                "throttled": st.throttled,
            }
            for key, st in self._stats.items()
        ]
        out["docker_credentials_issued"] = self._state.credentials_issued
        return out

    def make_app(self) -> web.Application:
        """Build the aiohttp application serving this fake."""
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    # ---- request pipeline -----------------------------------------------------------------------

    def _auth_key(self, request: web.Request) -> tuple[bool, str]:
        """``(valid, key)``: whether the bearer token is valid, and its rate-limit/stats key."""
        found = _BEARER_RE.match(request.headers.get("Authorization", ""))
        presented = found.group(1) if found else None
        if presented is not None and presented in self._valid_tokens:
            return True, presented
        return False, _ANONYMOUS

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        request_id = random_uuid(self._id_rng)
        raw_path = request.rel_url.raw_path
        if raw_path == "/_fake" or raw_path.startswith("/_fake/"):
            return await self._handle_control(request, request_id, raw_path)

        fault = self._faults.draw(request.method)
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        now = self.clock()
        auth_valid, key = self._auth_key(request)
        ctx = Ctx(request=request, now=now, raw_path=raw_path, state=self._state, public_url=self.public_url)
        found = match(API_ROUTES, request.method, split_raw_path(raw_path))
        if found is not None:
            ctx.operation = found[0].operation
        stats = self._stats[key]
        stats.requests += 1

        def record(status: int | None, fault_name: str | None = None) -> None:
            self._log.append(
                RequestRecord(
                    method=request.method,
                    path=raw_path,
                    query=request.rel_url.raw_query_string,
                    status=status,
                    timestamp=now,
                    auth_present="Authorization" in request.headers,
                    auth_valid=auth_valid,
                    request_id=request_id,
                    operation=ctx.operation,
                    fault=fault_name,
                )
            )

        limited, retry_after = self._limiter.check(key, now)
        if limited is None and fault.kind == "spurious_429":
            limited, retry_after = "spurious", self._faults.config.retry_after
            self.fault_counts[fault.kind] += 1
        if limited is not None:
            stats.throttled += 1
            headers = self._limiter.headers(key, now, exhausted=True)
            if retry_after is not None:
                headers["Retry-After"] = format_retry_after(retry_after)
            record(429, "spurious_429" if limited == "spurious" else None)
            return self._send(request, 429, error_body(429, request_id), headers, request_id)

        self._limiter.consume(key, now)
        if fault.kind == "drop":
            self.fault_counts[fault.kind] += 1
            record(None, fault.kind)
            return drop_connection(request)
        if fault.kind == "error" and fault.status is not None:
            self.fault_counts[fault.kind] += 1
            record(fault.status, fault.kind)
            headers = self._limiter.headers(key, now)
            if fault.status == 502:
                return self._send(
                    request, 502, BAD_GATEWAY_HTML.encode(), headers, request_id, content_type="text/html"
                )
            return self._send(
                request, fault.status, error_body(fault.status, request_id), headers, request_id
            )

        if not auth_valid:
            record(401)
            return self._send(
                request, 401, error_body(401, request_id), self._limiter.headers(key, now), request_id
            )

        try:
            if found is None:
                raise NotFoundError("The resource you requested could not be found.")
            found_route, ctx.params = found
            self._state.tick(now)
            status, body = await found_route.handler(ctx)
        except FakeDOCRError as exc:
            status, body = error_reply(exc, request_id)
        if fault.kind == "lost_response":
            self.fault_counts[fault.kind] += 1
            record(None, fault.kind)
            return drop_connection(request)
        record(status)
        return self._send(request, status, encode_json(body), self._limiter.headers(key, now), request_id)

    async def _handle_control(self, request: web.Request, request_id: str, raw_path: str) -> web.Response:
        """Control routes: authenticated, but never rate limited, faulted, counted or logged."""
        now = self.clock()
        auth_valid, key = self._auth_key(request)
        headers = self._limiter.headers(key, now)
        if not auth_valid:
            return self._send(request, 401, error_body(401, request_id), headers, request_id)
        ctx = Ctx(request=request, now=now, raw_path=raw_path, state=self._state, public_url=self.public_url)
        status, body = await run_control(self, ctx, request_id)
        return self._send(request, status, encode_json(body), headers, request_id)

    def _send(
        self,
        request: web.Request,
        status: int,
        body: bytes,
        headers: dict[str, str],
        request_id: str,
        *,
        content_type: str = "application/json",
    ) -> web.Response:
        """Build the response and run the response hooks on it."""
        headers["x-request-id"] = request_id
        if status == 204 or not body:
            response = web.Response(status=status, headers=headers)
        else:
            response = web.Response(status=status, body=body, headers=headers, content_type=content_type)
        hooks: list[ResponseHook] = [*DEFAULT_RESPONSE_HOOKS] if self.use_default_hooks else []
        hooks += self.response_hooks
        for hook in hooks:
            try:
                hook(request, response, body)
            except Exception as exc:  # a hook must never turn into a 500 of the fake
                logger.exception("FakeDOCR response hook %r failed", hook)
                self.hook_errors.append(exc)
        return response
