"""Every operation of both API families: paths, methods, statuses, envelopes, errors."""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING

import pytest

from docr_async.testing import FakeDOCR, SeedSpec

from .conftest import Api

if TYPE_CHECKING:
    import aiohttp

    from docr_async.testing import ManualClock

REQUEST_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def first_repo_with_tags(fake: FakeDOCR, registry: str = "example") -> tuple[str, str, str]:
    """(repository, a tag, a manifest digest) of a seeded repository with tags."""
    reg = fake.state.registries[registry]
    for repo in reg.repositories.values():
        if repo.tags and len(repo.manifests) > 1:
            tag = next(iter(repo.tags.values()))
            return repo.name, tag.name, tag.manifest.digest
    raise AssertionError("no tagged repository")


def enc(name: str) -> str:
    return name.replace("/", "%2F")


async def test_registries_family_round_trip(api: Api, fake: FakeDOCR) -> None:
    res = await api.get("/v2/registries")
    assert res.status == 200
    assert [r["name"] for r in res.json["registries"]] == ["example"]
    assert res.json["registries"][0]["subscription"]["tier"]["slug"] == "professional"
    assert res.json["total_storage_usage_bytes"] == fake.state.registries["example"].storage_usage_bytes

    res = await api.post("/v2/registries", json_body={"name": "second", "region": "syd1"})
    assert res.status == 201
    assert res.json["registry"]["name"] == "second"
    assert res.json["registry"]["region"] == "syd1"
    assert "subscription" not in res.json["registry"]  # multiregistry has no subscription

    res = await api.get("/v2/registries/second")
    assert res.status == 200
    assert res.json["registry"]["storage_usage_bytes"] == 0
    assert set(res.json["registry"]) == {
        "name",
        "created_at",
        "region",
        "storage_usage_bytes",
        "storage_usage_bytes_updated_at",
    }

    res = await api.get("/v2/registries/second/docker-credentials?read_write=true&expiry_seconds=3600")
    assert res.status == 200
    auth = base64.b64decode(res.json["auths"]["registry.digitalocean.com"]["auth"]).decode()
    user, password = auth.rstrip("\n").split(":")
    assert user == password
    assert fake.state.credentials_issued == 1

    assert (await api.get("/v2/registries/subscription")).json["subscription"]["tier"][
        "slug"
    ] == "professional"
    res = await api.get("/v2/registries/options")
    assert res.status == 200
    assert res.json["options"]["available_regions"] == ["nyc3", "sfo3", "ams3", "sgp1", "fra1"]
    assert [t["slug"] for t in res.json["options"]["subscription_tiers"]] == [
        "starter",
        "basic",
        "professional",
    ]

    assert (await api.post("/v2/registries/validate-name", json_body={"name": "free-one"})).status == 204
    res = await api.post("/v2/registries/validate-name", json_body={"name": "second"})
    assert res.status == 409
    assert res.json["id"] == "conflict"

    res = await api.delete("/v2/registries/second")
    assert res.status == 204
    assert res.body == b""
    assert (await api.get("/v2/registries/second")).status == 404


async def test_repository_operations_both_families(api: Api, fake: FakeDOCR) -> None:
    repo, tag, digest = first_repo_with_tags(fake)
    for family in ("/v2/registries", "/v2/registry"):
        res = await api.get(f"{family}/example/repositoriesV2")
        assert res.status == 200
        assert {"repositories", "links", "meta"} <= set(res.json)
        res = await api.get(f"{family}/example/repositories/{enc(repo)}/tags")
        assert res.status == 200
        assert res.json["meta"]["total"] == len(fake.state.registries["example"].repositories[repo].tags)
        res = await api.get(f"{family}/example/repositories/{enc(repo)}/digests")
        assert res.status == 200
        assert res.json["manifests"][0]["registry_name"] == "example"
    res = await api.get("/v2/registry/example/repositories")
    assert res.status == 200
    assert "latest_tag" in res.json["repositories"][0] or res.json["repositories"][0]["tag_count"] == 0

    res = await api.delete(f"/v2/registry/example/repositories/{enc(repo)}/tags/{tag}")
    assert res.status == 204
    assert (await api.delete(f"/v2/registry/example/repositories/{enc(repo)}/tags/{tag}")).status == 404
    res = await api.delete(f"/v2/registries/example/repositories/{enc(repo)}/digests/{digest}")
    assert res.status == 204
    assert digest not in fake.state.registries["example"].repositories[repo].manifests
    assert (await api.delete(f"/v2/registries/example/repositories/{enc(repo)}")).status == 204
    assert repo not in fake.state.registries["example"].repositories
    assert (await api.delete(f"/v2/registries/example/repositories/{enc(repo)}")).status == 404


