"""The aiohttp.web application of the fake: routing, auth, pagination, rate limits, faults, errors."""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import collections
import hashlib
import json
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import unquote, urlencode

import attrs
from aiohttp import web

from ._configs import FaultConfig, GCConfig, RateLimitConfig, SeedSpec
from ._errors import BadRequestError, FakeDOCRError, NotFoundError, UnprocessableError
from ._limiter import ServerRateLimiter
from ._model import BlobRef, Manifest
from ._primitives import Clock, JSONDict, random_uuid, token_for_seed
from ._records import RequestRecord, TokenStats
from ._state import FakeState

__all__ = [
    "DEFAULT_PUBLIC_URL",
    "DEFAULT_RESPONSE_HOOKS",
    "FakeApp",
    "FaultConfig",
    "RateLimitConfig",
    "RequestRecord",
    "ResponseHook",
    "TokenStats",
]

logger = logging.getLogger("docr_async.testing")

DEFAULT_PUBLIC_URL = "https://api.digitalocean.com"
"""Origin used in pagination links, as the real API writes them."""

ResponseHook = Callable[[web.Request, web.Response, bytes], None]
"""Called as ``hook(request, response, body)`` for every response the fake sends."""

DEFAULT_RESPONSE_HOOKS: list[ResponseHook] = []
"""Hooks every :class:`FakeDOCR` calls in addition to its own (read at call time). A test suite can
append a validating hook here once, so every fake created anywhere in the suite is checked."""

_ANONYMOUS = ""  # the rate-limit/stats key of requests without a valid token (never a valid token)
_BEARER_RE = re.compile(r"^\s*bearer\s+(\S+)\s*$", re.IGNORECASE)
_INT_RE = re.compile(r"^[+-]?\d+$")

_ERROR_MESSAGES = {
    400: ("bad_request", "error parsing request body"),
    401: ("unauthorized", "Unable to authenticate you."),
    404: ("not_found", "The resource you requested could not be found."),
    429: ("too_many_requests", "API rate limit exceeded."),
    500: ("server_error", "Unexpected server-side error"),
    503: ("service_unavailable", "The service is temporarily unavailable. Please try again later."),
}

_BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
    "</body>\r\n</html>\r\n"
)


# --------------------------------------------------------------------------------------------------
# Routing


@attrs.frozen
class _Route:
    method: str
    segments: tuple[str, ...]
    operation: str
    handler: str


def _route(method: str, template: str, operation: str, handler: str | None = None) -> _Route:
    return _Route(method, tuple(template.strip("/").split("/")), operation, handler or operation)


