"""The default registry: DOCRClient(registry=...), $DIGITALOCEAN_REGISTRY, or discovered once.

Against FakeDOCR with one, several and no registries, and tiny hostile servers on 127.0.0.1 for the
answers FakeDOCR never gives (a failing or lying registry list, a discovery cancelled mid-flight).
"""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from e2e.helpers import client_for, running_fake
from virtual_gc import gc_in_virtual_time

from docr_async import (
    NO_RETRY,
    ConfigurationError,
    DOCRClient,
    InvalidResponseError,
    RateLimiter,
    RegistryDiscoveryError,
    ServerError,
    ValidationError,
)
from docr_async.testing import SeedSpec

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from docr_async.testing import FakeDOCR

ENV = "DIGITALOCEAN_REGISTRY"
ONE = SeedSpec(registries=1, repos=3, tags=12, untagged=2)
SEVERAL = SeedSpec(registries=3, repos=2, tags=12, untagged=2)  # example, staging, prod


@pytest.fixture(autouse=True)
def _no_registry_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)


def operations(fake: FakeDOCR) -> list[str | None]:
    return [r.operation for r in fake.requests]


def paths(fake: FakeDOCR) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests]


# --------------------------------------------------------------------------------------------------
# One registry: discovered once, lazily


async def test_one_registry_is_discovered_lazily_and_once() -> None:
    async with running_fake(seed_spec=ONE) as fake, client_for(fake) as client:
        pager = client.tags.list("team/api")
        assert fake.requests == []  # a listing sends nothing before it is awaited or iterated
        tags = await pager.collect()
        assert {t.registry_name for t in tags} == {"example"}
        assert [t.tag for t in tags] == [
            t.name for t in fake.state.registries["example"].repository("team/api").sorted_tags()
        ]
        assert paths(fake) == [
            "GET /v2/registries",
            "GET /v2/registries/example/repositories/team%2Fapi/tags",
        ]
        fake.clear_requests()
        # Every later call reuses the discovered name: no second GET /v2/registries.
        registry = await client.registries.get()
        repos = await client.repositories.list().collect()
        await client.garbage_collections.get_active()
        assert registry.name == "example"
        assert [r.name for r in repos] == fake.state.registries["example"].sorted_repository_names()
        assert "registries_list" not in operations(fake)
        assert paths(fake) == [
            "GET /v2/registries/example",
            "GET /v2/registries/example/repositoriesV2",
            "GET /v2/registries/example/garbage-collection",
        ]


async def test_every_registry_parameter_is_optional_with_one_registry() -> None:
    async with running_fake(seed_spec=ONE) as fake, client_for(fake) as client:
        gc_in_virtual_time(fake)  # the GC is still running at the cancel, however slow the machine
        state = fake.state.registries["example"]
        fake.push("example", "team/api", "keep")
        untagged = fake.push("example", "team/api", "moved").digest
        fake.push("example", "team/api", "moved")  # leaves the first "moved" manifest untagged
        await client.tags.delete("keep", repository="team/api")
        await client.manifests.delete(untagged, repository="team/api")
        await client.repositories.delete("web")
        credentials = await client.registries.docker_credentials(expiry_seconds=60)
        gc = await client.garbage_collections.start()
        assert (await client.garbage_collections.get(gc.uuid)).uuid == gc.uuid
        assert [g.uuid for g in await client.garbage_collections.list().collect()] == [gc.uuid]
        cancelled = await client.garbage_collections.cancel(gc.uuid)
        finished = await client.garbage_collections.wait(gc.uuid, poll_interval=0.01)
        legacy_tags = await client.legacy.tags.list("api").collect()

        assert "keep" not in state.repository("team/api").tags
        assert untagged not in state.repository("team/api").manifests
        assert "web" not in state.repositories
        assert "registry.digitalocean.com" in credentials.auths
        assert cancelled.status in {"cancelling", "cancelled"}
        assert finished.status == "cancelled"
        assert {t.registry_name for t in legacy_tags} == {"example"}
        assert operations(fake).count("registries_list") == 1
        assert all("/example" in p for p in paths(fake) if p != "GET /v2/registries")


