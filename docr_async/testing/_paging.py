"""DigitalOcean's pagination, as the fake writes it: page-number pages with ``links.pages`` and
``meta.total``, and the ``page_token`` cursors of ``repositoriesV2``."""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import math
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ._errors import BadRequestError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._http import Ctx
    from ._primitives import JSONDict

__all__ = ["cursor_page", "link", "number_page", "read_cursor"]


def link(ctx: Ctx, **query: Any) -> str:
    """An absolute link to this path on the public URL, with ``query``."""
    return f"{ctx.public_url}{ctx.raw_path}?{urlencode(sorted(query.items()))}"


def number_page(ctx: Ctx, key: str, items: Sequence[Any], render: Callable[[Any], JSONDict]) -> JSONDict:
    """The page ``ctx`` asks for of ``items``, under ``key``, with links and ``meta.total``."""
    page, per_page = ctx.paging()
    total = len(items)
    last = max(1, math.ceil(total / per_page))
    start = (page - 1) * per_page
    pages: dict[str, str] = {}
    if page > 1:
        pages["first"] = link(ctx, page=1, per_page=per_page)
        pages["prev"] = link(ctx, page=min(page - 1, last), per_page=per_page)
    if page < last:
        pages["next"] = link(ctx, page=page + 1, per_page=per_page)
        pages["last"] = link(ctx, page=last, per_page=per_page)
    return {
        key: [render(item) for item in items[start : start + per_page]],
        "links": {"pages": pages} if pages else {},
        "meta": {"total": total},
    }


def read_cursor(ctx: Ctx) -> tuple[str, str] | None:
    """The ``page_token`` of the request as ``(direction, name)``, or ``None`` (400 if malformed)."""
    raw_token = ctx.query.get("page_token")
    return _decode_page_token(raw_token) if raw_token else None


def cursor_page(
    ctx: Ctx,
    cursor: tuple[str, str] | None,
    key: str,
    names: Sequence[str],
    render: Callable[[str], JSONDict],
) -> JSONDict:
    """A page of sorted ``names`` addressed by a cursor (after/before a name) or else by ``page``.

    The ``next`` and ``prev`` links carry a token, so following them stays exact when names are
    removed meanwhile; ``first`` and ``last`` are page numbers.
    """
    page, per_page = ctx.paging()
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
        pages["first"] = link(ctx, page=1, per_page=per_page)
        if chunk:
            prev_token = _encode_page_token("before", chunk[0])
            pages["prev"] = link(ctx, page=max(1, current - 1), page_token=prev_token, per_page=per_page)
        else:
            pages["prev"] = link(ctx, page=min(current - 1, last), per_page=per_page)
    if start + per_page < total:
        next_token = _encode_page_token("after", chunk[-1])
        pages["next"] = link(ctx, page=current + 1, page_token=next_token, per_page=per_page)
        pages["last"] = link(ctx, page=last, per_page=per_page)
    return {
        key: [render(n) for n in chunk],
        "links": {"pages": pages} if pages else {},
        "meta": {"total": total},
    }


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
