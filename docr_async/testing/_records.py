"""What the fake remembers about the requests it served: the request log and per-token counters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from ._primitives import JSONDict

__all__ = ["RequestRecord", "TokenStats"]


@attrs.frozen
class RequestRecord:
    """One request the fake answered (or dropped). The token itself is never recorded."""

    method: str
    path: str
    """The raw path, percent-encoding kept (``/v2/registries/x/repositories/my%2Frepo/tags``)."""
    query: str
    """The raw query string."""
    status: int | None
    """The status sent, or ``None`` when the connection was dropped."""
    timestamp: float
    auth_present: bool
    auth_valid: bool
    request_id: str
    operation: str | None
    """The spec's ``operationId`` of the matched route, if any."""
    fault: str | None
    """``drop``, ``lost_response``, ``error``, ``spurious_429`` or ``None``."""

    def to_json(self) -> JSONDict:
        """Plain JSON form (as ``GET /_fake/requests`` returns it)."""
        return attrs.asdict(self)


@attrs.define
class TokenStats:
    """Requests received and 429s served for one token (or for unauthenticated requests)."""

    requests: int = 0
    throttled: int = 0