_ROUTES: tuple[_Route, ...] = (
    # Fixed paths first: `options`, `subscription` and `validate-name` are never registry names.
    _route("GET", "/v2/registries", "registries_list"),
    _route("POST", "/v2/registries", "registries_create"),
    _route("GET", "/v2/registries/subscription", "registries_get_subscription", "get_subscription"),
    _route("POST", "/v2/registries/subscription", "registries_update_subscription", "update_subscription"),
    _route("GET", "/v2/registries/options", "registries_get_options", "get_options"),
    _route("POST", "/v2/registries/validate-name", "registries_validate_name", "validate_name"),
    _route("GET", "/v2/registries/{registry_name}", "registries_get"),
    _route("DELETE", "/v2/registries/{registry_name}", "registries_delete"),
    _route(
        "GET",
        "/v2/registries/{registry_name}/docker-credentials",
        "registries_get_dockerCredentials",
        "registries_docker_credentials",
    ),
    _route(
        "GET",
        "/v2/registries/{registry_name}/garbage-collection",
        "registries_get_garbageCollection",
        "get_gc",
    ),
    _route(
        "POST",
        "/v2/registries/{registry_name}/garbage-collection",
        "registries_run_garbageCollection",
        "run_gc",
    ),
    _route(
        "GET",
        "/v2/registries/{registry_name}/garbage-collections",
        "registries_list_garbageCollections",
        "list_gcs",
    ),
    _route(
        "PUT",
        "/v2/registries/{registry_name}/garbage-collection/{garbage_collection_uuid}",
        "registries_update_garbageCollection",
        "update_gc",
    ),
    _route(
        "GET",
        "/v2/registries/{registry_name}/repositoriesV2",
        "registries_list_repositoriesV2",
        "list_repos_v2",
    ),
    _route(
        "DELETE",
        "/v2/registries/{registry_name}/repositories/{repository_name}",
        "registries_delete_repository",
    ),
    _route(
        "GET",
        "/v2/registries/{registry_name}/repositories/{repository_name}/tags",
        "registries_list_repositoryTags",
        "list_tags",
    ),
    _route(
        "DELETE",
        "/v2/registries/{registry_name}/repositories/{repository_name}/tags/{repository_tag}",
        "registries_delete_repositoryTag",
        "delete_tag",
    ),
    _route(
        "GET",
        "/v2/registries/{registry_name}/repositories/{repository_name}/digests",
        "registries_list_repositoryManifests",
        "list_manifests",
    ),
    _route(
        "DELETE",
        "/v2/registries/{registry_name}/repositories/{repository_name}/digests/{manifest_digest}",
        "registries_delete_repositoryManifest",
        "delete_manifest",
    ),
    # The legacy single-registry family.
    _route("GET", "/v2/registry", "registry_get"),
    _route("POST", "/v2/registry", "registry_create"),
    _route("DELETE", "/v2/registry", "registry_delete"),
    _route("GET", "/v2/registry/subscription", "registry_get_subscription", "get_subscription"),
    _route("POST", "/v2/registry/subscription", "registry_update_subscription", "update_subscription"),
    _route(
        "GET",
        "/v2/registry/docker-credentials",
        "registry_get_dockerCredentials",
        "registry_docker_credentials",
    ),
    _route("POST", "/v2/registry/validate-name", "registry_validate_name", "validate_name"),
    _route("GET", "/v2/registry/options", "registry_get_options", "get_options"),
    _route("GET", "/v2/registry/{registry_name}/repositories", "registry_list_repositories"),
    _route(
        "GET", "/v2/registry/{registry_name}/repositoriesV2", "registry_list_repositoriesV2", "list_repos_v2"
    ),
    _route(
        "GET",
        "/v2/registry/{registry_name}/repositories/{repository_name}/tags",
        "registry_list_repositoryTags",
        "list_tags",
    ),
    _route(
        "DELETE",
        "/v2/registry/{registry_name}/repositories/{repository_name}/tags/{repository_tag}",
        "registry_delete_repositoryTag",
        "delete_tag",
    ),
    _route(
        "GET",
        "/v2/registry/{registry_name}/repositories/{repository_name}/digests",
        "registry_list_repositoryManifests",
        "list_manifests",
    ),
    _route(
        "DELETE",
        "/v2/registry/{registry_name}/repositories/{repository_name}/digests/{manifest_digest}",
        "registry_delete_repositoryManifest",
        "delete_manifest",
    ),
    _route(
        "POST", "/v2/registry/{registry_name}/garbage-collection", "registry_run_garbageCollection", "run_gc"
    ),
    _route(
        "GET", "/v2/registry/{registry_name}/garbage-collection", "registry_get_garbageCollection", "get_gc"
    ),
    _route(
        "GET",
        "/v2/registry/{registry_name}/garbage-collections",
        "registry_list_garbageCollections",
        "list_gcs",
    ),
    _route(
        "PUT",
        "/v2/registry/{registry_name}/garbage-collection/{garbage_collection_uuid}",
        "registry_update_garbageCollection",
        "update_gc",
    ),
)

