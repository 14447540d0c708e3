"""examples/web_app.py against a FakeDOCR, through aiohttp's own test server and client."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

import _target
import pytest
import web_app
from aiohttp.test_utils import TestClient, TestServer
from refused_port import refused_url

from docr_async import NO_RETRY, DOCRClient
from docr_async.testing import TIERS, FakeDOCR, FaultConfig, GCConfig

from .conftest import REGISTRY, client_factory

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from aiohttp import ClientResponse


@asynccontextmanager
async def serve(fake: FakeDOCR, **options: Any) -> AsyncIterator[TestClient[Any, Any]]:
    """The example app on a local port, its one client pointed at ``fake``."""
    app = web_app.create_app(client_factory(fake, **options))
    async with TestClient(TestServer(app)) as http:
        yield http


@pytest.fixture
async def http(fake: FakeDOCR) -> AsyncIterator[TestClient[Any, Any]]:
    async with serve(fake) as http:
        yield http


async def ndjson(response: ClientResponse) -> list[dict[str, Any]]:
    assert response.status == 200
    assert response.content_type == "application/x-ndjson"
    return [json.loads(line) for line in (await response.text()).splitlines()]


async def error(response: ClientResponse, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body = await response.json()
    assert set(body) == {"error"}
    details: dict[str, Any] = body["error"]
    return details


def repo_names(fake: FakeDOCR) -> list[str]:
    return sorted(fake.state.registries[REGISTRY].repositories)


async def test_one_client_for_the_whole_app(fake: FakeDOCR, monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[DOCRClient] = []

    class CountingClient(DOCRClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr(_target, "DOCRClient", CountingClient)
    async with serve(fake) as http:
        for path in ("/registries", f"/registries/{REGISTRY}/storage", f"/registries/{REGISTRY}/gc"):
            assert (await http.get(path)).status == 200
        assert http.app is not None
        assert http.app[web_app.CLIENT] is created[0]
    assert len(created) == 1
    with pytest.raises(RuntimeError, match="closed"):  # closed by the cleanup context
        await created[0].registries.list()


async def test_registries(http: TestClient[Any, Any], fake: FakeDOCR) -> None:
    body = await (await http.get("/registries")).json()
    assert [r["name"] for r in body["registries"]] == [REGISTRY]
    registry = body["registries"][0]
    assert registry["storage_usage_bytes"] == fake.state.registries[REGISTRY].storage_usage_bytes > 0
    assert registry["created_at"].endswith("+00:00")  # datetimes as ISO 8601
    assert "extra" not in registry


async def test_repositories_streamed_as_ndjson(http: TestClient[Any, Any], fake: FakeDOCR) -> None:
    lines = await ndjson(await http.get(f"/registries/{REGISTRY}/repositories"))
    assert sorted(line["name"] for line in lines) == repo_names(fake)
    assert all(line["latest_manifest"]["digest"].startswith("sha256:") for line in lines)


async def test_repositories_paged_with_page_tokens(http: TestClient[Any, Any], fake: FakeDOCR) -> None:
    names: list[str] = []
    query: dict[str, str] = {"per_page": "3"}
    while True:
        body = await (await http.get(f"/registries/{REGISTRY}/repositories", params=query)).json()
        assert body["total"] == len(repo_names(fake))
        assert len(body["repositories"]) <= 3
        names += [repo["name"] for repo in body["repositories"]]
        if body["next_page_token"] is None:
            break
        query = {"per_page": "3", "page_token": body["next_page_token"]}
    assert names == repo_names(fake)


async def test_tags_paged_and_streamed(http: TestClient[Any, Any], fake: FakeDOCR) -> None:
    path = f"/registries/{REGISTRY}/repositories/team/api/tags"  # a nested repository name
    streamed = await ndjson(await http.get(path))
    newest_first = [line["tag"] for line in streamed]
    assert sorted(newest_first) == sorted(fake.state.registries[REGISTRY].repositories["team/api"].tags)

    body = await (await http.get(path, params={"per_page": "4", "page": "2"})).json()
    assert [tag["tag"] for tag in body["tags"]] == newest_first[4:8]
    assert body["page"] == 2
    assert body["per_page"] == 4
    assert body["total"] == len(newest_first)
    assert body["last_page"] == -(-len(newest_first) // 4)

    past_the_end = await (await http.get(path, params={"per_page": "4", "page": "99"})).json()
    assert past_the_end["tags"] == []
    assert past_the_end["page"] == 99


async def test_storage(http: TestClient[Any, Any], fake: FakeDOCR) -> None:
    body = await (await http.get(f"/registries/{REGISTRY}/storage")).json()
    used = fake.state.registries[REGISTRY].storage_usage_bytes
    included = TIERS["starter"].included_storage_bytes
    assert body["storage_usage_bytes"] == used
    assert body["tier"] == "starter"
    assert body["included_storage_bytes"] == included
    assert body["used_fraction"] == pytest.approx(used / included, abs=1e-4)
    assert body["used_fraction"] > 1  # SMALL overflows Starter


async def test_active_gc_or_null(http: TestClient[Any, Any], fake: FakeDOCR) -> None:
    assert (await (await http.get(f"/registries/{REGISTRY}/gc")).json())["garbage_collection"] is None
    fake.gc_config = GCConfig(step_seconds=60)  # stays active during the test
    assert http.app is not None
    started = await http.app[web_app.CLIENT].garbage_collections.start(REGISTRY)
    body = await (await http.get(f"/registries/{REGISTRY}/gc")).json()
    assert body["garbage_collection"]["uuid"] == started.uuid
    assert body["garbage_collection"]["status"] == "requested"


@pytest.mark.parametrize(
    "path",
    [
        "/registries/nope/repositories",  # streamed: the 404 arrives before any byte is sent
        "/registries/nope/repositories?per_page=5",
        "/registries/nope/storage",
        "/registries/nope/gc",  # the API's 404 means "no active GC" here: the app checks the registry
        f"/registries/{REGISTRY}/repositories/no-such-repo/tags",
    ],
)
async def test_unknown_names_are_404(http: TestClient[Any, Any], path: str) -> None:
    assert (await error(await http.get(path), 404))["type"] == "NotFoundError"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (f"/registries/{REGISTRY}/repositories/Bad_Name/tags", "ValidationError"),  # checked by the SDK
        (f"/registries/{REGISTRY}/repositories/a//b/tags", "ValidationError"),
        ("/registries/Not_A_Registry/storage", "ValidationError"),
        (f"/registries/{REGISTRY}/repositories?per_page=500", "ValidationError"),
        (f"/registries/{REGISTRY}/repositories?per_page=abc", "ValidationError"),
        (f"/registries/{REGISTRY}/repositories/api/tags?page=0", "ValidationError"),
        (f"/registries/{REGISTRY}/repositories?page_token=not-a-token", "BadRequestError"),  # the API's 400
    ],
)
async def test_bad_input_is_400(http: TestClient[Any, Any], path: str, kind: str) -> None:
    assert (await error(await http.get(path), 400))["type"] == kind


async def test_rate_limited_is_429_with_retry_after(fake: FakeDOCR) -> None:
    fake.set_faults(FaultConfig(spurious_429_rate=1.0, retry_after=7))
    async with serve(fake, retry=NO_RETRY) as http:
        response = await http.get("/registries")
        assert (await error(response, 429))["type"] == "TooManyRequestsError"
        assert response.headers["Retry-After"] == "7"


async def test_revoked_token_is_502(http: TestClient[Any, Any], fake: FakeDOCR) -> None:
    fake.revoke_token(fake.token)
    body = await error(await http.get("/registries"), 502)
    assert body["type"] == "AuthenticationError"
    assert fake.token not in json.dumps(body)


async def test_server_errors_are_502(fake: FakeDOCR) -> None:
    fake.set_faults(FaultConfig(error_rate=1.0, error_statuses=(503,)))
    async with serve(fake, retry=NO_RETRY) as http:
        assert (await error(await http.get(f"/registries/{REGISTRY}/storage"), 502))["type"] == "ServerError"


async def test_connection_errors_are_502(fake: FakeDOCR) -> None:
    with refused_url() as refused:  # held for the whole test: no other process can listen there
        factory = partial(_target.open_client, base_url=refused, token=fake.token, retry=NO_RETRY)
        app = web_app.create_app(factory)
        async with TestClient(TestServer(app)) as http:
            assert (await error(await http.get("/registries"), 502))["type"] == "APIConnectionError"


async def test_an_error_mid_stream_ends_it_with_an_error_line(fake: FakeDOCR) -> None:
    fake.push(REGISTRY, "big", [f"t{i}" for i in range(250)])  # two pages of 200
    fake.set_faults(FaultConfig(error_rate=1.0, error_statuses=(500,), skip_first=1))  # page 2 fails
    async with serve(fake, retry=NO_RETRY) as http:
        lines = await ndjson(await http.get(f"/registries/{REGISTRY}/repositories/big/tags"))
    assert len(lines) == 201
    assert lines[-1] == {"error": {"type": "ServerError", "message": "upstream error"}}
