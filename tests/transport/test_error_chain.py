"""No token anywhere in an error's chain (issue 14, item 5).

aiohttp's ``ClientResponseError`` carries a ``RequestInfo`` whose headers hold
``Authorization: Bearer <token>``; a malformed reply used to surface as the ``__cause__`` of the
SDK's error, so ``repr(err.__cause__)`` and a formatted traceback showed the token. Each test here
breaks HTTP in one way on a raw socket (echoing the presented token into the broken part where it
can) and checks every text a user could print of the error and of every exception chained to it.
"""

from __future__ import annotations

import asyncio
import traceback
from typing import TYPE_CHECKING

import aiohttp
import pytest
from refused_port import refused_url

from docr_async import (
    APIConnectionError,
    APITimeoutError,
    DOCRError,
    InvalidResponseError,
    RetryPolicy,
    Timeout,
)

from ._servers import TOKEN, client_for, presented_token, raw_server

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


def chain(err: BaseException) -> Iterator[BaseException]:
    """``err`` and every exception reachable through ``__cause__`` and ``__context__``."""
    seen: set[int] = set()
    todo = [err]
    while todo:
        exc = todo.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        todo.extend(e for e in (exc.__cause__, exc.__context__) if e is not None)


def assert_no_token(err: BaseException) -> None:
    texts = ["".join(traceback.format_exception(err))]
    for exc in chain(err):
        texts += [str(exc), repr(exc), *(repr(arg) for arg in exc.args)]
        texts += [repr(value) for value in vars(exc).values()]
        assert not isinstance(exc, aiohttp.ClientError), f"an aiohttp error is chained: {exc!r}"
    for text in texts:
        assert TOKEN not in text, text[:400]
        assert TOKEN[7:30] not in text, text[:400]  # not even a piece of it


def echo(template: bytes) -> Callable[[bytes], bytes]:
    """A reply with the presented token put where ``{token}`` stands."""
    return lambda head: template.replace(b"{token}", presented_token(head))


BROKEN_REPLIES: dict[str, bytes | Callable[[bytes], bytes]] = {
    "bad status line": echo(b"HTTP/1.1 2x0 {token}\r\nContent-Length: 0\r\n\r\n"),
    "bad protocol": echo(b"HTTQ/9.9 200 {token}\r\n\r\n"),
    "bad header": echo(b"HTTP/1.1 200 OK\r\nx-token {token}\r\nContent-Length: 2\r\n\r\n{}"),
    "bad header value": echo(b"HTTP/1.1 200 OK\r\nx-token: {token}\x01\x7f\r\nContent-Length: 2\r\n\r\n{}"),
    "bad chunk size": echo(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{token}\r\nxx\r\n0\r\n\r\n"
    ),
    "negative content-length": echo(b"HTTP/1.1 200 OK\r\nContent-Length: -1{token}\r\n\r\n{}"),
    "content-length -5": b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}",
    "oversized header": echo(b"HTTP/1.1 200 OK\r\nx-big: " + b"{token}" * 2000 + b"\r\n\r\n"),
    "oversized status line": echo(b"HTTP/1.1 200 " + b"{token}" * 2000 + b"\r\n\r\n"),
    "body cut short": echo(b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"token": "{token}'),
    "closed at once": b"",
}


@pytest.mark.parametrize("kind", sorted(BROKEN_REPLIES))
async def test_a_malformed_reply_leaves_no_token_in_the_error_chain(kind: str) -> None:
    async with raw_server(BROKEN_REPLIES[kind]) as url, client_for(url) as client:
        with pytest.raises(DOCRError) as info:
            await client.registries.get("example")
    # A broken reply is a connection error; one aiohttp parses leniently ends as a bad response.
    assert isinstance(info.value, APIConnectionError | InvalidResponseError)
    assert info.value.method == "GET"
    assert_no_token(info.value)


async def test_a_retried_malformed_reply_leaves_no_token_in_the_error_chain() -> None:
    retry = RetryPolicy(max_attempts=3, backoff_base=0, jitter=0)
    async with raw_server(b"") as url, client_for(url, retry=retry) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.registries.get("example")
    assert info.value.retries == 2
    assert_no_token(info.value)


async def test_a_timeout_leaves_no_token_in_the_error_chain() -> None:
    hold = asyncio.Event()  # never set while the client waits: the reply never comes
    async with raw_server(None, hold=hold) as url, client_for(url, timeout=Timeout(total=0.2)) as client:
        with pytest.raises(APITimeoutError) as info:
            await client.registries.get("example")
    assert_no_token(info.value)


async def test_a_refused_connection_leaves_no_token_in_the_error_chain() -> None:
    with refused_url() as url:
        async with client_for(url) as client:
            with pytest.raises(APIConnectionError) as info:
                await client.registries.get("example")
    assert_no_token(info.value)


async def test_a_tls_failure_leaves_no_token_in_the_error_chain() -> None:
    # https to a server that answers in plain text: the TLS handshake fails.
    plain = raw_server(b"HTTP/1.1 200 OK\r\n\r\n", read_head=False)
    async with plain as url, client_for(url.replace("http://", "https://")) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.registries.get("example")
    assert_no_token(info.value)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b'{"registry": {"name": "x", "created_at": "{token}"}}', "unexpected response shape"),
        (b"{not json {token}", "not valid JSON"),
    ],
    ids=["wrong-shape", "not-json"],
)
async def test_a_bad_success_body_chains_nothing(body: bytes, match: str) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    echoed = body.replace(b"{token}", TOKEN.encode())
    async with raw_server(head % len(echoed) + echoed) as url, client_for(url) as client:
        with pytest.raises(InvalidResponseError, match=match) as info:
            await client.registries.get("example")
    assert info.value.__context__ is None
    assert info.value.__cause__ is None
    assert_no_token(info.value)
