"""Tiny hostile servers on 127.0.0.1 for the transport tests.

- :func:`serve`: an ``aiohttp.web`` app whose every route goes to one handler.
- :func:`raw_server`: a TCP server that reads the request head and writes whatever bytes it is
  given (a bad status line, a bad header, a bad chunk size ...), for replies aiohttp.web would never
  produce.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from aiohttp import web

from docr_async import DOCRClient, Limiter, RateLimiter, RetryPolicy

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

TOKEN = "dop_v1_" + "5ec7e7" * 10 + "abcd"
"""A token every test checks for in what the SDK lets out."""


def presented_token(head: bytes) -> bytes:
    """The bearer token in a raw request head (what a hostile server would echo)."""
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"authorization":
            return value.strip().removeprefix(b"Bearer ")
    return b""


@asynccontextmanager
async def serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> AsyncIterator[str]:
    """Run ``handler`` for every request on 127.0.0.1; yield the base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def raw_server(
    reply: bytes | Callable[[bytes], bytes] | None,
    *,
    hold: asyncio.Event | None = None,
    read_head: bool = True,
) -> AsyncIterator[str]:
    """A server that answers every request with the bytes ``reply`` (then closes the connection).

    ``reply`` may be a function of the request head (to echo what the client sent, the token
    included). ``reply=None`` answers nothing: the connection stays open until ``hold`` is set (or
    the client gives up). ``read_head=False`` answers at once, without reading a request (for a
    TLS client, whose hello has no HTTP head). Yields the base URL.
    """
    release = hold or asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            head = await reader.readuntil(b"\r\n\r\n") if read_head else b""
            if reply is None:
                await release.wait()
            else:
                writer.write(reply(head) if callable(reply) else reply)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        release.set()
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


def client_for(base_url: str, *, limiter: Limiter | None = None, **kwargs: Any) -> DOCRClient:
    """A client of ``base_url`` with the test token; no retries unless asked."""
    kwargs.setdefault("retry", RetryPolicy(max_attempts=1))
    return DOCRClient(
        TOKEN,
        base_url=base_url,
        rate_limiter=limiter if limiter is not None else RateLimiter(burst_limit=None),
        **kwargs,
    )
