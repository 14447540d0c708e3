"""A client used from the wrong event loop says so (issue 14, item 7).

Used after its ``asyncio.run`` ended, or from a second loop, the client used to fail with raw
``RuntimeError``s from aiohttp and asyncio. Now it raises :class:`EventLoopError` (a ``DOCRError``)
saying: create the client inside the running loop, one client per loop.

These tests run several event loops, so they are plain functions and the server runs in a thread
(``http.server``) that outlives every loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest

from docr_async import DOCRClient, DOCRError, EventLoopError, RateLimiter, RetryPolicy

from ._servers import TOKEN

if TYPE_CHECKING:
    from collections.abc import Iterator

ADVICE = "create the client inside the running loop"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"registry": {"name": "example"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")  # no pooled connection outlives its loop
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def make_client(url: str) -> DOCRClient:
    return DOCRClient(TOKEN, base_url=url, retry=RetryPolicy(max_attempts=1), rate_limiter=RateLimiter())


async def get_name(client: DOCRClient) -> str:
    return (await client.registries.get("example")).name


def test_a_client_used_after_its_asyncio_run_ended(url: str) -> None:
    client = make_client(url)
    assert asyncio.run(get_name(client)) == "example"  # the pool now belongs to a closed loop
    with pytest.raises(EventLoopError, match=ADVICE) as info:
        asyncio.run(get_name(client))
    assert isinstance(info.value, DOCRError)
    assert "closed event loop" in str(info.value)
    assert "one client per loop" in str(info.value)
    asyncio.run(client.aclose())  # releases what it can; the loop it needs is gone


def test_a_client_used_from_a_second_running_loop(url: str) -> None:
    home = asyncio.new_event_loop()
    try:
        client = make_client(url)
        assert home.run_until_complete(get_name(client)) == "example"
        with pytest.raises(EventLoopError, match="another event loop"):
            asyncio.run(get_name(client))
        with pytest.raises(EventLoopError, match=ADVICE):
            asyncio.run(client.aclose())  # its own loop still runs: close it there
        assert home.run_until_complete(get_name(client)) == "example"  # still fine at home
        home.run_until_complete(client.aclose())
    finally:
        home.close()


def test_a_client_created_in_one_loop_belongs_to_it(url: str) -> None:
    async def create() -> DOCRClient:
        return make_client(url)

    home = asyncio.new_event_loop()
    try:
        client = home.run_until_complete(create())
        with pytest.raises(EventLoopError, match=ADVICE):
            asyncio.run(get_name(client))
        home.run_until_complete(client.aclose())
    finally:
        home.close()


def test_a_client_created_outside_any_loop_belongs_to_the_first_that_uses_it(url: str) -> None:
    client = make_client(url)

    async def use_and_close() -> str:
        async with client:
            return await get_name(client)

    assert asyncio.run(use_and_close()) == "example"


def test_a_with_options_copy_belongs_to_the_same_loop(url: str) -> None:
    client = make_client(url)
    copy = client.with_options(timeout=5)
    home = asyncio.new_event_loop()
    try:
        assert home.run_until_complete(get_name(client)) == "example"
        with pytest.raises(EventLoopError):
            asyncio.run(get_name(copy))
        home.run_until_complete(client.aclose())
    finally:
        home.close()
