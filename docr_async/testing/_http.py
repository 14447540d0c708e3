"""HTTP helpers of the fake: the per-request context handlers receive, query and body parsing, and
DigitalOcean's error bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs
from aiohttp import web

from ._errors import BadRequestError, FakeDOCRError
from ._state import FakeState

if TYPE_CHECKING:
    from ._primitives import JSONDict

__all__ = [
    "BAD_GATEWAY_HTML",
    "Ctx",
    "Handler",
    "Reply",
    "drop_connection",
    "encode_json",
    "error_body",
    "error_reply",
]

Reply = tuple[int, "JSONDict | None"]
"""What a handler returns: the status and the JSON body (``None`` for no body)."""

_INT_RE = re.compile(r"^[+-]?\d+$")

_ERROR_MESSAGES = {
    400: ("bad_request", "error parsing request body"),
    401: ("unauthorized", "Unable to authenticate you."),
    404: ("not_found", "The resource you requested could not be found."),
    429: ("too_many_requests", "API rate limit exceeded."),
    500: ("server_error", "Unexpected server-side error"),
    503: ("service_unavailable", "The service is temporarily unavailable. Please try again later."),
}

BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
    "</body>\r\n</html>\r\n"
)
"""The HTML page a 502 from DigitalOcean's edge carries."""


@attrs.define
class Ctx:
    """One request as a handler sees it: the account, the time, the path and its parameters."""

    request: web.Request
    now: float
    raw_path: str
    state: FakeState
    public_url: str
    params: dict[str, str] = attrs.field(factory=dict)
    """The decoded path parameters of the matched route (``registry_name``, ...)."""
    operation: str | None = None
    """The spec's ``operationId`` of the matched route."""

    @property
    def query(self) -> Any:
        """The parsed query string."""
        return self.request.rel_url.query

    async def json_body(self, *, required: bool) -> JSONDict | None:
        """The body as a JSON object; ``None`` if empty and not ``required``; else 400."""
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
        """An integer query parameter (400 if malformed or below ``minimum``)."""
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


Handler = Callable[[Ctx], Awaitable[Reply]]
"""An API operation of the fake."""


def encode_json(body: JSONDict | None) -> bytes:
    """Compact JSON, or no bytes at all for ``None``."""
    return b"" if body is None else json.dumps(body, separators=(",", ":")).encode()


def error_body(status: int, request_id: str) -> bytes:
    """DigitalOcean's error body for a status the fake answers by itself (401, 429, 5xx)."""
    error_id, message = _ERROR_MESSAGES[status]
    return encode_json({"id": error_id, "message": message, "request_id": request_id})


def error_reply(exc: FakeDOCRError, request_id: str) -> Reply:
    """The reply for a model error: its status and DigitalOcean's error body."""
    return exc.status, {"id": exc.error_id, "message": exc.message, "request_id": request_id}


def drop_connection(request: web.Request) -> web.Response:
    """Close the connection without answering. aiohttp then fails to write the returned
    response (a ConnectionError it swallows), so the client sees a disconnect."""
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response(status=500)
