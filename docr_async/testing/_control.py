"""The fake's control routes under ``/_fake/``: inspect and steer a running fake over HTTP.

The handlers work on a :class:`FakeControls`, the part of :class:`~docr_async.testing.FakeApp` they
need (a protocol, so this module does not import the application that imports it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ._configs import FaultConfig, GCConfig, RateLimitConfig, SeedSpec
from ._errors import FakeDOCRError, NotFoundError, UnprocessableError
from ._http import Ctx, Reply, error_reply
from ._routes import Route, match, route, split_raw_path

if TYPE_CHECKING:
    from ._model import FakeManifest
    from ._primitives import JSONDict
    from ._records import RequestRecord

__all__ = ["CONTROL_ROUTES", "FakeControls", "run_control"]


class FakeControls(Protocol):
    """What the control routes read and change on the fake."""

    rate_limits: RateLimitConfig
    gc_config: GCConfig

    @property
    def requests(self) -> list[RequestRecord]: ...

    @property
    def faults(self) -> FaultConfig: ...

    def summary(self) -> JSONDict: ...

    def clear_requests(self) -> None: ...

    def set_faults(self, config: FaultConfig | None = None, **changes: Any) -> FaultConfig: ...

    def reset_rate_limits(self) -> None: ...

    def advance_clock(self, seconds: float) -> float: ...

    def reseed(self, seed: int | None = None, spec: SeedSpec | None = None) -> None: ...

    @property
    def push(self) -> Callable[..., FakeManifest]:
        """``FakeApp.push``; the control route passes the request body as its keywords."""
        ...

    def add_token(self, token: str | None = None) -> str: ...

    def revoke_token(self, token: str) -> None: ...


ControlHandler = Callable[[FakeControls, Ctx], Awaitable[Reply]]


async def run_control(app: FakeControls, ctx: Ctx, request_id: str) -> Reply:
    """Route an authenticated control request and run it; errors become DigitalOcean error bodies
    (a bad value in a body, like an unknown config field, is a 422)."""
    found = match(CONTROL_ROUTES, ctx.request.method, split_raw_path(ctx.raw_path))
    try:
        if found is None:
            raise NotFoundError("unknown control route; see docs/testing.md")
        found_route, ctx.params = found
        return await found_route.handler(app, ctx)
    except FakeDOCRError as exc:
        return error_reply(exc, request_id)
    except (TypeError, ValueError) as exc:
        return 422, {"id": "unprocessable_entity", "message": str(exc), "request_id": request_id}


async def _state(app: FakeControls, ctx: Ctx) -> Reply:
    return 200, app.summary()


async def _requests(app: FakeControls, ctx: Ctx) -> Reply:
    since = ctx.int_param("since", 0, 0)
    records = app.requests
    return 200, {"requests": [r.to_json() for r in records[since:]], "total": len(records)}


async def _clear_requests(app: FakeControls, ctx: Ctx) -> Reply:
    app.clear_requests()
    return 204, None


async def _get_faults(app: FakeControls, ctx: Ctx) -> Reply:
    return 200, app.faults.to_json()


async def _set_faults(app: FakeControls, ctx: Ctx) -> Reply:
    body = await ctx.json_body(required=False) or {}
    return 200, app.set_faults(FaultConfig(**body)).to_json()


async def _get_rate_limits(app: FakeControls, ctx: Ctx) -> Reply:
    return 200, attrs.asdict(app.rate_limits)


async def _set_rate_limits(app: FakeControls, ctx: Ctx) -> Reply:
    body = await ctx.json_body(required=False) or {}
    reset = bool(body.pop("reset", False))
    app.rate_limits = RateLimitConfig(**body)
    if reset:
        app.reset_rate_limits()
    return 200, attrs.asdict(app.rate_limits)


async def _get_gc(app: FakeControls, ctx: Ctx) -> Reply:
    return 200, attrs.asdict(app.gc_config)


async def _set_gc(app: FakeControls, ctx: Ctx) -> Reply:
    body = await ctx.json_body(required=False) or {}
    app.gc_config = GCConfig(**body)
    return 200, attrs.asdict(app.gc_config)


async def _seed(app: FakeControls, ctx: Ctx) -> Reply:
    body = await ctx.json_body(required=False) or {}
    seed = body.pop("seed", None)
    if seed is not None and not isinstance(seed, int):
        raise UnprocessableError("seed must be an integer")
    app.reseed(seed, SeedSpec(**body))
    return 201, app.summary()


async def _push(app: FakeControls, ctx: Ctx) -> Reply:
    body = await ctx.json_body(required=True)
    assert body is not None
    registry, repository = body.pop("registry", None), body.pop("repository", None)
    if not isinstance(registry, str) or not isinstance(repository, str):
        raise UnprocessableError("registry and repository are required strings")
    manifest = app.push(registry, repository, **body)
    return 201, {"manifest": manifest.to_json(registry, repository)}


async def _add_token(app: FakeControls, ctx: Ctx) -> Reply:
    body = await ctx.json_body(required=False) or {}
    return 201, {"token": app.add_token(body.get("token"))}


async def _revoke_token(app: FakeControls, ctx: Ctx) -> Reply:
    body = await ctx.json_body(required=True)
    assert body is not None
    token = body.get("token")
    if not isinstance(token, str):
        raise UnprocessableError("token is required")
    app.revoke_token(token)
    return 204, None


async def _advance_clock(app: FakeControls, ctx: Ctx) -> Reply:
    body = await ctx.json_body(required=True)
    assert body is not None
    seconds = body.get("advance")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        raise UnprocessableError("advance must be a number of seconds")
    try:
        now = app.advance_clock(float(seconds))
    except ValueError as exc:
        raise UnprocessableError(str(exc)) from None
    return 200, {"now": now}


CONTROL_ROUTES: tuple[Route[ControlHandler], ...] = (
    route("GET", "/_fake/state", "state", _state),
    route("GET", "/_fake/requests", "requests", _requests),
    route("DELETE", "/_fake/requests", "clear_requests", _clear_requests),
    route("GET", "/_fake/faults", "faults", _get_faults),
    route("PUT", "/_fake/faults", "set_faults", _set_faults),
    route("GET", "/_fake/rate-limits", "rate_limits", _get_rate_limits),
    route("PUT", "/_fake/rate-limits", "set_rate_limits", _set_rate_limits),
    route("GET", "/_fake/gc", "gc", _get_gc),
    route("PUT", "/_fake/gc", "set_gc", _set_gc),
    route("POST", "/_fake/clock", "advance_clock", _advance_clock),
    route("POST", "/_fake/seed", "seed", _seed),
    route("POST", "/_fake/push", "push", _push),
    route("POST", "/_fake/tokens", "add_token", _add_token),
    route("POST", "/_fake/tokens/revoke", "revoke_token", _revoke_token),
)