async def test_fifty_concurrent_first_calls_send_one_discovery_request() -> None:
    async with running_fake(seed_spec=ONE) as fake, client_for(fake) as client:
        copy = client.with_options(timeout=30)

        async def first_use(i: int) -> str:
            if i % 3 == 0:
                return (await client.registries.get()).name
            if i % 3 == 1:
                return (await copy.repositories.list()).items[0].registry_name
            return (await client.tags.list("api")).items[0].registry_name

        names = await asyncio.gather(*(first_use(i) for i in range(50)))
        assert names == ["example"] * 50
        assert operations(fake).count("registries_list") == 1
        assert len(fake.requests) == 51
        assert fake.requests[0].operation == "registries_list"  # before any call that needed it


async def test_with_options_copies_share_the_discovered_registry() -> None:
    async with running_fake(seed_spec=ONE) as fake, client_for(fake) as client:
        assert (await client.with_options(retry=NO_RETRY).registries.get()).name == "example"
        await client.registries.get()
        await client.with_options(max_wait=5).registries.get()
        assert operations(fake) == ["registries_list", "registries_get", "registries_get", "registries_get"]


# --------------------------------------------------------------------------------------------------
# Several registries, none


async def test_several_registries_raise_an_error_naming_them() -> None:
    async with running_fake(seed_spec=SEVERAL) as fake, client_for(fake) as client:
        pager = client.tags.list("api")
        assert fake.requests == []
        with pytest.raises(RegistryDiscoveryError) as excinfo:
            await pager
        error = excinfo.value
        assert isinstance(error, ConfigurationError)
        assert error.registries == ("example", "prod", "staging")
        assert "3 registries (example, prod, staging)" in str(error)
        assert "DIGITALOCEAN_REGISTRY" in str(error)
        assert "registry=" in str(error)
        assert operations(fake) == ["registries_list"]  # nothing else was sent


async def test_concurrent_callers_share_one_failed_discovery_and_a_later_call_looks_again() -> None:
    async with running_fake(seed_spec=SEVERAL) as fake, client_for(fake) as client:
        results = await asyncio.gather(*(client.registries.get() for _ in range(10)), return_exceptions=True)
        assert all(isinstance(r, RegistryDiscoveryError) for r in results)
        assert operations(fake) == ["registries_list"]
        # Nothing was remembered: once the account has one registry, the next call finds it.
        for name in ("staging", "prod"):
            fake.state.delete_registry(name, fake.clock())
        assert (await client.registries.get()).name == "example"
        assert operations(fake) == ["registries_list", "registries_list", "registries_get"]


async def test_no_registry_raises_a_clear_error() -> None:
    async with running_fake(seed_spec=SeedSpec.empty()) as fake, client_for(fake) as client:
        with pytest.raises(RegistryDiscoveryError) as excinfo:
            await client.garbage_collections.start()
        assert excinfo.value.registries == ()
        assert "the account has none" in str(excinfo.value)
        assert operations(fake) == ["registries_list"]
        assert fake.state.registries == {}


# --------------------------------------------------------------------------------------------------
# Explicit choices: the call's registry=, DOCRClient(registry=...), $DIGITALOCEAN_REGISTRY


async def test_a_calls_registry_wins_and_needs_no_discovery() -> None:
    async with running_fake(seed_spec=SEVERAL) as fake, client_for(fake) as client:
        tags = await client.tags.list("api", registry="staging").collect()
        assert {t.registry_name for t in tags} == {"staging"}
        assert "registries_list" not in operations(fake)


async def test_the_clients_registry_is_the_default_and_a_call_can_override_it() -> None:
    async with running_fake(seed_spec=SEVERAL) as fake, client_for(fake, registry="prod") as client:
        assert (await client.registries.get()).name == "prod"
        assert (await client.repositories.list(registry="staging")).items[0].registry_name == "staging"
        assert (await client.registry().get()).name == "prod"
        assert paths(fake) == [
            "GET /v2/registries/prod",
            "GET /v2/registries/staging/repositoriesV2",
            "GET /v2/registries/prod",
        ]


