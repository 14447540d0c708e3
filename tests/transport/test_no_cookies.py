"""The client's own session keeps no cookies; a caller's session keeps its own jar."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from docr_async import DOCRClient, RateLimiter

from ._servers import TOKEN, serve

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

EMPTY = {"tags": [], "meta": {"total": 0}, "links": {}}


def setting_a_cookie(seen: list[str | None]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A handler that records each request's ``Cookie`` header and sets a cookie in every answer."""

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("Cookie"))
        response = web.json_response(EMPTY)
        response.set_cookie("session", "planted-by-the-server")
        return response

    return handler


async def test_a_cookie_the_server_sets_is_never_sent_back() -> None:
    seen: list[str | None] = []
    async with (
        serve(setting_a_cookie(seen)) as url,
        # A host name, not an IP: a default jar refuses cookies from IP addresses anyway.
        DOCRClient(
            TOKEN, base_url=url.replace("127.0.0.1", "localhost"), rate_limiter=RateLimiter(enabled=False)
        ) as client,
    ):
        for _ in range(3):
            assert (await client.tags.list("api", registry="example")).items == ()
    assert seen == [None, None, None]


async def test_a_callers_session_keeps_its_cookie_jar() -> None:
    seen: list[str | None] = []
    async with (
        serve(setting_a_cookie(seen)) as url,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session,
        DOCRClient(TOKEN, base_url=url, session=session, rate_limiter=RateLimiter(enabled=False)) as client,
    ):
        await client.tags.list("api", registry="example")
        await client.tags.list("api", registry="example")
    assert seen == [None, "session=planted-by-the-server"]