async def test_gc_operations_both_families(api: Api, clock: ManualClock) -> None:
    for family in ("/v2/registries", "/v2/registry"):
        res = await api.post(f"{family}/example/garbage-collection")
        assert res.status == 201
        gc = res.json["garbage_collection"]
        assert gc["status"] == "requested"
        assert (await api.get(f"{family}/example/garbage-collection")).json["garbage_collection"] == gc
        res = await api.put(f"{family}/example/garbage-collection/{gc['uuid']}", json_body={"cancel": True})
        assert res.status == 200
        assert res.json["garbage_collection"]["status"] == "cancelling"
        clock.advance(1)
        assert (await api.get(f"{family}/example/garbage-collection")).status == 404
        res = await api.get(f"{family}/example/garbage-collections")
        assert res.status == 200
        assert res.json["garbage_collections"][0]["status"] == "cancelled"


async def test_legacy_single_registry_operations(http: aiohttp.ClientSession) -> None:
    async with FakeDOCR(seed_spec=SeedSpec.empty()) as fake:
        api = Api(http, fake)
        res = await api.get("/v2/registry")
        assert res.status == 404
        res = await api.post("/v2/registry", json_body={"name": "mine", "region": "fra1"})
        assert res.status == 422  # subscription_tier_slug is required here
        res = await api.post(
            "/v2/registry", json_body={"name": "mine", "subscription_tier_slug": "starter", "region": "fra1"}
        )
        assert res.status == 201
        assert res.json["registry"]["subscription"]["tier"]["slug"] == "starter"
        res = await api.get("/v2/registry")
        assert res.status == 200
        assert res.json["registry"]["name"] == "mine"
        assert (await api.get("/v2/registry/subscription")).json["subscription"]["tier"]["slug"] == "starter"
        res = await api.post("/v2/registry/subscription", json_body={"tier_slug": "basic"})
        assert res.status == 200
        assert res.json["subscription"]["tier"]["slug"] == "basic"
        assert (await api.get("/v2/registry/docker-credentials")).status == 200
        assert (await api.post("/v2/registry/validate-name", json_body={"name": "mine"})).status == 409
        assert (await api.post("/v2/registry/validate-name", json_body={"name": "yours"})).status == 204
        assert (await api.get("/v2/registry/options")).status == 200
        second = {"name": "other", "subscription_tier_slug": "basic"}
        assert (await api.post("/v2/registry", json_body=second)).status == 409
        assert (await api.delete("/v2/registry")).status == 204
        assert (await api.get("/v2/registry")).status == 404
        assert (await api.get("/v2/registry/docker-credentials")).status == 404


async def test_412_when_account_has_several_registries(http: aiohttp.ClientSession) -> None:
    async with FakeDOCR(seed_spec=SeedSpec(registries=3, repos=1, tags=3)) as fake:
        api = Api(http, fake)
        for method in ("GET", "DELETE"):
            res = await api.call(method, "/v2/registry")
            assert res.status == 412
            assert res.json["id"] == "precondition_failed"
            assert res.json["message"].startswith(
                "This API is not supported if you have created multiple registries."
            )
            assert "‘/v2/registries/{registry_name}’" in res.json["message"]
        assert len(fake.state.registries) == 3
        res = await api.post("/v2/registry/subscription", json_body={"tier_slug": "basic"})
        assert res.status == 412
        assert res.json["id"] == "precondition_failed"
        assert res.json["message"] == "registry is not eligible for tier because: [OverRegistryLimit]"
        assert fake.state.subscription.tier == "professional"
        # Named legacy paths keep working: they address the registry by name.
        assert (await api.get("/v2/registry/staging/repositoriesV2")).status == 200
        res = await api.post("/v2/registries/subscription", json_body={"tier_slug": "professional"})
        assert res.status == 200


async def test_registry_limit_and_validation(http: aiohttp.ClientSession) -> None:
    async with FakeDOCR(seed_spec=SeedSpec(repos=1, tags=1, untagged=0, tier="basic")) as fake:
        api = Api(http, fake)
        res = await api.post("/v2/registries", json_body={"name": "extra"})
        assert res.status == 412  # Basic allows one registry
        for bad in ("UPPER", "-dash", "dash-", "a" * 64, "", 7):
            res = await api.post("/v2/registries/validate-name", json_body={"name": bad})
            assert res.status == 422, bad
            assert res.json["id"] == "unprocessable_entity"
        for reserved in ("options", "subscription", "validate-name"):
            assert (
                await api.post("/v2/registries/validate-name", json_body={"name": reserved})
            ).status == 409
        assert (await api.post("/v2/registries/validate-name", data=b"{not json")).status == 400
        assert (await api.post("/v2/registries/validate-name")).status == 400
        res = await api.post("/v2/registries/subscription", json_body={"tier_slug": "gold"})
        assert res.status == 422
        for body in (
            {"name": ["x"]},
            {"name": "ok-name", "subscription_tier_slug": ["basic"]},
            {"name": "ok", "region": {}},
        ):
            assert (await api.post("/v2/registries", json_body=body)).status == 422, body
        assert (
            await api.post("/v2/registries/subscription", json_body={"tier_slug": ["basic"]})
        ).status == 422
        assert (
            await api.post("/v2/registries/example/garbage-collection", json_body={"type": []})
        ).status == 422
        res = await api.post("/v2/registries/subscription")
        assert res.status == 200  # the body is optional: nothing changes