async def test_the_environment_variable_names_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "staging")
    async with running_fake(seed_spec=SEVERAL) as fake:
        async with client_for(fake) as client:
            assert (await client.registries.get()).name == "staging"
        async with client_for(fake, registry="prod") as client:  # the argument beats the variable
            assert (await client.registries.get()).name == "prod"
        assert operations(fake) == ["registries_get", "registries_get"]


@pytest.mark.parametrize("value", ["prod", "registry.digitalocean.com/prod"])
async def test_the_registry_may_be_written_with_the_registry_host(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_fake(seed_spec=SEVERAL) as fake:
        async with client_for(fake, registry=value) as client:
            assert (await client.registries.get()).name == "prod"
        monkeypatch.setenv(ENV, value)
        async with client_for(fake) as client:
            assert (await client.repositories.list()).items[0].registry_name == "prod"
        assert operations(fake) == ["registries_get", "registries_list_repositoriesV2"]


async def test_a_blank_environment_variable_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "  ")
    async with running_fake(seed_spec=ONE) as fake, client_for(fake) as client:
        assert (await client.registries.get()).name == "example"
        assert operations(fake) == ["registries_list", "registries_get"]


@pytest.mark.parametrize("name", ["Example", "ex ample", "a" * 64, "options", "../x"])
def test_a_bad_configured_registry_is_refused_at_construction(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError, match="registry") as excinfo:
        DOCRClient("dop_v1_" + "a" * 64, registry=name)
    assert not isinstance(excinfo.value, RegistryDiscoveryError)
    monkeypatch.setenv(ENV, name)
    with pytest.raises(ConfigurationError, match=ENV):
        DOCRClient("dop_v1_" + "a" * 64)


# --------------------------------------------------------------------------------------------------
# Bad input raises before anything is sent, discovery included


BAD_CALLS: list[Any] = [
    pytest.param(lambda c: c.tags.list("Team/api"), "repository", id="tags.list"),
    pytest.param(lambda c: c.tags.delete("v1/2", repository="api"), "tag", id="tags.delete"),
    pytest.param(
        lambda c: c.manifests.delete("sha256:abc", repository="api"), "digest", id="manifests.delete"
    ),
    pytest.param(lambda c: c.repositories.list(registry="Bad"), "registry", id="repositories.list"),
    pytest.param(lambda c: c.repositories.list(per_page=0), "per_page", id="per_page"),
    pytest.param(lambda c: c.repositories.delete("a//b"), "repository", id="repositories.delete"),
    pytest.param(lambda c: c.registries.get("Bad"), "registry", id="registries.get"),
    pytest.param(lambda c: c.registries.docker_credentials(expiry_seconds=-1), "expiry_seconds", id="creds"),
    pytest.param(lambda c: c.garbage_collections.start(type="everything"), "type", id="gc.start"),
    pytest.param(lambda c: c.garbage_collections.cancel("a/b"), "uuid", id="gc.cancel"),
    pytest.param(lambda c: c.garbage_collections.get("../x"), "uuid", id="gc.get"),
    pytest.param(lambda c: c.garbage_collections.wait("a b"), "uuid", id="gc.wait"),
    pytest.param(lambda c: c.garbage_collections.wait("x", poll_interval=0), "poll_interval", id="gc.poll"),
    pytest.param(lambda c: c.garbage_collections.list(page=0), "page", id="gc.list"),
]


async def invoke(call: Callable[[DOCRClient], Any], client: DOCRClient) -> None:
    result = call(client)  # a listing raises here, a coroutine method when awaited
    if asyncio.iscoroutine(result):
        await result


