"""DigitalOcean's official client, pydo, against the fake: all 37 registry operations.

pydo is generated from the same OpenAPI document, so this shows the fake speaks the real API (paths,
encodings, bodies, status codes), not just what docr-async expects.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import pytest

from docr_async.testing import FakeDOCR, ManualClock, SeedSpec

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pydo_aio = pytest.importorskip("pydo.aio")


class Recorder:
    """Wraps a pydo operation group, forcing plain HTTP and remembering which methods ran."""

    def __init__(self, group: Any, called: set[str], prefix: str) -> None:
        self._group = group
        self._called = called
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._group, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            self._called.add(f"{self._prefix}.{name}")
            return await method(*args, enforce_https=False, **kwargs)

        return call


def public_methods(group: Any, prefix: str) -> set[str]:
    return {
        f"{prefix}.{name}"
        for name, member in inspect.getmembers(type(group))
        if not name.startswith("_") and inspect.iscoroutinefunction(member)
    }


@pytest.fixture
async def pydo_env(
    clock: ManualClock,
) -> AsyncIterator[tuple[FakeDOCR, Recorder, Recorder, set[str], set[str]]]:
    spec = SeedSpec(repos=4, tags=24, untagged=2, tier="professional")
    fake = FakeDOCR(seed=21, clock=clock, seed_spec=spec)
    async with fake, pydo_aio.Client(token=fake.token, endpoint=fake.url) as client:
        called: set[str] = set()
        expected = public_methods(client.registries, "registries") | public_methods(
            client.registry, "registry"
        )
        yield (
            fake,
            Recorder(client.registries, called, "registries"),
            Recorder(client.registry, called, "registry"),
            called,
            expected,
        )


async def test_all_37_operations(pydo_env: tuple[Any, ...], clock: ManualClock) -> None:
    fake, registries, registry, called, expected = pydo_env
    assert len(expected) == 37

    # ---- /v2/registries ---------------------------------------------------------------------
    listed = await registries.list()
    assert [r["name"] for r in listed["registries"]] == ["example"]
    created = await registries.create(body={"name": "second", "region": "fra1"})
    assert created["registry"]["name"] == "second"
    assert (await registries.get(registry_name="second"))["registry"]["region"] == "fra1"
    creds = await registries.get_docker_credentials(registry_name="second")
    assert "auth" in creds["auths"]["registry.digitalocean.com"]
    assert (await registries.get_subscription())["subscription"]["tier"]["slug"] == "professional"
    updated = await registries.update_subscription(body={"tier_slug": "professional"})
    assert updated["subscription"]["tier"]["slug"] == "professional"
    options = await registries.get_options()
    assert "fra1" in options["options"]["available_regions"]
    assert await registries.validate_name(body={"name": "brand-new"}) is None
    taken = await registries.validate_name(body={"name": "second"})  # pydo returns the 409 body
    assert taken["id"] == "conflict"

    gc = (await registries.run_garbage_collection(registry_name="second"))["garbage_collection"]
    assert gc["status"] == "requested"
    active = await registries.get_garbage_collection(registry_name="second")
    assert active["garbage_collection"]["uuid"] == gc["uuid"]
    history = await registries.list_garbage_collections(registry_name="second", per_page=5)
    assert [g["uuid"] for g in history["garbage_collections"]] == [gc["uuid"]]
    cancelled = await registries.update_garbage_collection(
        registry_name="second", garbage_collection_uuid=gc["uuid"], body={"cancel": True}
    )
    assert cancelled["garbage_collection"]["status"] == "cancelling"
    clock.advance(1)

    repos = await registries.list_repositories_v2(registry_name="example", per_page=2)
    assert repos["meta"]["total"] == 4
    assert "page_token=" in repos["links"]["pages"]["next"]
    tags = await registries.list_repository_tags(registry_name="example", repository_name="team/api")
    assert all(t["repository"] == "team/api" for t in tags["tags"])
    manifests = await registries.list_repository_manifests(
        registry_name="example", repository_name="team/api"
    )
    assert manifests["meta"]["total"] == len(
        fake.state.registries["example"].repositories["team/api"].manifests
    )
    tag = tags["tags"][0]
    await registries.delete_repository_tag(
        registry_name="example", repository_name="team/api", repository_tag=tag["tag"]
    )
    assert tag["tag"] not in fake.state.registries["example"].repositories["team/api"].tags
    digest = manifests["manifests"][-1]["digest"]
    await registries.delete_repository_manifest(
        registry_name="example", repository_name="team/api", manifest_digest=digest
    )
    assert digest not in fake.state.registries["example"].repositories["team/api"].manifests
    await registries.delete_repository(registry_name="example", repository_name="web")
    assert "web" not in fake.state.registries["example"].repositories
    await registries.delete(registry_name="second")
    assert sorted(fake.state.registries) == ["example"]

    # ---- /v2/registry (the single registry) -----------------------------------------------------
    assert (await registry.get())["registry"]["name"] == "example"
    assert (await registry.get_subscription())["subscription"]["tier"]["slug"] == "professional"
    assert (await registry.update_subscription(body={"tier_slug": "professional"}))["subscription"]
    creds = await registry.get_docker_credentials(read_write=True, expiry_seconds=600)
    assert creds["auths"]["registry.digitalocean.com"]["auth"]
    assert await registry.validate_name(body={"name": "another-one"}) is None
    assert (await registry.get_options())["options"]["subscription_tiers"][0]["slug"] == "starter"
    v1 = await registry.list_repositories(registry_name="example", per_page=1)
    assert v1["meta"]["total"] == 3
    assert v1["repositories"][0]["latest_tag"]["registry_name"] == "example"
    v2 = await registry.list_repositories_v2(registry_name="example", per_page=10)
    assert v2["links"] == {}
    tags = await registry.list_repository_tags(registry_name="example", repository_name="tools/build/base")
    manifests = await registry.list_repository_manifests(
        registry_name="example", repository_name="tools/build/base"
    )
    await registry.delete_repository_tag(
        registry_name="example", repository_name="tools/build/base", repository_tag=tags["tags"][0]["tag"]
    )
    await registry.delete_repository_manifest(
        registry_name="example",
        repository_name="tools/build/base",
        manifest_digest=manifests["manifests"][-1]["digest"],
    )
    gc = (
        await registry.run_garbage_collection(
            registry_name="example", body={"type": "untagged manifests and unreferenced blobs"}
        )
    )["garbage_collection"]
    assert (await registry.get_garbage_collection(registry_name="example"))["garbage_collection"][
        "uuid"
    ] == gc["uuid"]
    listed_gcs = await registry.list_garbage_collections(registry_name="example")
    assert listed_gcs["meta"]["total"] == 1
    res = await registry.update_garbage_collection(
        registry_name="example", garbage_collection_uuid=gc["uuid"], body={"cancel": True}
    )
    assert res["garbage_collection"]["status"] == "cancelling"
    clock.advance(1)
    await registry.delete()
    assert fake.state.registries == {}
    fresh = await registry.create(body={"name": "fresh", "subscription_tier_slug": "basic", "region": "ams3"})
    assert fresh["registry"]["subscription"]["tier"]["slug"] == "basic"

    assert called == expected
    assert all(r.status is not None and r.status < 500 for r in fake.requests)


async def test_pydo_live_registry_flow_deletes_during_gc(clock: ManualClock) -> None:
    """The sequence of pydo's live-API test (tests/integration/test_container_registry.py): create,
    credentials, get, subscription, validate-name, start a GC, read it, list GCs, options, and then
    delete the registry while that GC still runs, which DigitalOcean answers with 204 (None)."""
    fake = FakeDOCR(seed=2, clock=clock, seed_spec=SeedSpec.empty())
    async with fake, pydo_aio.Client(token=fake.token, endpoint=fake.url) as client:
        registry = Recorder(client.registry, set(), "registry")
        created = await registry.create(
            body={"name": "pydo-it", "subscription_tier_slug": "basic", "region": "nyc3"}
        )
        assert created["registry"]["name"] == "pydo-it"
        creds = await registry.get_docker_credentials(read_write=True)
        assert creds["auths"]["registry.digitalocean.com"]["auth"]
        assert (await registry.get())["registry"]["name"] == "pydo-it"
        assert (await registry.get_subscription())["subscription"]["tier"]["slug"] == "basic"
        updated = await registry.update_subscription({"tier_slug": "starter"})
        assert updated["subscription"]["tier"]["slug"] == "starter"
        assert await registry.validate_name({"name": "pydo-other"}) is None
        garbage = await registry.run_garbage_collection(registry_name="pydo-it")
        assert garbage["garbage_collection"]["status"] == "requested"
        active = await registry.get_garbage_collection(registry_name="pydo-it")
        assert active["garbage_collection"]["registry_name"] == "pydo-it"
        assert (
            len((await registry.list_garbage_collections(registry_name="pydo-it"))["garbage_collections"]) > 0
        )
        assert len((await registry.get_options())["options"]["available_regions"]) > 0
        assert fake.state.registries["pydo-it"].active_gc is not None  # the GC is still running
        assert await registry.delete() is None
        assert fake.state.registries == {}
        assert fake.requests[-1].status == 204
