"""The concurrency bound after the transport's uncontended shortcut (issue 15, item 3).

``Transport.request`` takes a free ``max_concurrency`` slot without ``Semaphore.acquire()``'s
coroutines when nobody is queued. These tests hold responses on a tiny server (released by
``asyncio.Event``) to show the bound still holds, queued calls still proceed in turn, and every way
out of an attempt (success, typed error, connection failure, cancellation while holding or while
queued) gives the slot back.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from aiohttp import web
from refused_port import refused_url

from docr_async import APIConnectionError, NotFoundError, RetryPolicy

from ._servers import client_for, serve

if TYPE_CHECKING:
    from docr_async import DOCRClient

HANG_GUARD = 60.0
"""Only so a regression fails instead of hanging; nothing here measures time."""


class Gate:
    """A server holding every request until ``release``; it counts what is in flight at once."""

    def __init__(self, hold_from: int = 1) -> None:
        self.hold_from = hold_from
        self.seen = 0
        self.in_flight = 0
        self.most = 0
        self.release = asyncio.Event()
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        del request
        self.seen += 1
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            if self.seen >= self.hold_from:
                self.arrived.set()
                await self.release.wait()
            return web.json_response({"registry": {"name": "example"}})
        finally:
            self.in_flight -= 1


def free_slots(client: DOCRClient) -> int:
    return client._transport._shared.semaphore._value


async def queued(client: DOCRClient, count: int) -> None:
    """Wait until ``count`` calls wait for a concurrency slot (each loop pass lets one more queue)."""
    waiters = client._transport._shared.semaphore._waiters
    for _ in range(1000):
        if waiters is None:
            waiters = client._transport._shared.semaphore._waiters
        if waiters is not None and len(waiters) >= count:
            return
        await asyncio.sleep(0)
    pytest.fail(f"{count} calls never queued for a concurrency slot")


async def test_the_bound_holds_and_queued_calls_proceed_in_turn() -> None:
    gate = Gate()
    async with serve(gate.handle) as url, client_for(url, max_concurrency=2) as client:
        calls = [asyncio.ensure_future(client.registries.get("example")) for _ in range(5)]
        await asyncio.wait_for(gate.arrived.wait(), HANG_GUARD)
        await queued(client, 3)
        assert gate.in_flight == 2
        assert free_slots(client) == 0
        gate.release.set()
        results = await asyncio.wait_for(asyncio.gather(*calls), HANG_GUARD)
        assert [r.name for r in results] == ["example"] * 5
        assert gate.seen == 5
        assert gate.most == 2
        assert free_slots(client) == 2
        assert client.stats.attempts == 5


async def test_cancelling_a_queued_call_and_the_holder_gives_every_slot_back() -> None:
    gate = Gate()
    async with serve(gate.handle) as url, client_for(url, max_concurrency=1) as client:
        holder = asyncio.ensure_future(client.registries.get("example"))
        await asyncio.wait_for(gate.arrived.wait(), HANG_GUARD)
        waiting = asyncio.ensure_future(client.registries.get("example"))
        await queued(client, 1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert free_slots(client) == 0  # still held by the first call
        holder.cancel()
        with pytest.raises(asyncio.CancelledError):
            await holder
        assert free_slots(client) == 1
        assert gate.seen == 1  # the cancelled queued call never reached the server
        gate.release.set()
        assert (await asyncio.wait_for(client.registries.get("example"), HANG_GUARD)).name == "example"
        assert free_slots(client) == 1


async def test_a_typed_error_gives_the_slot_back() -> None:
    async def missing(request: web.Request) -> web.Response:
        del request
        return web.json_response({"id": "not_found", "message": "no such registry"}, status=404)

    async with serve(missing) as url, client_for(url, max_concurrency=1) as client:
        for _ in range(3):  # a leaked slot would hang the second call
            with pytest.raises(NotFoundError):
                await asyncio.wait_for(client.registries.get("example"), HANG_GUARD)
        assert free_slots(client) == 1


async def test_a_connection_failure_and_its_retries_give_the_slot_back() -> None:
    retry = RetryPolicy(max_attempts=3, backoff_base=0.0, backoff_max=0.0)
    with refused_url() as url:
        async with client_for(url, max_concurrency=1, retry=retry) as client:
            with pytest.raises(APIConnectionError):
                await asyncio.wait_for(client.registries.get("example"), HANG_GUARD)
            assert client.stats.attempts == 3
            assert client.stats.retries == 2
            assert client.stats.connection_errors == 3
            assert free_slots(client) == 1