@pytest.mark.parametrize(("call", "field"), BAD_CALLS)
async def test_bad_input_raises_before_discovery(call: Callable[[DOCRClient], Any], field: str) -> None:
    async with running_fake(seed_spec=ONE) as fake, client_for(fake) as client:
        with pytest.raises(ValidationError) as excinfo:
            await invoke(call, client)
        assert excinfo.value.field == field
        assert fake.requests == []


# --------------------------------------------------------------------------------------------------
# Hostile registry lists and interrupted discovery (tiny servers on 127.0.0.1)


@asynccontextmanager
async def registry_list_server(
    handler: Callable[[web.Request], Any],
) -> AsyncIterator[tuple[DOCRClient, list[str]]]:
    """A server whose GET /v2/registries is ``handler``; other GETs answer an empty tag list."""
    seen: list[str] = []

    async def registries(request: web.Request) -> web.StreamResponse:
        seen.append(request.path)
        response: web.StreamResponse = await handler(request)
        return response

    async def anything(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({"tags": [], "meta": {"total": 0}, "registry": {"name": "x"}})

    app = web.Application()
    app.router.add_get("/v2/registries", registries)
    app.router.add_get("/{tail:.*}", anything)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with DOCRClient(
            "dop_v1_" + "a" * 64,
            base_url=f"http://127.0.0.1:{port}",
            retry=NO_RETRY,
            rate_limiter=RateLimiter(enabled=False),
        ) as client:
            yield client, seen
    finally:
        await runner.cleanup()


def registry_list(*names: str) -> web.Response:
    return web.Response(
        text=json.dumps({"registries": [{"name": n} for n in names]}), content_type="application/json"
    )


async def test_a_long_lying_registry_list_is_listed_briefly() -> None:
    async def handler(_request: web.Request) -> web.Response:
        return registry_list(*(f"reg-{i:03}" for i in range(500)))

    async with registry_list_server(handler) as (client, seen):
        with pytest.raises(RegistryDiscoveryError) as excinfo:
            await client.registries.get()
        assert len(excinfo.value.registries) == 500
        assert "500 registries (reg-000, reg-001," in str(excinfo.value)
        assert "reg-009, ... (490 more)" in str(excinfo.value)
        assert "reg-010" not in str(excinfo.value)
        assert seen == ["/v2/registries"]


@pytest.mark.parametrize("name", ["../evil", "a/b", "", "UPPER", "x?y=1"])
async def test_a_registry_list_with_an_unusable_name_is_an_invalid_response(name: str) -> None:
    async def handler(_request: web.Request) -> web.Response:
        return registry_list(name)

    async with registry_list_server(handler) as (client, seen):
        with pytest.raises(InvalidResponseError, match="unusable name"):
            await client.tags.list("api")
        assert seen == ["/v2/registries"]  # the name never reached a path


async def test_a_failed_discovery_is_not_remembered() -> None:
    answers = [
        web.json_response({"id": "server_error", "message": "boom"}, status=500),
        registry_list("solo"),
    ]

    async def handler(_request: web.Request) -> web.Response:
        return answers.pop(0)

    async with registry_list_server(handler) as (client, seen):
        with pytest.raises(ServerError):
            await client.tags.list("api")
        assert (await client.tags.list("api")).items == ()
        assert seen == ["/v2/registries", "/v2/registries", "/v2/registries/solo/repositories/api/tags"]


async def test_a_cancelled_discovery_lets_the_next_caller_discover() -> None:
    arrived = asyncio.Event()
    release = asyncio.Event()

    async def handler(_request: web.Request) -> web.Response:
        if not arrived.is_set():
            arrived.set()
            await release.wait()  # the first discovery hangs until its caller is cancelled
        return registry_list("solo")

    async with registry_list_server(handler) as (client, seen):
        first = asyncio.create_task(client.registries.get())
        await arrived.wait()
        waiter = asyncio.create_task(client.tags.list("api").collect())
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert await waiter == []
        release.set()
        assert seen[:2] == ["/v2/registries", "/v2/registries"]
        assert seen[2:] == ["/v2/registries/solo/repositories/api/tags"]
