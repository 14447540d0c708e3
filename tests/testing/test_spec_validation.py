"""The OpenAPI validation hook itself: it is active, it catches violations, and its quirks are narrow."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from docr_async.testing import DEFAULT_RESPONSE_HOOKS, FakeDOCR, GCConfig, ManualClock, SeedSpec

from .conftest import Api

if TYPE_CHECKING:
    import aiohttp

HEADERS = {
    "ratelimit-limit": "5000",
    "ratelimit-remaining": "4999",
    "ratelimit-reset": "1",
    "x-request-id": "r",
}


@pytest.fixture
def validator(docr_spec_validator: Any) -> Any:
    """A fresh validator of the same class as the session one (so its findings stay local)."""
    return type(docr_spec_validator)()


def problems(
    validator: Any,
    method: str,
    path: str,
    status: int,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> list[str]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    hdrs = dict(HEADERS if headers is None else headers)
    if raw:
        response = web.Response(status=status, body=raw, headers=hdrs, content_type=content_type)
    else:
        response = web.Response(status=status, headers=hdrs)
    result: list[str] = validator.problems(make_mocked_request(method, path), response, raw)
    return result


async def test_session_validator_sees_every_fake(
    docr_spec_validator: Any, http: aiohttp.ClientSession
) -> None:
    assert docr_spec_validator in DEFAULT_RESPONSE_HOOKS
    before = docr_spec_validator.checked
    async with FakeDOCR(seed_spec=SeedSpec(repos=1, tags=1)) as fake:
        await Api(http, fake).get("/v2/registries")
        await Api(http, fake).get("/_fake/state")  # control routes are skipped
    assert docr_spec_validator.checked == before + 1


def test_catches_schema_violations(validator: Any) -> None:
    gc_path = "/v2/registries/x/garbage-collection"
    assert problems(validator, "GET", gc_path, 200, {"garbage_collection": {"status": "bogus"}})
    assert problems(validator, "GET", gc_path, 404, {"message": "no id"})
    assert problems(
        validator, "GET", "/v2/registries/x/repositories/a%2Fb/tags", 200, {"tags": []}
    )  # no meta
    assert problems(validator, "GET", "/v2/registries", 200, {"registries": [{"name": "UPPER"}]})
    assert problems(validator, "GET", "/v2/registries", 503, b"<html/>", content_type="text/html")
    assert problems(validator, "GET", "/v2/registries", 200, b"{oops")
    bad_headers = {**HEADERS, "ratelimit-limit": "lots"}
    assert problems(validator, "GET", "/v2/registries", 200, {"registries": []}, headers=bad_headers)
    assert problems(validator, "DELETE", "/v2/registries/x", 204, b"", headers={})
    # A route outside the spec must be a 404 with an error body.
    assert problems(validator, "GET", "/v2/nothing", 200, {"id": "x", "message": "y"})
    assert problems(validator, "GET", "/v2/nothing", 404, {"detail": "nope"})
    assert not problems(validator, "GET", "/v2/nothing", 404, {"id": "not_found", "message": "y"})


def test_quirks_are_handled_narrowly(validator: Any) -> None:
    gc_path = "/v2/registries/x/garbage-collection"
    undocumented = {"garbage_collection": {"status": "waiting for delete requests", "type": "x"}}
    assert not problems(validator, "GET", gc_path, 200, undocumented)
    assert not problems(validator, "GET", "/v2/registries", 502, b"<html/>", content_type="text/html")
    listing = {"garbage_collections": [], "links": {}, "meta": {"total": 0}}
    assert not problems(validator, "GET", "/v2/registries/x/garbage-collections", 200, listing)
    assert problems(
        validator, "GET", "/v2/registries/x/garbage-collections", 200, {"garbage_collections": []}
    )


async def test_every_fake_feature_stays_inside_the_contract(
    validator: Any, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    gc = GCConfig(step_seconds=1, unknown_status_steps=1, include_type=True)
    async with FakeDOCR(
        seed_spec=SeedSpec(repos=3, tags=30),
        clock=clock,
        gc=gc,
        response_hooks=validator,
        use_default_hooks=False,
    ) as fake:
        api = Api(http, fake)
        await api.post("/v2/registries/example/garbage-collection")
        for _ in range(6):
            await api.get("/v2/registries/example/garbage-collections")
            clock.advance(1)
        await api.get("/v2/registries/example/repositoriesV2?per_page=1")
        await api.get("/v2/registry/example/repositories?per_page=1&page=2")
        await api.get("/v2/registries/example/repositories/api/tags?per_page=2")
        await api.get("/v2/registries/example/repositories/api/digests?per_page=2")
        await api.get("/v2/registry")
        await api.get("/v2/registry/options")
        fake.set_faults(error_rate=1.0)
        for _ in range(6):
            await api.get("/v2/registries")
    assert validator.checked == 19
    assert validator.violations == []