_CONTROL_ROUTES: tuple[_Route, ...] = (
    _route("GET", "/_fake/state", "state", "control_state"),
    _route("GET", "/_fake/requests", "requests", "control_requests"),
    _route("DELETE", "/_fake/requests", "clear_requests", "control_clear_requests"),
    _route("GET", "/_fake/faults", "faults", "control_get_faults"),
    _route("PUT", "/_fake/faults", "set_faults", "control_set_faults"),
    _route("GET", "/_fake/rate-limits", "rate_limits", "control_get_rate_limits"),
    _route("PUT", "/_fake/rate-limits", "set_rate_limits", "control_set_rate_limits"),
    _route("GET", "/_fake/gc", "gc", "control_get_gc"),
    _route("PUT", "/_fake/gc", "set_gc", "control_set_gc"),
    _route("POST", "/_fake/seed", "seed", "control_seed"),
    _route("POST", "/_fake/push", "push", "control_push"),
    _route("POST", "/_fake/tokens", "add_token", "control_add_token"),
    _route("POST", "/_fake/tokens/revoke", "revoke_token", "control_revoke_token"),
)


def _split_raw_path(raw_path: str) -> list[str]:
    """Split a raw path into raw segments; one trailing slash is tolerated."""
    if len(raw_path) > 1 and raw_path.endswith("/"):
        raw_path = raw_path[:-1]
    return raw_path.lstrip("/").split("/")


def _match(
    routes: Sequence[_Route], method: str, raw_segments: Sequence[str]
) -> tuple[_Route, dict[str, str]] | None:
    """Match raw (still percent-encoded) segments. Each parameter is ONE segment, decoded afterwards,
    so ``my%2Frepo`` addresses ``my/repo`` while a literal ``/`` never routes to it."""
    for route in routes:
        if route.method != method or len(route.segments) != len(raw_segments):
            continue
        params: dict[str, str] = {}
        for pattern, raw in zip(route.segments, raw_segments, strict=True):
            if pattern.startswith("{"):
                if not raw:
                    break
                params[pattern[1:-1]] = unquote(raw)
            elif pattern != raw:
                break
        else:
            return route, params
    return None


# --------------------------------------------------------------------------------------------------
# Request context and query parsing


@attrs.define
class _Ctx:
    request: web.Request
    now: float
    raw_path: str
    operation: str | None = None

    @property
    def query(self) -> Any:
        return self.request.rel_url.query

    async def json_body(self, *, required: bool) -> JSONDict | None:
        raw = await self.request.read()
        if not raw.strip():
            if required:
                raise BadRequestError("error parsing request body")
            return None
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise BadRequestError("error parsing request body") from None
        if not isinstance(body, dict):
            raise BadRequestError("error parsing request body")
        return body

    def int_param(self, name: str, default: int, minimum: int) -> int:
        value = self.query.get(name)
        if value is None or value == "":
            return default
        if not _INT_RE.match(value):
            raise BadRequestError(f"invalid {name}: must be an integer")
        number = int(value)
        if number < minimum:
            raise BadRequestError(f"invalid {name}: must be at least {minimum}")
        return number

    def paging(self) -> tuple[int, int]:
        """``(page, per_page)``: per_page defaults to 20, is clamped to 200, and must be >= 1."""
        per_page = min(self.int_param("per_page", 20, 1), 200)
        page = self.int_param("page", 1, 1)
        return page, per_page


