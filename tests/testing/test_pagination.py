"""Page-number and token pagination exactly as the spec's introduction describes it."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

from docr_async.testing import FakeDOCR, ManualClock, SeedSpec

from .conftest import Api

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import aiohttp


def query(link: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}


@pytest.fixture
async def big(clock: ManualClock) -> AsyncIterator[FakeDOCR]:
    # One registry, 45 repositories, one of them ("api") with many tags.
    async with FakeDOCR(seed=11, clock=clock, seed_spec=SeedSpec(repos=45, tags=400, untagged=30)) as fake:
        yield fake


@pytest.fixture
def big_api(http: aiohttp.ClientSession, big: FakeDOCR) -> Api:
    return Api(http, big)


async def test_page_number_links(big_api: Api, big: FakeDOCR) -> None:
    repo = big.state.registries["example"].repositories["api"]
    total = len(repo.tags)
    assert total > 45
    path = "/v2/registries/example/repositories/api/tags"

    first = await big_api.get(f"{path}?per_page=10")
    assert first.json["meta"]["total"] == total
    assert len(first.json["tags"]) == 10
    pages = first.json["links"]["pages"]
    assert set(pages) == {"next", "last"}  # never first/prev on the first page
    last_page = -(-total // 10)
    assert pages["next"] == f"https://api.digitalocean.com{path}?page=2&per_page=10"
    assert pages["last"] == f"https://api.digitalocean.com{path}?page={last_page}&per_page=10"

    middle = await big_api.get(pages["next"])
    assert set(middle.json["links"]["pages"]) == {"first", "prev", "next", "last"}
    assert query(middle.json["links"]["pages"]["prev"]) == {"page": "1", "per_page": "10"}
    assert query(middle.json["links"]["pages"]["first"]) == {"page": "1", "per_page": "10"}

    end = await big_api.get(pages["last"])
    assert set(end.json["links"]["pages"]) == {"first", "prev"}
    assert len(end.json["tags"]) == total - (last_page - 1) * 10
    assert end.json["meta"]["total"] == total

    beyond = await big_api.get(f"{path}?page={last_page + 5}&per_page=10")
    assert beyond.json["tags"] == []
    assert query(beyond.json["links"]["pages"]["prev"])["page"] == str(last_page)

    everything = await big_api.collect(f"{path}?per_page=7", "tags")
    assert [t["tag"] for t in everything] == [t.name for t in repo.sorted_tags()]
    stamps = [t["updated_at"] for t in everything]
    assert stamps == sorted(stamps, reverse=True)  # newest first


async def test_defaults_single_page_and_clamp(big_api: Api, big: FakeDOCR) -> None:
    res = await big_api.get("/v2/registries/example/repositories/api/tags")
    assert len(res.json["tags"]) == 20  # default per_page
    assert query(res.json["links"]["pages"]["next"]) == {"page": "2", "per_page": "20"}

    res = await big_api.get("/v2/registries/example/repositories/api/tags?per_page=500")
    total = res.json["meta"]["total"]
    assert len(res.json["tags"]) == min(total, 200)  # clamped to the maximum
    if total > 200:
        assert query(res.json["links"]["pages"]["next"])["per_page"] == "200"

    small = min(
        (r for r in big.state.registries["example"].repositories.values()), key=lambda r: len(r.manifests)
    )
    res = await big_api.get(f"/v2/registries/example/repositories/{small.name.replace('/', '%2F')}/digests")
    assert res.json["links"] == {}  # a single page has no pages object
    assert res.json["meta"]["total"] == len(small.manifests)


@pytest.mark.parametrize("bad", ["0", "-3", "abc", "1.5", "2e1"])
@pytest.mark.parametrize("param", ["per_page", "page"])
async def test_bad_paging_parameters(big_api: Api, bad: str, param: str) -> None:
    for path in (
        "/v2/registries/example/repositories/api/tags",
        "/v2/registry/example/repositories",
        "/v2/registries/example/repositoriesV2",
        "/v2/registries/example/garbage-collections",
    ):
        res = await big_api.get(f"{path}?{param}={bad}")
        assert res.status == 400, path
        assert res.json["id"] == "bad_request"


async def test_v1_repository_listing_by_name(big_api: Api, big: FakeDOCR) -> None:
    repos = await big_api.collect("/v2/registry/example/repositories?per_page=10", "repositories")
    names = [r["name"] for r in repos]
    assert names == sorted(big.state.registries["example"].repositories)
    api_repo = next(r for r in repos if r["name"] == "api")
    newest = big.state.registries["example"].repositories["api"].sorted_tags()[0]
    assert api_repo["latest_tag"]["tag"] == newest.name
    assert api_repo["tag_count"] == len(big.state.registries["example"].repositories["api"].tags)


async def test_token_pagination(big_api: Api, big: FakeDOCR) -> None:
    path = "/v2/registries/example/repositoriesV2"
    res = await big_api.get(f"{path}?per_page=10")
    assert res.json["meta"]["total"] == 45
    pages = res.json["links"]["pages"]
    assert set(pages) == {"next", "last"}
    next_q = query(pages["next"])
    assert next_q["page"] == "2"
    assert next_q["per_page"] == "10"
    assert "page_token" in next_q
    assert query(pages["last"]) == {"page": "5", "per_page": "10"}  # last carries no token

    collected = await big_api.collect(f"{path}?per_page=10", "repositories")
    assert [r["name"] for r in collected] == sorted(big.state.registries["example"].repositories)
    first = collected[0]
    repo = big.state.registries["example"].repositories[first["name"]]
    assert first["tag_count"] == len(repo.tags)
    assert first["manifest_count"] == len(repo.manifests)
    assert first["latest_manifest"]["digest"] == repo.sorted_manifests()[0].digest

    second = await big_api.get(pages["next"])
    prev = second.json["links"]["pages"]["prev"]
    assert "page_token" in query(prev)
    back = await big_api.get(prev)
    assert [r["name"] for r in back.json["repositories"]] == [r["name"] for r in res.json["repositories"]]

    # The token wins over `page`, and cursors survive deletions before them.
    token = next_q["page_token"]
    deleted = res.json["repositories"][0]["name"].replace("/", "%2F")
    assert (await big_api.delete(f"/v2/registries/example/repositories/{deleted}")).status == 204
    again = await big_api.get(f"{path}?page=4&per_page=10&page_token={token}")
    assert [r["name"] for r in again.json["repositories"]] == [r["name"] for r in second.json["repositories"]]
    assert again.json["meta"]["total"] == 44

    # Jumping by page number still works.
    res = await big_api.get(f"{path}?page=5&per_page=10")
    assert len(res.json["repositories"]) == 4
    assert set(res.json["links"]["pages"]) == {"first", "prev"}


@pytest.mark.parametrize(
    "token",
    [
        "%%%",
        "not-base64!",
        base64.urlsafe_b64encode(b"[1,2]").decode(),
        base64.urlsafe_b64encode(b'{"after": 3}').decode(),
        base64.urlsafe_b64encode(b'{"sideways": "x"}').decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
async def test_malformed_page_token(big_api: Api, token: str) -> None:
    for family in ("/v2/registries", "/v2/registry"):
        res = await big_api.get(f"{family}/example/repositoriesV2?page_token={token}")
        assert res.status == 400
        assert res.json["id"] == "bad_request"


async def test_gc_listing_is_paginated(big_api: Api, big: FakeDOCR, clock: ManualClock) -> None:
    uuids = []
    for _ in range(5):
        res = await big_api.post("/v2/registries/example/garbage-collection")
        uuids.append(res.json["garbage_collection"]["uuid"])
        clock.advance(10)
    res = await big_api.get("/v2/registries/example/garbage-collections?per_page=2")
    assert res.json["meta"]["total"] == 5
    assert set(res.json["links"]["pages"]) == {"next", "last"}
    listed = await big_api.collect(
        "/v2/registry/example/garbage-collections?per_page=2", "garbage_collections"
    )
    assert [g["uuid"] for g in listed] == uuids[::-1]  # newest first
    res = await big_api.get("/v2/registries/example/garbage-collections")
    assert res.json["links"] == {}


async def test_public_url_is_configurable(http: aiohttp.ClientSession) -> None:
    async with FakeDOCR(public_url="http://docr.test/", seed_spec=SeedSpec(repos=1, tags=30)) as fake:
        res = await Api(http, fake).get("/v2/registries/example/repositories/api/tags?per_page=5")
        assert res.json["links"]["pages"]["next"].startswith("http://docr.test/v2/registries/")


async def test_listings_are_cached_and_invalidated(clock: ManualClock) -> None:
    async with FakeDOCR(clock=clock, seed_spec=SeedSpec(repos=1, tags_per_repo=2000, untagged=0)) as fake:
        repo = fake.state.registries["example"].repositories["api"]
        first = repo.sorted_tags()
        assert repo.sorted_tags() is first  # cached
        fake.push("example", "api", "fresh")
        refreshed = repo.sorted_tags()
        assert refreshed is not first
        assert refreshed[0].name == "fresh"
        assert len(refreshed) == 2001
