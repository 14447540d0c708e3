"""The data model and deterministic seeding."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from docr_async.testing import BlobRef, FakeDOCR, FakeDOCRError, FakeState, ManualClock, SeedSpec

from .conftest import Api

if TYPE_CHECKING:
    import aiohttp

NOW = 1_767_225_600.0
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def fingerprint(state: FakeState) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for reg in state.sorted_registries():
        rows.append((reg.name, reg.region, reg.created_at, reg.storage_usage_bytes))
        for name in reg.sorted_repository_names():
            repo = reg.repositories[name]
            rows.extend((name, t.name, t.manifest.digest, t.updated_at) for t in repo.sorted_tags())
            rows.extend(
                (name, m.digest, m.blobs, m.size_bytes, m.updated_at) for m in repo.sorted_manifests()
            )
    return rows


def test_seeding_is_deterministic() -> None:
    spec = SeedSpec(registries=2, repos=7, tags=120, untagged=9)
    one = fingerprint(FakeState.seeded(42, spec, NOW))
    assert one == fingerprint(FakeState.seeded(42, spec, NOW))
    assert one != fingerprint(FakeState.seeded(43, spec, NOW))
    assert FakeDOCR(seed=5).token == FakeDOCR(seed=5).token
    assert FakeDOCR(seed=5).token != FakeDOCR(seed=6).token
    assert re.fullmatch(r"dop_v1_[0-9a-f]{64}", FakeDOCR(seed=5).token)
    assert FakeDOCR("dop_v1_mine").token == "dop_v1_mine"


def test_seed_spec_shape() -> None:
    spec = SeedSpec(registries=3, repos=12, tags=300, untagged=20, days=10, shared_tag_ratio=0.3)
    state = FakeState.seeded(1, spec, NOW)
    assert [r.name for r in state.registries.values()] == ["example", "staging", "prod"]
    assert state.subscription.tier == "professional"
    tags = untagged = manifests = 0
    for reg in state.registries.values():
        assert len(reg.repositories) == 12
        assert {"team/api", "tools/build/base", "team/ml/trainer"} <= set(reg.repositories)
        referenced: set[str] = set()
        for repo in reg.repositories.values():
            assert repo.manifests, "every seeded repository holds a manifest"
            tags += len(repo.tags)
            manifests += len(repo.manifests)
            untagged += repo.untagged_count
            for m in repo.manifests.values():
                assert DIGEST_RE.match(m.digest)
                assert NOW - 10 * 86400 <= m.updated_at <= NOW
                assert m.compressed_size_bytes == sum(b.compressed_size_bytes for b in m.blobs)
                assert m.size_bytes > m.compressed_size_bytes
                referenced.update(b.digest for b in m.blobs)
                assert m.blobs[: len(repo.base_layers)] == repo.base_layers  # shared base layers
            for tag in repo.tags.values():
                assert tag.name in tag.manifest.tags
                assert tag.updated_at >= tag.manifest.updated_at
        assert referenced == set(reg.blobs)
        assert reg.storage_usage_bytes == sum(reg.blobs.values())
    assert tags == 300
    assert untagged == 20
    shared = [
        m
        for reg in state.registries.values()
        for r in reg.repositories.values()
        for m in r.manifests.values()
    ]
    assert any(len(m.tags) > 1 for m in shared), "some manifests carry several tags"
    assert manifests == tags - sum(len(m.tags) - 1 for m in shared if m.tags) + untagged


def test_per_repo_counts_and_validation() -> None:
    state = FakeState.seeded(
        0, SeedSpec(repos=4, tags_per_repo=6, untagged_per_repo=2, shared_tag_ratio=0), NOW
    )
    for repo in state.registries["example"].repositories.values():
        assert len(repo.tags) == 6
        assert repo.untagged_count == 2
        assert len(repo.manifests) == 8
    with pytest.raises(ValueError, match="at most 10"):
        SeedSpec(registries=11)
    with pytest.raises(ValueError, match="tier"):
        SeedSpec(tier="gold")
    with pytest.raises(ValueError, match="between 0 and 1"):
        SeedSpec(shared_tag_ratio=2)
    assert FakeState.seeded(0, SeedSpec.empty(), NOW).registries == {}


def test_tag_and_manifest_semantics() -> None:
    clock = ManualClock(NOW)
    state = FakeState.seeded(0, SeedSpec.empty(), NOW)
    state.create_registry("lab", None, "basic", NOW, legacy=False)
    m1 = state.push("lab", "a/b", ["v1", "latest"], clock.advance(1))
    m2 = state.push("lab", "a/b", ["v2"], clock.advance(1))
    repo = state.registries["lab"].repositories["a/b"]
    assert sorted(m1.tags) == ["latest", "v1"]
    # Moving a tag: `latest` now points at m2.
    state.push("lab", "a/b", ["latest"], clock.advance(1), digest=m2.digest)
    assert m1.tags == {"v1"}
    assert repo.tags["latest"].manifest is m2
    assert [t.name for t in repo.sorted_tags()] == ["latest", "v2", "v1"]
    # Deleting the last tag leaves an untagged manifest.
    state.delete_tag("lab", "a/b", "v1", clock.now)
    assert m1.digest in repo.manifests
    assert m1.tags == set()
    assert repo.untagged_count == 1
    # Deleting a manifest removes its tags.
    state.delete_manifest("lab", "a/b", m2.digest, clock.now)
    assert set(repo.tags) == set()
    with pytest.raises(FakeDOCRError, match="tag not found"):
        state.delete_tag("lab", "a/b", "v2", clock.now)
    # The last manifest gone: the repository disappears.
    state.delete_manifest("lab", "a/b", m1.digest, clock.now)
    assert "a/b" not in state.registries["lab"].repositories
    with pytest.raises(FakeDOCRError, match="repository not found"):
        state.delete_manifest("lab", "a/b", m1.digest, clock.now)
    # Blobs stay until a GC: storage still counts them.
    assert state.registries["lab"].storage_usage_bytes == sum(
        b.compressed_size_bytes for b in {*m1.blobs, *m2.blobs}
    )


def test_blobs_are_deduplicated_per_registry() -> None:
    state = FakeState.seeded(0, SeedSpec.empty(), NOW)
    state.create_registry("one", None, "professional", NOW, legacy=False)
    state.create_registry("two", None, None, NOW, legacy=False)
    blobs = [BlobRef("sha256:" + "a" * 64, 500), BlobRef("sha256:" + "c" * 64, 20)]
    state.push("one", "x", ["1"], NOW, blobs=blobs)
    state.push("one", "y", ["1"], NOW, blobs=blobs[:1])
    state.push("two", "x", ["1"], NOW, blobs=blobs)
    assert state.registries["one"].storage_usage_bytes == 520
    assert state.registries["two"].storage_usage_bytes == 520


def test_push_validation(fake: FakeDOCR) -> None:
    with pytest.raises(FakeDOCRError, match="registry does not exist"):
        fake.push("nope", "x", "1")
    with pytest.raises(FakeDOCRError, match="invalid tag"):
        fake.push("example", "x", "no spaces")
    with pytest.raises(FakeDOCRError, match="invalid digest"):
        fake.push("example", "x", "1", digest="md5:abc")
    with pytest.raises(FakeDOCRError, match="invalid repository"):
        fake.push("example", "x//y", "1")
    manifest = fake.push("example", "new/repo", ["a", "b"], layers=3)
    repo = fake.state.registries["example"].repositories["new/repo"]
    assert len(manifest.blobs) == len(repo.base_layers) + 3 + 1  # base layers, own layers, config
    assert sorted(manifest.tags) == ["a", "b"]


async def test_listings_reflect_the_model(api: Api, fake: FakeDOCR, clock: ManualClock) -> None:
    fake.push("example", "zz/new", "v9", layers=1)
    res = await api.get("/v2/registries/example/repositoriesV2?per_page=200")
    names = [r["name"] for r in res.json["repositories"]]
    assert names == sorted(names)
    entry = next(r for r in res.json["repositories"] if r["name"] == "zz/new")
    assert entry["tag_count"] == 1
    assert entry["manifest_count"] == 1
    assert entry["latest_manifest"]["tags"] == ["v9"]
    res = await api.get("/v2/registries/example/repositories/zz%2Fnew/digests")
    manifest = res.json["manifests"][0]
    assert manifest["repository"] == "zz/new"
    assert manifest["compressed_size_bytes"] == sum(b["compressed_size_bytes"] for b in manifest["blobs"])
    res = await api.get("/v2/registries/example/repositories/api/digests?per_page=200")
    stamps = [m["updated_at"] for m in res.json["manifests"]]
    assert stamps == sorted(stamps, reverse=True)


async def test_repository_with_only_untagged_manifests(http: aiohttp.ClientSession) -> None:
    async with FakeDOCR(seed_spec=SeedSpec(repos=1, tags=0, untagged=2)) as fake:
        api = Api(http, fake)
        res = await api.get("/v2/registry/example/repositories")
        assert res.json["repositories"][0]["tag_count"] == 0
        assert "latest_tag" not in res.json["repositories"][0]
        res = await api.get("/v2/registries/example/repositories/api/digests")
        assert [m["tags"] for m in res.json["manifests"]] == [[], []]


async def test_hundred_thousand_tags(http: aiohttp.ClientSession) -> None:
    async with FakeDOCR(seed_spec=SeedSpec(repos=20, tags=100_000, untagged=500)) as fake:
        api = Api(http, fake)
        state = fake.state
        assert sum(len(r.tags) for r in state.registries["example"].repositories.values()) == 100_000
        res = await api.get("/v2/registries/example/repositories/api/tags?per_page=200&page=3")
        assert res.status == 200
        assert len(res.json["tags"]) == 200
        cached = state.registries["example"].repositories["api"].sorted_tags()
        res = await api.get("/v2/registries/example/repositories/api/tags?per_page=200&page=4")
        assert state.registries["example"].repositories["api"].sorted_tags() is cached
        res = await api.get("/v2/registries/example/repositoriesV2?per_page=5")
        assert res.json["meta"]["total"] == 20
