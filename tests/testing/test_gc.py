"""Garbage collection: lazy lifecycle on a manual clock, effects per type, read-only mode, cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from docr_async.testing import FakeDOCR, GCConfig, ManualClock, ReadOnlyRegistryError, SeedSpec

from .conftest import Api

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import aiohttp

BASE = ("sha256:" + "b" * 64, 1000)
LAYER = {n: ("sha256:" + f"{n}" * 64, 100 * n) for n in range(1, 4)}
DIGEST = {n: "sha256:" + f"{n}" * 63 + "f" for n in range(1, 4)}


@pytest.fixture
async def lab(clock: ManualClock) -> AsyncIterator[FakeDOCR]:
    """An account with one registry `lab` holding one repository with three known manifests:
    m1 tagged `a`, m2 tagged `b`, m3 untagged; all share the base blob."""
    async with FakeDOCR(clock=clock, seed_spec=SeedSpec.empty(), gc=GCConfig(include_type=True)) as fake:
        fake.state.create_registry("lab", "fra1", "basic", clock.now, legacy=True)
        fake.push("lab", "app", "a", blobs=[BASE, LAYER[1]], digest=DIGEST[1])
        clock.advance(1)
        fake.push("lab", "app", "b", blobs=[BASE, LAYER[2]], digest=DIGEST[2])
        clock.advance(1)
        fake.push("lab", "app", None, blobs=[BASE, LAYER[3]], digest=DIGEST[3])
        clock.advance(1)
        yield fake


@pytest.fixture
def lab_api(http: aiohttp.ClientSession, lab: FakeDOCR) -> Api:
    return Api(http, lab)


async def test_lifecycle_advances_lazily(lab_api: Api, lab: FakeDOCR, clock: ManualClock) -> None:
    res = await lab_api.post("/v2/registries/lab/garbage-collection")
    assert res.status == 201
    gc = res.json["garbage_collection"]
    assert gc["status"] == "requested"
    assert gc["type"] == "unreferenced blobs only"  # the default without a body
    assert gc["blobs_deleted"] == 0
    expected = [
        "requested",
        "waiting for write JWTs to expire",
        "scanning manifests",
        "deleting unreferenced blobs",
    ]
    seen = []
    for _ in expected:
        res = await lab_api.get("/v2/registries/lab/garbage-collection")
        seen.append(res.json["garbage_collection"]["status"])
        clock.advance(0.25)
    assert seen == expected
    assert (await lab_api.get("/v2/registries/lab/garbage-collection")).status == 404
    history = (await lab_api.get("/v2/registries/lab/garbage-collections")).json["garbage_collections"]
    assert history[0]["uuid"] == gc["uuid"]
    assert history[0]["status"] == "succeeded"
    assert history[0]["updated_at"] > history[0]["created_at"]
    # Nothing was unreferenced yet, so nothing was freed (doctl#1380).
    assert history[0]["blobs_deleted"] == 0
    assert history[0]["freed_bytes"] == 0


async def test_unreferenced_blobs_only(lab_api: Api, lab: FakeDOCR, clock: ManualClock) -> None:
    reg = lab.state.registries["lab"]
    before = reg.storage_usage_bytes
    assert before == BASE[1] + sum(size for _, size in LAYER.values())  # the base blob counts once
    assert (await lab_api.delete(f"/v2/registries/lab/repositories/app/digests/{DIGEST[2]}")).status == 204
    assert lab.state.registries["lab"].storage_usage_bytes == before  # deleting does not free storage
    res = await lab_api.post(
        "/v2/registry/lab/garbage-collection", json_body={"type": "unreferenced blobs only"}
    )
    assert res.status == 201
    clock.advance(1)
    gc = (await lab_api.get("/v2/registry/lab/garbage-collections")).json["garbage_collections"][0]
    assert gc["status"] == "succeeded"
    assert gc["blobs_deleted"] == 1
    assert gc["freed_bytes"] == LAYER[2][1]
    reg = lab.state.registries["lab"]
    assert reg.storage_usage_bytes == before - LAYER[2][1]
    assert set(reg.repositories["app"].manifests) == {DIGEST[1], DIGEST[3]}  # untagged m3 stays
    res = await lab_api.get("/v2/registries/lab")
    assert res.json["registry"]["storage_usage_bytes"] == before - LAYER[2][1]


async def test_untagged_manifests_only(lab_api: Api, lab: FakeDOCR, clock: ManualClock) -> None:
    res = await lab_api.post(
        "/v2/registries/lab/garbage-collection", json_body={"type": "untagged manifests only"}
    )
    assert res.json["garbage_collection"]["type"] == "untagged manifests only"
    clock.advance(5)
    gc = lab.state.registries["lab"].garbage_collections[-1]
    assert gc.status(clock.now) == "succeeded"
    assert set(lab.state.registries["lab"].repositories["app"].manifests) == {DIGEST[1], DIGEST[2]}
    assert gc.blobs_deleted == 0
    assert LAYER[3][0] in lab.state.registries["lab"].blobs  # its blob is now unreferenced, not freed


async def test_untagged_manifests_and_unreferenced_blobs(
    lab_api: Api, lab: FakeDOCR, clock: ManualClock
) -> None:
    assert (await lab_api.delete("/v2/registries/lab/repositories/app/tags/b")).status == 204
    body = {"type": "untagged manifests and unreferenced blobs"}
    assert (await lab_api.post("/v2/registries/lab/garbage-collection", json_body=body)).status == 201
    clock.advance(1)
    reg = lab.state.registries["lab"]
    gc = reg.garbage_collections[-1]
    assert set(reg.repositories["app"].manifests) == {DIGEST[1]}
    assert gc.blobs_deleted == 2
    assert gc.freed_bytes == LAYER[2][1] + LAYER[3][1]
    assert set(reg.blobs) == {BASE[0], LAYER[1][0]}
    assert reg.storage_usage_bytes == BASE[1] + LAYER[1][1]


async def test_gc_removing_every_manifest_removes_the_repository(lab: FakeDOCR, clock: ManualClock) -> None:
    lab.state.delete_tag("lab", "app", "a", clock.now)
    lab.state.delete_tag("lab", "app", "b", clock.now)
    lab.state.start_gc("lab", "untagged manifests and unreferenced blobs", clock.now)
    clock.advance(1)
    reg = lab.state.registries["lab"]
    assert reg.repositories == {}
    assert reg.storage_usage_bytes == 0
    assert reg.blobs == {}


async def test_read_only_while_active(lab_api: Api, lab: FakeDOCR, clock: ManualClock) -> None:
    assert (await lab_api.post("/v2/registries/lab/garbage-collection")).status == 201
    for path in (
        "/v2/registries/lab/repositories/app/tags/a",
        "/v2/registry/lab/repositories/app/tags/a",
        f"/v2/registries/lab/repositories/app/digests/{DIGEST[1]}",
        f"/v2/registry/lab/repositories/app/digests/{DIGEST[1]}",
        "/v2/registries/lab/repositories/app",
    ):
        res = await lab_api.delete(path)
        assert res.status == 409, path
        assert res.json["id"] == "conflict"
        assert "read-only" in res.json["message"]
    with pytest.raises(ReadOnlyRegistryError):
        lab.push("lab", "app", "c")
    # Reads keep working, a second GC is refused.
    assert (await lab_api.get("/v2/registries/lab/repositories/app/tags")).status == 200
    res = await lab_api.post("/v2/registries/lab/garbage-collection")
    assert res.status == 409
    assert res.json["id"] == "conflict"
    clock.advance(1)
    assert (await lab_api.delete("/v2/registries/lab/repositories/app/tags/a")).status == 204
    lab.push("lab", "app", "c")
    assert "c" in lab.state.registries["lab"].repositories["app"].tags


async def test_cancel(lab_api: Api, lab: FakeDOCR, clock: ManualClock) -> None:
    lab.state.delete_manifest("lab", "app", DIGEST[2], clock.now)
    gc = (await lab_api.post("/v2/registries/lab/garbage-collection")).json["garbage_collection"]
    clock.advance(0.3)
    url = f"/v2/registries/lab/garbage-collection/{gc['uuid']}"
    res = await lab_api.put(url, json_body={"cancel": False})
    assert res.json["garbage_collection"]["status"] == "waiting for write JWTs to expire"
    res = await lab_api.put(url, json_body={"cancel": True})
    assert res.status == 200
    assert res.json["garbage_collection"]["status"] == "cancelling"
    assert (await lab_api.put(url, json_body={"cancel": True})).json["garbage_collection"][
        "status"
    ] == "cancelling"
    clock.advance(0.25)
    res = await lab_api.get("/v2/registries/lab/garbage-collections")
    assert res.json["garbage_collections"][0]["status"] == "cancelled"
    assert res.json["garbage_collections"][0]["blobs_deleted"] == 0
    assert LAYER[2][0] in lab.state.registries["lab"].blobs  # nothing removed
    assert (await lab_api.put(url, json_body={"cancel": True})).status == 409  # already finished
    assert (
        await lab_api.put("/v2/registries/lab/garbage-collection/nope", json_body={"cancel": True})
    ).status == 404
    assert (await lab_api.put(url)).status == 400  # the body is required
    assert (await lab_api.put(url, json_body={"cancel": "yes"})).status == 422


async def test_failed_and_unknown_status(lab_api: Api, lab: FakeDOCR, clock: ManualClock) -> None:
    lab.state.delete_manifest("lab", "app", DIGEST[2], clock.now)
    lab.gc_config = GCConfig(step_seconds=1, fail=True, unknown_status_steps=2)
    await lab_api.post("/v2/registries/lab/garbage-collection")
    statuses = []
    for _ in range(7):
        res = await lab_api.get("/v2/registries/lab/garbage-collections")
        statuses.append(res.json["garbage_collections"][0]["status"])
        clock.advance(1)
    assert statuses == [
        "requested",
        "waiting for write JWTs to expire",
        "waiting for delete requests",
        "waiting for delete requests",
        "scanning manifests",
        "deleting unreferenced blobs",
        "failed",
    ]
    assert LAYER[2][0] in lab.state.registries["lab"].blobs
    assert "type" not in res.json["garbage_collections"][0]  # include_type was reset with the config


async def test_zero_step_and_invalid_type(lab_api: Api, lab: FakeDOCR) -> None:
    assert (
        await lab_api.post("/v2/registries/lab/garbage-collection", json_body={"type": "all"})
    ).status == 422
    assert (await lab_api.post("/v2/registries/lab/garbage-collection", data=b"[]")).status == 400
    assert (await lab_api.post("/v2/registries/nope/garbage-collection")).status == 404
    lab.gc_config = GCConfig(step_seconds=0)
    res = await lab_api.post("/v2/registries/lab/garbage-collection")
    assert res.json["garbage_collection"]["status"] == "succeeded"
    assert (await lab_api.get("/v2/registries/lab/garbage-collection")).status == 404


@pytest.mark.parametrize("path", ["/v2/registries/lab", "/v2/registry"])
async def test_a_registry_can_be_deleted_while_its_gc_runs(
    lab_api: Api, lab: FakeDOCR, clock: ManualClock, path: str
) -> None:
    """pydo's live-API test (tests/integration/test_container_registry.py) starts a GC, reads it,
    lists GCs, then deletes the registry with the legacy DELETE /v2/registry and expects 204."""
    started = await lab_api.post("/v2/registries/lab/garbage-collection")
    assert started.status == 201
    assert started.json["garbage_collection"]["status"] == "requested"
    assert (await lab_api.get("/v2/registries/lab/garbage-collection")).status == 200
    assert (await lab_api.get("/v2/registries/lab/garbage-collections")).status == 200
    # Its contents stay read-only ...
    assert (await lab_api.delete("/v2/registries/lab/repositories/app/tags/a")).status == 409
    # ... but the registry itself goes, GC and history included.
    res = await lab_api.delete(path)
    assert res.status == 204, res.body
    assert res.body == b""
    assert lab.state.registries == {}
    for gone in ("/v2/registries/lab", "/v2/registries/lab/garbage-collection"):
        res = await lab_api.get(gone)
        assert res.status == 404
        assert res.json["id"] == "not_found"
    clock.advance(10)  # the GC's end finds nothing to apply
    assert lab.state.registries == {}
    assert (await lab_api.get("/v2/registries/lab/garbage-collections")).status == 404


async def test_the_default_gc_type_is_the_sdks_constant(lab_api: Api, lab: FakeDOCR) -> None:
    from docr_async import GCType
    from docr_async.testing import DEFAULT_GC_TYPE, GC_TYPES

    assert DEFAULT_GC_TYPE is GCType.UNREFERENCED_BLOBS_ONLY
    assert DEFAULT_GC_TYPE in GC_TYPES
    res = await lab_api.post("/v2/registries/lab/garbage-collection")  # no body: the API's default
    assert res.json["garbage_collection"]["type"] == "unreferenced blobs only"
    recorded = lab.state.registries["lab"].garbage_collections[-1].type
    assert type(recorded) is str  # stored as the plain value, like a type sent in a body
    assert recorded == DEFAULT_GC_TYPE
