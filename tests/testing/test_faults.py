"""Seeded fault injection: 5xx (HTML 502), spurious 429, drops, lost responses, latency."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import aiohttp
import attrs
import pytest

from docr_async.testing import FakeDOCR, FaultConfig, ManualClock, SeedSpec

from .conftest import Api

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

SMALL = SeedSpec(repos=2, tags=30, untagged=2)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A session that does not silently retry: aiohttp re-sends an idempotent request (GET, PUT,
    DELETE) once when the server disconnects, which would hide single drops. aiohttp's own
    TestClient switches this off the same way."""
    async with aiohttp.ClientSession() as session:
        session._retry_connection = False
        yield session


async def run_with_faults(
    http: aiohttp.ClientSession, faults: FaultConfig
) -> list[tuple[int | None, str | None]]:
    async with FakeDOCR(seed_spec=SMALL, faults=faults) as fake:
        api = Api(http, fake)
        for _ in range(60):
            with contextlib.suppress(aiohttp.ServerDisconnectedError):
                await api.get("/v2/registries")
        return [(r.status, r.fault) for r in fake.requests]


async def test_faults_are_seeded_and_reproducible(http: aiohttp.ClientSession) -> None:
    faults = FaultConfig(error_rate=0.3, drop_rate=0.1, spurious_429_rate=0.1)
    one = await run_with_faults(http, faults)
    assert one == await run_with_faults(http, faults)
    assert one != await run_with_faults(http, attrs.evolve(faults, seed=9))
    kinds = {fault for _, fault in one}
    assert kinds == {None, "drop", "error", "spurious_429"}
    assert {status for status, fault in one if fault == "error"} <= {500, 502, 503}


def tag_names(fake: FakeDOCR) -> set[str]:
    return set(fake.state.registries["example"].repositories["api"].tags)


async def test_error_never_half_applies(http: aiohttp.ClientSession) -> None:
    async with FakeDOCR(seed_spec=SMALL, faults=FaultConfig(error_rate=1.0, methods=["delete"])) as fake:
        api = Api(http, fake)
        before = tag_names(fake)
        victim = sorted(before)[0]
        for _ in range(5):
            res = await api.delete(f"/v2/registries/example/repositories/api/tags/{victim}")
            assert res.status in (500, 502, 503)
        assert tag_names(fake) == before
        assert (await api.get("/v2/registries")).status == 200  # GET is not eligible
        assert fake.fault_counts["error"] == 5
        assert {r.fault for r in fake.requests} == {"error", None}


@pytest.mark.parametrize(("status", "error_id"), [(500, "server_error"), (503, "service_unavailable")])
async def test_json_5xx_bodies(http: aiohttp.ClientSession, status: int, error_id: str) -> None:
    async with FakeDOCR(seed_spec=SMALL, faults=FaultConfig(error_rate=1.0, error_statuses=[status])) as fake:
        res = await Api(http, fake).get("/v2/registries")
        assert res.status == status
        assert res.json["id"] == error_id
        assert res.json["request_id"] == res.headers["x-request-id"]
        assert int(res.headers["ratelimit-remaining"]) == 4999  # the request was counted


async def test_502_is_an_html_page(http: aiohttp.ClientSession) -> None:
    async with FakeDOCR(seed_spec=SMALL, faults=FaultConfig(error_rate=1.0, error_statuses=(502,))) as fake:
        res = await Api(http, fake).get("/v2/registries")
        assert res.status == 502
        assert res.headers["content-type"] == "text/html"
        assert b"<title>502 Bad Gateway</title>" in res.body
        assert "ratelimit-reset" in res.headers


async def test_dropped_connection_applies_nothing(http: aiohttp.ClientSession) -> None:
    async with FakeDOCR(seed_spec=SMALL, faults=FaultConfig(drop_rate=1.0, methods=("DELETE",))) as fake:
        api = Api(http, fake)
        before = tag_names(fake)
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await api.delete(f"/v2/registries/example/repositories/api/tags/{sorted(before)[0]}")
        assert tag_names(fake) == before
        record = fake.requests[-1]
        assert record.status is None
        assert record.fault == "drop"
        assert record.operation == "registries_delete_repositoryTag"
        assert (await api.get("/v2/registries")).status == 200  # the client recovers on a new connection


async def test_lost_response_applies_then_drops(http: aiohttp.ClientSession) -> None:
    faults = FaultConfig(lost_response_rate=1.0, methods=("DELETE",))
    async with FakeDOCR(seed_spec=SMALL, faults=faults) as fake:
        api = Api(http, fake)
        victim = sorted(tag_names(fake))[0]
        path = f"/v2/registries/example/repositories/api/tags/{victim}"
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await api.delete(path)
        assert victim not in tag_names(fake)  # the mutation happened
        fake.clear_faults()
        res = await api.delete(path)  # so the retry sees 404
        assert res.status == 404
        assert [(r.status, r.fault) for r in fake.requests] == [(None, "lost_response"), (404, None)]


async def test_spurious_429_and_skip_first(http: aiohttp.ClientSession, clock: ManualClock) -> None:
    faults = FaultConfig(spurious_429_rate=1.0, retry_after=7, skip_first=2)
    async with FakeDOCR(seed_spec=SMALL, clock=clock, faults=faults) as fake:
        api = Api(http, fake)
        statuses: Sequence[int] = [(await api.get("/v2/registries")).status for _ in range(2)]
        assert statuses == [200, 200]
        res = await api.get("/v2/registries")
        assert res.status == 429
        assert res.headers["Retry-After"] == "7"
        assert res.json["id"] == "too_many_requests"
        assert int(res.headers["ratelimit-remaining"]) == 0
        fake.clear_faults()
        res = await api.get("/v2/registries")
        assert int(res.headers["ratelimit-remaining"]) == 4997  # the 429 consumed nothing
        assert fake.stats().throttled == 1
        assert fake.requests[2].fault == "spurious_429"


async def test_latency_and_runtime_changes(
    http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fake delays a response with asyncio.sleep: record the delays it asks for instead of
    # timing the request (no wall-clock assertion).
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay: float, result: object = None) -> object:
        delays.append(delay)
        return await real_sleep(delay, result)

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    async with FakeDOCR(seed_spec=SMALL) as fake:
        api = Api(http, fake)
        fake.set_faults(latency=0.05, jitter=0.01)
        assert (await api.get("/v2/registries")).status == 200
        fake.faults = FaultConfig(error_rate=1.0, error_statuses=[500])
        assert (await api.get("/v2/registries")).status == 500
        fake.clear_faults()
        assert (await api.get("/v2/registries")).status == 200
    # Latency plus jitter delayed the first response only; replacing the faults removed it.
    assert [d for d in delays if d >= 0.05] == [pytest.approx(0.055, abs=0.005)]


def test_fault_config_validation() -> None:
    with pytest.raises(ValueError, match="add up"):
        FaultConfig(error_rate=0.6, drop_rate=0.6)
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultConfig(drop_rate=-0.1)
    with pytest.raises(ValueError, match="error_statuses"):
        FaultConfig(error_statuses=(404,))
    assert FaultConfig(methods=["get", "Delete"]).methods == frozenset({"GET", "DELETE"})
