"""Garbage collection against servers that lag or say too little (issue 14, items 6 and 8).

- The active endpoint says 404 before the history lists the finished collection: ``wait`` polls on
  for up to ``HISTORY_LAG_POLLS`` polls instead of raising ``NotFoundError`` after a GC that
  succeeded; a collection that never shows up still ends in ``NotFoundError``.
- "Start" answers 201 with an empty body (seen in DigitalOcean's own client's mocked tests): the
  collection is read from the active endpoint instead of raising ``InvalidResponseError``.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from unit._clock import FakeClock

from docr_async import InvalidResponseError, NotFoundError, RateLimiter
from docr_async.resources.garbage_collections import HISTORY_LAG_POLLS

from ._servers import client_for, serve

UUID = "gc-1"
REGISTRY = "example"


def gc(status: str, uuid: str = UUID) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "registry_name": REGISTRY,
        "status": status,
        "created_at": "2026-11-30T10:00:00Z",
        "updated_at": "2026-11-30T10:05:00Z",
        "blobs_deleted": 42 if status == "succeeded" else 0,
        "freed_bytes": 4200 if status == "succeeded" else 0,
        "type": "untagged manifests and unreferenced blobs",
    }


class LaggingRegistry:
    """The active endpoint reports the GC ``running`` for ``running`` polls, then 404; the history
    lists it (``succeeded``) only from history read number ``listed_from`` on (``None``: never)."""

    def __init__(self, *, running: int, listed_from: int | None) -> None:
        self.running = running
        self.listed_from = listed_from
        self.active_reads = 0
        self.history_reads = 0

    async def handle(self, request: web.Request) -> web.Response:
        if request.path.endswith("/garbage-collection"):
            self.active_reads += 1
            if self.active_reads <= self.running:
                return web.json_response({"garbage_collection": gc("running")})
            return web.json_response({"id": "not_found", "message": "no active gc"}, status=404)
        self.history_reads += 1
        listed = self.listed_from is not None and self.history_reads >= self.listed_from
        items = [gc("succeeded"), gc("succeeded", "gc-0")] if listed else [gc("succeeded", "gc-0")]
        return web.json_response({"garbage_collections": items, "meta": {"total": len(items)}})


async def test_wait_tolerates_a_history_that_lags_behind_the_active_endpoint() -> None:
    clock = FakeClock()
    server = LaggingRegistry(running=2, listed_from=3)  # two polls find it nowhere
    limiter = RateLimiter(clock=clock.time, sleep=clock.sleep)
    async with serve(server.handle) as url, client_for(url, limiter=limiter) as client:
        done = await client.garbage_collections.wait(
            UUID, registry=REGISTRY, poll_interval=5, max_poll_interval=5
        )
    assert done.status == "succeeded"
    assert done.blobs_deleted == 42
    assert server.history_reads == 3
    assert server.active_reads == 5
    assert clock.sleeps == [5.0] * 4


async def test_wait_gives_up_on_a_collection_that_never_shows_up() -> None:
    clock = FakeClock()
    server = LaggingRegistry(running=0, listed_from=None)
    limiter = RateLimiter(clock=clock.time, sleep=clock.sleep)
    async with serve(server.handle) as url, client_for(url, limiter=limiter) as client:
        with pytest.raises(NotFoundError, match=f"after {HISTORY_LAG_POLLS + 1} polls"):
            await client.garbage_collections.wait(
                UUID, registry=REGISTRY, poll_interval=1, max_poll_interval=1
            )
    assert server.history_reads == HISTORY_LAG_POLLS + 1
    assert len(clock.sleeps) == HISTORY_LAG_POLLS


async def test_get_still_raises_at_once_for_an_unknown_collection() -> None:
    server = LaggingRegistry(running=0, listed_from=None)
    async with serve(server.handle) as url, client_for(url) as client:
        with pytest.raises(NotFoundError, match="gc-1 not found"):
            await client.garbage_collections.get(UUID, registry=REGISTRY)
    assert server.history_reads == 1


class EmptyStart:
    """ "Start" answers 201 with an empty body; the active endpoint knows the collection (or not)."""

    def __init__(self, *, active: bool) -> None:
        self.active = active
        self.calls: list[tuple[str, str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append((request.method, request.path))
        if request.method == "POST":
            return web.Response(status=201)
        if self.active:
            return web.json_response({"garbage_collection": gc("requested")})
        return web.json_response({"id": "not_found", "message": "no active gc"}, status=404)


async def test_start_reads_the_active_collection_after_an_empty_201() -> None:
    server = EmptyStart(active=True)
    async with serve(server.handle) as url, client_for(url) as client:
        started = await client.garbage_collections.start(REGISTRY)
    assert started.uuid == UUID
    assert started.status == "requested"
    path = f"/v2/registries/{REGISTRY}/garbage-collection"
    assert server.calls == [("POST", path), ("GET", path)]


async def test_an_empty_201_with_nothing_active_is_an_invalid_response() -> None:
    server = EmptyStart(active=False)
    async with serve(server.handle) as url, client_for(url) as client:
        with pytest.raises(InvalidResponseError, match="empty body") as info:
            await client.garbage_collections.start(REGISTRY)
    assert info.value.status == 201
    assert info.value.method == "POST"