def _encode_page_token(direction: str, name: str) -> str:
    raw = json.dumps({direction: name}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_page_token(token: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadRequestError("invalid page_token") from None
    if not isinstance(data, dict) or len(data) != 1:
        raise BadRequestError("invalid page_token")
    ((direction, name),) = data.items()
    if direction not in ("after", "before") or not isinstance(name, str):
        raise BadRequestError("invalid page_token")
    return direction, name


# --------------------------------------------------------------------------------------------------
# The application


class FakeApp:
    """Everything the fake knows and does, minus the listening socket (see ``FakeDOCR``)."""

    def __init__(
        self,
        token: str | None = None,
        *,
        seed: int = 0,
        seed_spec: SeedSpec | None = None,
        rate_limits: RateLimitConfig | None = None,
        faults: FaultConfig | None = None,
        gc: GCConfig | None = None,
        clock: Clock | None = None,
        public_url: str = DEFAULT_PUBLIC_URL,
        response_hooks: ResponseHook | Sequence[ResponseHook] | None = None,
        use_default_hooks: bool = True,
        request_log_limit: int | None = 100_000,
    ) -> None:
        self.seed = seed
        self.clock: Clock = clock if clock is not None else time.time
        """The time source (Unix seconds) for rate limits, GC progress and timestamps. Settable."""
        self.public_url = public_url.rstrip("/")
        self.token: str = token if token is not None else token_for_seed(seed)
        self._tokens: list[str] = [self.token]
        self._valid_tokens: set[str] = {self.token}
        self._state = FakeState.seeded(seed, seed_spec or SeedSpec(), self.clock(), gc)
        self._limiter = ServerRateLimiter(rate_limits or RateLimitConfig())
        self._faults = FaultConfig()
        self._fault_rng = random.Random(seed)  # noqa: S311 - reproducible test data
        self._fault_seen = 0
        self.set_faults(faults or FaultConfig())
        self._id_rng = random.Random(f"request-ids:{seed}")  # noqa: S311
        if response_hooks is None:
            hooks: list[ResponseHook] = []
        elif callable(response_hooks):
            hooks = [response_hooks]
        else:
            hooks = list(response_hooks)
        self.response_hooks: list[ResponseHook] = hooks
        """Hooks called as ``hook(request, response, body)`` for every response sent."""
        self.use_default_hooks = use_default_hooks
        self.hook_errors: list[BaseException] = []
        """Exceptions raised by response hooks (they never break a response)."""
        self._log: collections.deque[RequestRecord] = collections.deque(maxlen=request_log_limit)
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
        return self._faults

    @faults.setter
    def faults(self, config: FaultConfig) -> None:
        self.set_faults(config)

    def set_faults(self, config: FaultConfig | None = None, **changes: Any) -> FaultConfig:
        """Replace the fault config (or change fields of the current one); re-seeds the fault RNG."""
        new = config if config is not None else self._faults
        if changes:
            new = attrs.evolve(new, **changes)
        self._faults = new
        self._fault_rng = random.Random(new.seed if new.seed is not None else self.seed)  # noqa: S311
        self._fault_seen = 0
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
    ) -> Manifest:
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

    def _draw_fault(self, method: str) -> tuple[str | None, int | None, float]:
        cfg = self._faults
        if cfg.methods is not None and method.upper() not in cfg.methods:
            return None, None, 0.0
        self._fault_seen += 1
        if self._fault_seen <= cfg.skip_first:
            return None, None, 0.0
        rng = self._fault_rng
        kind: str | None = None
        status: int | None = None
        if cfg.drop_rate or cfg.lost_response_rate or cfg.error_rate or cfg.spurious_429_rate:
            draw = rng.random()
            threshold = 0.0
            for name, rate in (
                ("drop", cfg.drop_rate),
                ("lost_response", cfg.lost_response_rate),
                ("error", cfg.error_rate),
                ("spurious_429", cfg.spurious_429_rate),
            ):
                threshold += rate
                if draw < threshold:
                    kind = name
                    break
            if kind == "error":
                status = cfg.error_statuses[rng.randrange(len(cfg.error_statuses))]
        delay = cfg.latency + (rng.random() * cfg.jitter if cfg.jitter > 0 else 0.0)
        return kind, status, delay

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        request_id = random_uuid(self._id_rng)
        raw_path = request.rel_url.raw_path
        if raw_path == "/_fake" or raw_path.startswith("/_fake/"):
            return await self._handle_control(request, request_id, raw_path)

        fault, fault_status, delay = self._draw_fault(request.method)
        if delay > 0:
            await asyncio.sleep(delay)
        now = self.clock()
        match = _BEARER_RE.match(request.headers.get("Authorization", ""))
        presented = match.group(1) if match else None
        auth_valid = presented is not None and presented in self._valid_tokens
        key = presented if auth_valid and presented is not None else _ANONYMOUS
        ctx = _Ctx(request=request, now=now, raw_path=raw_path)
        found = _match(_ROUTES, request.method, _split_raw_path(raw_path))
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
        if limited is None and fault == "spurious_429":
            limited, retry_after = "spurious", self._faults.retry_after
            self.fault_counts[fault] += 1
        if limited is not None:
            stats.throttled += 1
            headers = self._limiter.headers(key, now, exhausted=True)
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
            record(429, "spurious_429" if limited == "spurious" else None)
            return self._send(request, 429, self._error_body(429, request_id), headers, request_id)

        self._limiter.consume(key, now)
        if fault == "drop":
            self.fault_counts[fault] += 1
            record(None, fault)
            return self._drop(request)
        if fault == "error" and fault_status is not None:
            self.fault_counts[fault] += 1
            record(fault_status, fault)
            headers = self._limiter.headers(key, now)
            if fault_status == 502:
                return self._send(
                    request, 502, _BAD_GATEWAY_HTML.encode(), headers, request_id, content_type="text/html"
                )
            return self._send(
                request, fault_status, self._error_body(fault_status, request_id), headers, request_id
            )

        if not auth_valid:
            record(401)
            return self._send(
                request, 401, self._error_body(401, request_id), self._limiter.headers(key, now), request_id
            )

        try:
            status, body = await self._dispatch(ctx, found)
        except FakeDOCRError as exc:
            status, body = exc.status, {"id": exc.error_id, "message": exc.message, "request_id": request_id}
        if fault == "lost_response":
            self.fault_counts[fault] += 1
            record(None, fault)
            return self._drop(request)
        record(status)
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        return self._send(request, status, payload, self._limiter.headers(key, now), request_id)

    def _error_body(self, status: int, request_id: str, message: str | None = None) -> bytes:
        error_id, default = _ERROR_MESSAGES[status]
        body = {"id": error_id, "message": message or default, "request_id": request_id}
        return json.dumps(body, separators=(",", ":")).encode()

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

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        """Close the connection without answering. aiohttp then fails to write the returned
        response (a ConnectionError it swallows), so the client sees a disconnect."""
        transport = request.transport
        if transport is not None:
            transport.close()
        return web.Response(status=500)

    async def _dispatch(
        self, ctx: _Ctx, found: tuple[_Route, dict[str, str]] | None
    ) -> tuple[int, JSONDict | None]:
        if found is None:
            raise NotFoundError("The resource you requested could not be found.")
        route, params = found
        self._state.tick(ctx.now)
        handler: Callable[..., Awaitable[tuple[int, JSONDict | None]]] = getattr(self, "_op_" + route.handler)
        return await handler(ctx, **params)

    # ---- pagination ---------------------------------------------------------------------------------

    def _link(self, ctx: _Ctx, **query: Any) -> str:
        return f"{self.public_url}{ctx.raw_path}?{urlencode(sorted(query.items()))}"

    def _page(self, ctx: _Ctx, key: str, items: Sequence[Any], render: Callable[[Any], JSONDict]) -> JSONDict:
        page, per_page = ctx.paging()
        total = len(items)
        last = max(1, math.ceil(total / per_page))
        start = (page - 1) * per_page
        pages: dict[str, str] = {}
        if page > 1:
            pages["first"] = self._link(ctx, page=1, per_page=per_page)
            pages["prev"] = self._link(ctx, page=min(page - 1, last), per_page=per_page)
        if page < last:
            pages["next"] = self._link(ctx, page=page + 1, per_page=per_page)
            pages["last"] = self._link(ctx, page=last, per_page=per_page)
        return {
            key: [render(item) for item in items[start : start + per_page]],
            "links": {"pages": pages} if pages else {},
            "meta": {"total": total},
        }

    # ---- operations: registries and account ------------------------------------------------------

    async def _op_registries_list(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        regs = self._state.sorted_registries()
        sub = self._state.subscription
        return 200, {
            "registries": [r.to_json(sub) for r in regs],
            # Undocumented, but godo decodes it (docr-api.md §1.1).
            "total_storage_usage_bytes": sum(r.storage_usage_bytes for r in regs),
        }

    async def _op_registries_create(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        body = await ctx.json_body(required=True)
        assert body is not None
        reg = self._state.create_registry(
            body.get("name"), body.get("region"), body.get("subscription_tier_slug"), ctx.now, legacy=False
        )
        return 201, {"registry": reg.to_json()}

    async def _op_registry_create(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        body = await ctx.json_body(required=True)
        assert body is not None
        reg = self._state.create_registry(
            body.get("name"), body.get("region"), body.get("subscription_tier_slug"), ctx.now, legacy=True
        )
        return 201, {"registry": reg.to_json(self._state.subscription)}

    async def _op_registries_get(self, ctx: _Ctx, registry_name: str) -> tuple[int, JSONDict]:
        return 200, {"registry": self._state.registry(registry_name).to_json()}

    async def _op_registry_get(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        return 200, {"registry": self._state.the_registry().to_json(self._state.subscription)}

    async def _op_registries_delete(self, ctx: _Ctx, registry_name: str) -> tuple[int, None]:
        self._state.delete_registry(registry_name, ctx.now)
        return 204, None

    async def _op_registry_delete(self, ctx: _Ctx) -> tuple[int, None]:
        self._state.delete_registry(self._state.the_registry().name, ctx.now)
        return 204, None

    def _credentials(self, ctx: _Ctx) -> JSONDict:
        raw_rw = ctx.query.get("read_write", "false").lower()
        if raw_rw not in ("true", "false", "1", "0"):
            raise BadRequestError("invalid read_write: must be true or false")
        expiry = ctx.int_param("expiry_seconds", 0, 0)
        return self._state.docker_credentials(raw_rw in ("true", "1"), expiry)

    async def _op_registries_docker_credentials(self, ctx: _Ctx, registry_name: str) -> tuple[int, JSONDict]:
        self._state.registry(registry_name)
        return 200, self._credentials(ctx)

    async def _op_registry_docker_credentials(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        if not self._state.registries:
            raise NotFoundError("registry does not exist")
        return 200, self._credentials(ctx)

    async def _op_get_subscription(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        return 200, {"subscription": self._state.subscription.to_json()}

    async def _op_update_subscription(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        body = await ctx.json_body(required=False) or {}
        sub = self._state.update_subscription(body.get("tier_slug"), ctx.now)
        return 200, {"subscription": sub.to_json()}

    async def _op_get_options(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        return 200, self._state.options_json()

    async def _op_validate_name(self, ctx: _Ctx) -> tuple[int, None]:
        body = await ctx.json_body(required=True)
        assert body is not None
        self._state.validate_name(body.get("name"))
        return 204, None

    # ---- operations: repositories, tags, manifests ----------------------------------------------

    async def _op_registry_list_repositories(self, ctx: _Ctx, registry_name: str) -> tuple[int, JSONDict]:
        ctx.paging()
        reg = self._state.registry(registry_name)
        return 200, self._page(
            ctx,
            "repositories",
            reg.sorted_repository_names(),
            lambda n: reg.repositories[n].to_json_v1(reg.name),
        )

    async def _op_list_repos_v2(self, ctx: _Ctx, registry_name: str) -> tuple[int, JSONDict]:
        page, per_page = ctx.paging()
        raw_token = ctx.query.get("page_token")
        cursor = _decode_page_token(raw_token) if raw_token else None
        reg = self._state.registry(registry_name)
        names = reg.sorted_repository_names()
        total = len(names)
        last = max(1, math.ceil(total / per_page))
        if cursor is None:
            start = (page - 1) * per_page
        elif cursor[0] == "after":
            start = bisect.bisect_right(names, cursor[1])
        else:
            start = max(0, bisect.bisect_left(names, cursor[1]) - per_page)
        current = start // per_page + 1
        chunk = names[start : start + per_page]
        pages: dict[str, str] = {}
        if start > 0:
            pages["first"] = self._link(ctx, page=1, per_page=per_page)
            if chunk:
                prev_token = _encode_page_token("before", chunk[0])
                pages["prev"] = self._link(
                    ctx, page=max(1, current - 1), page_token=prev_token, per_page=per_page
                )
            else:
                pages["prev"] = self._link(ctx, page=min(current - 1, last), per_page=per_page)
        if start + per_page < total:
            next_token = _encode_page_token("after", chunk[-1])
            pages["next"] = self._link(ctx, page=current + 1, page_token=next_token, per_page=per_page)
            pages["last"] = self._link(ctx, page=last, per_page=per_page)
        return 200, {
            "repositories": [reg.repositories[n].to_json_v2(reg.name) for n in chunk],
            "links": {"pages": pages} if pages else {},
            "meta": {"total": total},
        }

    async def _op_registries_delete_repository(
        self, ctx: _Ctx, registry_name: str, repository_name: str
    ) -> tuple[int, None]:
        self._state.delete_repository(registry_name, repository_name, ctx.now)
        return 204, None

    async def _op_list_tags(
        self, ctx: _Ctx, registry_name: str, repository_name: str
    ) -> tuple[int, JSONDict]:
        ctx.paging()
        reg = self._state.registry(registry_name)
        repo = reg.repository(repository_name)
        return 200, self._page(ctx, "tags", repo.sorted_tags(), lambda t: t.to_json(reg.name, repo.name))

    async def _op_delete_tag(
        self, ctx: _Ctx, registry_name: str, repository_name: str, repository_tag: str
    ) -> tuple[int, None]:
        self._state.delete_tag(registry_name, repository_name, repository_tag, ctx.now)
        return 204, None

    async def _op_list_manifests(
        self, ctx: _Ctx, registry_name: str, repository_name: str
    ) -> tuple[int, JSONDict]:
        ctx.paging()
        reg = self._state.registry(registry_name)
        repo = reg.repository(repository_name)
        return 200, self._page(
            ctx, "manifests", repo.sorted_manifests(), lambda m: m.to_json(reg.name, repo.name)
        )

    async def _op_delete_manifest(
        self, ctx: _Ctx, registry_name: str, repository_name: str, manifest_digest: str
    ) -> tuple[int, None]:
        self._state.delete_manifest(registry_name, repository_name, manifest_digest, ctx.now)
        return 204, None

    # ---- operations: garbage collection ------------------------------------------------------------

    async def _op_run_gc(self, ctx: _Ctx, registry_name: str) -> tuple[int, JSONDict]:
        body = await ctx.json_body(required=False) or {}
        self._state.registry(registry_name)
        gc = self._state.start_gc(registry_name, body.get("type"), ctx.now)
        return 201, {"garbage_collection": gc.to_json(ctx.now)}

    async def _op_get_gc(self, ctx: _Ctx, registry_name: str) -> tuple[int, JSONDict]:
        gc = self._state.active_gc(registry_name, ctx.now)
        return 200, {"garbage_collection": gc.to_json(ctx.now)}

    async def _op_list_gcs(self, ctx: _Ctx, registry_name: str) -> tuple[int, JSONDict]:
        ctx.paging()
        history = self._state.gc_history(registry_name, ctx.now)
        return 200, self._page(ctx, "garbage_collections", history, lambda g: g.to_json(ctx.now))

    async def _op_update_gc(
        self, ctx: _Ctx, registry_name: str, garbage_collection_uuid: str
    ) -> tuple[int, JSONDict]:
        body = await ctx.json_body(required=True)
        assert body is not None
        cancel = body.get("cancel", False)
        if not isinstance(cancel, bool):
            raise UnprocessableError("cancel must be a boolean")
        gc = self._state.update_gc(registry_name, garbage_collection_uuid, cancel, ctx.now)
        return 200, {"garbage_collection": gc.to_json(ctx.now)}

    # ---- control routes ---------------------------------------------------------------------------

    async def _handle_control(
        self, request: web.Request, request_id: str, raw_path: str
    ) -> web.StreamResponse:
        now = self.clock()
        match = _BEARER_RE.match(request.headers.get("Authorization", ""))
        presented = match.group(1) if match else None
        key = presented if presented is not None and presented in self._valid_tokens else _ANONYMOUS
        headers = self._limiter.headers(key, now)
        if key == _ANONYMOUS:
            return self._send(request, 401, self._error_body(401, request_id), headers, request_id)
        ctx = _Ctx(request=request, now=now, raw_path=raw_path)
        found = _match(_CONTROL_ROUTES, request.method, _split_raw_path(raw_path))
        try:
            if found is None:
                raise NotFoundError("unknown control route; see docs/testing.md")
            route, params = found
            handler: Callable[..., Awaitable[tuple[int, Any]]] = getattr(self, "_" + route.handler)
            status, body = await handler(ctx, **params)
        except FakeDOCRError as exc:
            status, body = exc.status, {"id": exc.error_id, "message": exc.message, "request_id": request_id}
        except (TypeError, ValueError) as exc:
            status, body = 422, {"id": "unprocessable_entity", "message": str(exc), "request_id": request_id}
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        return self._send(request, status, payload, headers, request_id)

    async def _control_state(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        return 200, self.summary()

    async def _control_requests(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        since = ctx.int_param("since", 0, 0)
        records = self.requests
        return 200, {"requests": [r.to_json() for r in records[since:]], "total": len(records)}

    async def _control_clear_requests(self, ctx: _Ctx) -> tuple[int, None]:
        self.clear_requests()
        return 204, None

    async def _control_get_faults(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        return 200, self._faults.to_json()

    async def _control_set_faults(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        body = await ctx.json_body(required=False) or {}
        return 200, self.set_faults(FaultConfig(**body)).to_json()

    async def _control_get_rate_limits(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        return 200, attrs.asdict(self.rate_limits)

    async def _control_set_rate_limits(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        body = await ctx.json_body(required=False) or {}
        reset = bool(body.pop("reset", False))
        self.rate_limits = RateLimitConfig(**body)
        if reset:
            self.reset_rate_limits()
        return 200, attrs.asdict(self.rate_limits)

    async def _control_get_gc(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        return 200, attrs.asdict(self.gc_config)

    async def _control_set_gc(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        body = await ctx.json_body(required=False) or {}
        self.gc_config = GCConfig(**body)
        return 200, attrs.asdict(self.gc_config)

    async def _control_seed(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        body = await ctx.json_body(required=False) or {}
        seed = body.pop("seed", None)
        if seed is not None and not isinstance(seed, int):
            raise UnprocessableError("seed must be an integer")
        self.reseed(seed, SeedSpec(**body))
        return 201, self.summary()

    async def _control_push(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        body = await ctx.json_body(required=True)
        assert body is not None
        registry, repository = body.pop("registry", None), body.pop("repository", None)
        if not isinstance(registry, str) or not isinstance(repository, str):
            raise UnprocessableError("registry and repository are required strings")
        manifest = self.push(registry, repository, **body)
        return 201, {"manifest": manifest.to_json(registry, repository)}

    async def _control_add_token(self, ctx: _Ctx) -> tuple[int, JSONDict]:
        body = await ctx.json_body(required=False) or {}
        return 201, {"token": self.add_token(body.get("token"))}

    async def _control_revoke_token(self, ctx: _Ctx) -> tuple[int, None]:
        body = await ctx.json_body(required=True)
        assert body is not None
        token = body.get("token")
        if not isinstance(token, str):
            raise UnprocessableError("token is required")
        self.revoke_token(token)
        return 204, None