async def test_fixed_routes_are_not_registry_names(api: Api) -> None:
    assert (await api.get("/v2/registries/options")).json.keys() == {"options"}
    assert (await api.get("/v2/registries/subscription")).json.keys() == {"subscription"}
    # DELETE on a fixed segment falls through to {registry_name}, which can never exist.
    assert (await api.delete("/v2/registries/options")).status == 404
    assert (await api.post("/v2/registries", json_body={"name": "options"})).status == 409


async def test_percent_encoded_repository_names(api: Api, fake: FakeDOCR) -> None:
    nested = [n for n in fake.state.registries["example"].repositories if "/" in n]
    assert "team/api" in nested
    assert "tools/build/base" in nested
    for name in nested:
        res = await api.get(f"/v2/registries/example/repositories/{enc(name)}/tags")
        assert res.status == 200, name
        assert all(t["repository"] == name for t in res.json["tags"])
        # A literal slash is not the same route.
        res = await api.get(f"/v2/registries/example/repositories/{name}/tags")
        assert res.status == 404
        assert res.json["id"] == "not_found"
    # Lower-case escapes work too, and the digest's colon may arrive escaped.
    manifest = next(iter(fake.state.registries["example"].repositories["team/api"].manifests.values()))
    escaped = manifest.digest.replace(":", "%3A")
    res = await api.delete(f"/v2/registries/example/repositories/team%2fapi/digests/{escaped}")
    assert res.status == 204
    assert (
        fake.requests[-1].path.lower().startswith("/v2/registries/example/repositories/team%2fapi/digests/")
    )


async def test_auth_errors(api: Api, fake: FakeDOCR) -> None:
    for token in (None, "dop_v1_" + "0" * 64, ""):
        res = await api.get("/v2/registries", token=token)
        assert res.status == 401
        assert res.json["id"] == "unauthorized"
        assert res.json["message"] == "Unable to authenticate you."
        assert REQUEST_ID.match(res.json["request_id"])
        assert res.headers["x-request-id"] == res.json["request_id"]
    res = await api.get("/v2/registries", headers={"Authorization": f"Basic {fake.token}"}, token=None)
    assert res.status == 401
    res = await api.get("/v2/registries", headers={"Authorization": f"bearer {fake.token}"}, token=None)
    assert res.status == 200
    assert [r.auth_valid for r in fake.requests[-5:]] == [False, False, False, False, True]
    assert [r.auth_present for r in fake.requests[-5:]] == [False, True, True, True, True]


async def test_unknown_routes_and_error_bodies(api: Api) -> None:
    for method, path in (
        ("GET", "/v2/registries/example/nothing"),
        ("GET", "/v3/registries"),
        ("PATCH", "/v2/registries"),
        ("POST", "/v2/registry/example/repositories"),
        ("GET", "/"),
    ):
        res = await api.call(method, path)
        assert res.status == 404, (method, path)
        assert res.json["id"] == "not_found"
        assert res.json["request_id"] == res.headers["x-request-id"]
        assert res.headers["content-type"] == "application/json"
    res = await api.get("/v2/registries/nope")
    assert res.status == 404
    assert res.json["message"] == "registry does not exist"
    res = await api.get("/v2/registries/example/repositories/nope/tags")
    assert res.json["message"] == "repository not found"


async def test_request_ids_are_unique_and_on_every_response(api: Api) -> None:
    ids = set()
    for path in ("/v2/registries", "/v2/registries/nope", "/v2/registries/options"):
        res = await api.get(path)
        ids.add(res.headers["x-request-id"])
    res = await api.post("/v2/registries/validate-name", json_body={"name": "free"})
    assert res.status == 204
    ids.add(res.headers["x-request-id"])
    assert len(ids) == 4
    assert all(REQUEST_ID.match(i) for i in ids)


@pytest.mark.parametrize("family", ["/v2/registries", "/v2/registry"])
async def test_docker_credentials_query_validation(api: Api, family: str) -> None:
    path = f"{family}/example/docker-credentials" if family.endswith("s") else f"{family}/docker-credentials"
    assert (await api.get(f"{path}?read_write=maybe")).status == 400
    assert (await api.get(f"{path}?expiry_seconds=-1")).status == 400
    assert (await api.get(f"{path}?expiry_seconds=soon")).status == 400
    assert (await api.get(f"{path}?read_write=false&expiry_seconds=0")).status == 200
