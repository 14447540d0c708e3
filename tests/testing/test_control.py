"""Inspection: control routes under /_fake, the request log, counters, hooks, tokens."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from docr_async.testing import FakeDOCR, ResponseHookError, SeedSpec

from .conftest import Api

if TYPE_CHECKING:
    import aiohttp
    from aiohttp import web


async def test_state_summary(api: Api, fake: FakeDOCR) -> None:
    assert (await api.get("/_fake/state", token=None)).status == 401
    assert (await api.get("/_fake/state", token="dop_v1_wrong")).status == 401
    await api.get("/v2/registries")
    await api.post("/v2/registries/example/garbage-collection")
    res = await api.get("/_fake/state")
    assert res.status == 200
    summary = res.json
    reg = summary["registries"][0]
    state = fake.state.registries["example"]
    assert reg["name"] == "example"
    assert reg["repositories"] == len(state.repositories)
    assert reg["tags"] == sum(len(r.tags) for r in state.repositories.values()) == summary["totals"]["tags"]
    assert reg["manifests"] == sum(len(r.manifests) for r in state.repositories.values())
    assert reg["untagged_manifests"] == 8
    assert reg["storage_usage_bytes"] == state.storage_usage_bytes
    assert reg["active_garbage_collection"]["status"] == "requested"
    assert summary["requests_served"] == 2  # control routes are not counted
    assert summary["throttled_served"] == 0
    assert fake.token not in res.body.decode()


async def test_request_log_never_holds_the_token(api: Api, fake: FakeDOCR) -> None:
    await api.get("/v2/registries/example/repositories/team%2Fapi/tags?per_page=3")
    await api.get("/v2/registries", token=None)
    await api.delete("/v2/registries/example/repositories/api/tags/does-not-exist")
    records = fake.requests
    assert [(r.method, r.status, r.auth_valid) for r in records] == [
        ("GET", 200, True),
        ("GET", 401, False),
        ("DELETE", 404, True),
    ]
    assert records[0].path == "/v2/registries/example/repositories/team%2Fapi/tags"
    assert records[0].query == "per_page=3"
    assert records[0].operation == "registries_list_repositoryTags"
    assert records[0].timestamp == fake.clock()
    res = await api.get("/_fake/requests?since=1")
    assert res.json["total"] == 3
    assert [r["status"] for r in res.json["requests"]] == [401, 404]
    assert fake.token not in repr(records)
    assert fake.token not in res.body.decode()
    assert (await api.delete("/_fake/requests")).status == 204
    assert fake.requests == []


async def test_fault_rate_limit_and_gc_control(api: Api, fake: FakeDOCR) -> None:
    res = await api.put(
        "/_fake/faults", json_body={"error_rate": 1, "error_statuses": [503], "methods": ["get"]}
    )
    assert res.status == 200
    assert res.json["methods"] == ["GET"]
    assert (await api.get("/_fake/faults")).json["error_rate"] == 1
    assert (await api.get("/v2/registries")).status == 503
    assert (await api.put("/_fake/faults", json_body={})).status == 200  # all off
    assert (await api.get("/v2/registries")).status == 200
    assert (await api.put("/_fake/faults", json_body={"error_rate": 3})).status == 422
    assert (await api.put("/_fake/faults", json_body={"nonsense": 1})).status == 422

    res = await api.put("/_fake/rate-limits", json_body={"hourly_limit": 2, "reset": True})
    assert res.json["hourly_limit"] == 2
    assert (await api.get("/v2/registries")).status == 200
    assert (await api.get("/v2/registries")).status == 200
    assert (await api.get("/v2/registries")).status == 429
    assert (await api.get("/_fake/rate-limits")).json["hourly_limit"] == 2
    await api.put("/_fake/rate-limits", json_body={"reset": True})

    res = await api.put("/_fake/gc", json_body={"step_seconds": 0, "include_type": True})
    assert res.json["step_seconds"] == 0
    res = await api.post("/v2/registries/example/garbage-collection")
    assert res.json["garbage_collection"]["status"] == "succeeded"
    assert res.json["garbage_collection"]["type"] == "unreferenced blobs only"
    assert (await api.get("/_fake/gc")).json["include_type"] is True


async def test_seed_push_and_tokens(api: Api, fake: FakeDOCR) -> None:
    res = await api.post("/_fake/seed", json_body={"seed": 4, "registries": 2, "repos": 3, "tags": 9})
    assert res.status == 201
    assert [r["name"] for r in res.json["registries"]] == ["example", "staging"]
    assert res.json["totals"]["tags"] == 9
    assert (await api.post("/_fake/seed", json_body={"registries": 99})).status == 422

    res = await api.post("/_fake/push", json_body={"registry": "staging", "repository": "x/y", "tag": "v1"})
    assert res.status == 201
    assert res.json["manifest"]["tags"] == ["v1"]
    assert "x/y" in fake.state.registries["staging"].repositories
    assert (await api.post("/_fake/push", json_body={"registry": "nope", "repository": "x"})).status == 404

    res = await api.post("/_fake/tokens", json_body={})
    second = res.json["token"]
    assert (await api.get("/v2/registries", token=second)).status == 200
    assert (await api.post("/_fake/tokens/revoke", json_body={"token": second})).status == 204
    assert (await api.get("/v2/registries", token=second)).status == 401
    assert (await api.get("/_fake/nothing")).status == 404


async def test_revoke_token_in_process(api: Api, fake: FakeDOCR) -> None:
    assert (await api.get("/v2/registries")).status == 200
    fake.revoke_token(fake.token)
    assert fake.tokens == []
    res = await api.get("/v2/registries")
    assert res.status == 401
    assert fake.unauthenticated_stats.requests == 1
    fake.add_token(fake.token)
    assert (await api.get("/v2/registries")).status == 200


async def test_response_hooks(http: aiohttp.ClientSession) -> None:
    seen: list[tuple[str, int, bytes]] = []

    def hook(request: web.Request, response: web.Response, body: bytes) -> None:
        seen.append((request.rel_url.raw_path, response.status, body))

    async with FakeDOCR(seed_spec=SeedSpec(repos=1, tags=2), response_hooks=hook) as fake:
        api = Api(http, fake)
        await api.get("/v2/registries")
        await api.post("/v2/registries/validate-name", json_body={"name": "free"})
        await api.get("/_fake/state")
    assert [(p, s) for p, s, _ in seen] == [
        ("/v2/registries", 200),
        ("/v2/registries/validate-name", 204),
        ("/_fake/state", 200),
    ]
    assert json.loads(seen[0][2])["registries"][0]["name"] == "example"
    assert seen[1][2] == b""


async def test_failing_hook_fails_clearly(http: aiohttp.ClientSession) -> None:
    def bad_hook(*_: Any) -> None:
        raise AssertionError("boom")

    fake = FakeDOCR(seed_spec=SeedSpec(repos=1, tags=1), response_hooks=[bad_hook], use_default_hooks=False)
    await fake.start()
    res = await Api(http, fake).get("/v2/registries")
    assert res.status == 200  # the response itself is unaffected
    with pytest.raises(ResponseHookError) as info:
        await fake.__aexit__(None, None, None)
    assert isinstance(info.value.__cause__, AssertionError)
    assert len(fake.hook_errors) == 1


async def test_default_hooks_are_read_at_call_time(http: aiohttp.ClientSession) -> None:
    from docr_async.testing import DEFAULT_RESPONSE_HOOKS

    calls: list[int] = []
    async with FakeDOCR(seed_spec=SeedSpec(repos=1, tags=1)) as fake:
        DEFAULT_RESPONSE_HOOKS.append(lambda _req, resp, _body: calls.append(resp.status))
        try:
            await Api(http, fake).get("/v2/registries")
        finally:
            DEFAULT_RESPONSE_HOOKS.pop()
    assert calls == [200]


def is_running(fake: FakeDOCR) -> bool:
    return fake.running


async def test_lifecycle(http: aiohttp.ClientSession) -> None:
    fake = FakeDOCR(seed_spec=SeedSpec.empty())
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.url
    await fake.start()
    try:
        assert fake.running
        assert fake.url.startswith("http://127.0.0.1:")
        with pytest.raises(RuntimeError, match="already running"):
            await fake.start()
        assert (await Api(http, fake).get("/v2/registries")).json["registries"] == []
    finally:
        await fake.close()
        await fake.close()
    assert not is_running(fake)  # (a call: mypy keeps `fake.running` narrowed to True)
    # The keep-alive connection of `http` is still open on the client side; the server is gone
    # and left nothing behind.
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_advance_clock_moves_a_running_gc_along(api: Api, fake: FakeDOCR) -> None:
    fake.gc_config = attrs.evolve(fake.gc_config, step_seconds=3600.0)
    started = await api.post("/v2/registries/example/garbage-collection")
    assert started.json["garbage_collection"]["status"] == "requested"
    before = fake.clock()
    res = await api.post("/_fake/clock", json_body={"advance": 3600.0})
    assert res.status == 200
    assert res.json["now"] == fake.clock() >= before + 3600.0
    active = await api.get("/v2/registries/example/garbage-collection")
    assert active.json["garbage_collection"]["status"] != "requested", "one step of the GC has passed"
    for bad in ({"advance": -1}, {"advance": "1h"}, {"advance": True}, {}):
        assert (await api.post("/_fake/clock", json_body=bad)).status == 422


async def test_advance_clock_shifts_a_real_clock() -> None:
    async with FakeDOCR(seed=3, seed_spec=SeedSpec(repos=1, tags=2)) as fake:
        real = fake.clock()
        assert fake.advance_clock(7200.0) >= real + 7200.0
        assert fake.advance_clock(0.0) >= real + 7200.0, "offsets add up"
        assert fake.clock() - real >= 7200.0
        with pytest.raises(ValueError, match="finite"):
            fake.advance_clock(float("inf"))
