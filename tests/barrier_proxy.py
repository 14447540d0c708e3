"""A hostile proxy in front of a FakeDOCR that fails several repository listings *at once*.

Every request is forwarded to the fake, except the manifest listings (``.../digests``) of the
repositories named in ``fail``: each of those is held until all of them have arrived, then every
one gets a 500 in the same instant. Both failures therefore reach the client before either can
cancel the other, so a concurrent scan fails with an exception group of all of them (no sleeps,
no timing: an asyncio.Event is the barrier).

Usable in-process (``async with BarrierProxy(...)``) or on its own thread for a ``docr``
subprocess (:func:`proxy_thread`).
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import aiohttp
from aiohttp import web

if TYPE_CHECKING:
    from collections.abc import Iterator

_HOP_HEADERS = {"content-length", "transfer-encoding", "content-encoding", "connection"}


class BarrierProxy:
    """Forward to ``upstream``; fail the manifest listings of ``fail`` together with a 500."""

    def __init__(self, upstream: str, fail: set[str]) -> None:
        self.upstream = upstream
        self.fail = fail
        self.url = ""
        self.failed: list[str] = []
        self._arrived: set[str] = set()
        self._all_arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def _held_repository(self, path: str) -> str | None:
        if not path.endswith("/digests") or "/repositories/" not in path:
            return None
        name = unquote(path.rsplit("/repositories/", 1)[1].removesuffix("/digests"))
        return name if name in self.fail else None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        held = self._held_repository(request.raw_path.split("?", 1)[0])
        if held is not None:
            self._arrived.add(held)
            if self._arrived >= self.fail:
                self._all_arrived.set()
            await self._all_arrived.wait()
            self.failed.append(held)
            return web.json_response(
                {"id": "server_error", "message": f"listing of {held} failed"},
                status=500,
                headers={"x-request-id": f"req-{held}"},
            )
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")}
        async with self._session.request(
            request.method, self.upstream + request.raw_path, headers=headers, data=await request.read()
        ) as response:
            body = await response.read()
            kept = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_HEADERS}
            return web.Response(body=body, status=response.status, headers=kept)

    async def __aenter__(self) -> BarrierProxy:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server: Any = site._server
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()


@contextmanager
def proxy_thread(upstream: str, fail: set[str]) -> Iterator[BarrierProxy]:
    """Run a :class:`BarrierProxy` on its own event loop in a thread, for a subprocess to use."""
    loop = asyncio.new_event_loop()
    proxy = BarrierProxy(upstream, fail)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(proxy.__aenter__(), loop).result(timeout=10)
        yield proxy
    finally:
        asyncio.run_coroutine_threadsafe(proxy.__aexit__(None, None, None), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
