"""Resource handles against FakeDOCR: lazy, checked, and every operation they expose.

Each test asserts on the fake's final state and on the requests it received.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from e2e.helpers import FAST_GC, client_for, running_fake

from docr_async import (
    ManifestHandle,
    RegistryGarbageCollections,
    RegistryHandle,
    RepositoryHandle,
    TagHandle,
    ValidationError,
)
from docr_async.testing import SeedSpec

if TYPE_CHECKING:
    from docr_async.testing import FakeDOCR

ONE = SeedSpec(registries=1, repos=3, tags=12, untagged=2)
SEVERAL = SeedSpec(registries=3, repos=3, tags=18, untagged=3)
DIGEST = "sha256:" + "a" * 64


@pytest.fixture(autouse=True)
def _no_registry_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIGITALOCEAN_REGISTRY", raising=False)


def sent(fake: FakeDOCR) -> list[str]:
    return [f"{r.method} {r.path}" + (f"?{r.query}" if r.query else "") for r in fake.requests]


async def test_making_handles_and_listings_sends_nothing() -> None:
    async with running_fake(seed_spec=ONE) as fake, client_for(fake) as client:
        reg = client.registry()
        repo = reg.repository("team/api")
        handles = [
            reg,
            client.registry("example"),
            repo,
            repo.tag("v1"),
            repo.manifest(DIGEST),
            reg.garbage_collections,
            reg.repositories(),
            repo.tags(),
            repo.manifests(),
            reg.garbage_collections.list(),
        ]
        assert len(handles) == 10
        assert fake.requests == []


async def test_registry_handle_get_repositories_and_credentials() -> None:
    async with running_fake(seed_spec=SEVERAL) as fake, client_for(fake) as client:
        reg = client.registry("staging")
        registry = await reg.get()
        repos = await reg.repositories(per_page=2).collect()
        credentials = await reg.docker_credentials(expiry_seconds=60, read_write=True)
        assert registry.name == "staging"
        assert [r.name for r in repos] == fake.state.registries["staging"].sorted_repository_names()
        assert {r.registry_name for r in repos} == {"staging"}
        assert "registry.digitalocean.com" in credentials.auths
        assert sent(fake)[0] == "GET /v2/registries/staging"
        assert sent(fake)[1].startswith("GET /v2/registries/staging/repositoriesV2?per_page=2")
        assert sent(fake)[-1] == (
            "GET /v2/registries/staging/docker-credentials?read_write=true&expiry_seconds=60"
        )
        assert all("/staging" in line for line in sent(fake))


async def test_the_default_registry_handle_resolves_on_first_use() -> None:
    async with running_fake(seed_spec=ONE) as fake, client_for(fake) as client:
        reg = client.registry()
        assert reg.name is None
        assert (await reg.get()).name == "example"
        assert sent(fake) == ["GET /v2/registries", "GET /v2/registries/example"]


async def test_repository_handle_lists_and_deletes() -> None:
    async with running_fake(seed_spec=ONE) as fake, client_for(fake) as client:
        repo = client.registry().repository("team/api")
        state = fake.state.registries["example"].repository("team/api")
        tags = await repo.tags(per_page=3, on_change="raise").collect()
        manifests = await repo.manifests().collect()
        assert [t.tag for t in tags] == [t.name for t in state.sorted_tags()]
        assert [m.digest for m in manifests] == [m.digest for m in state.sorted_manifests()]
        assert all(line.split("?")[0].endswith("/v2/registries/example/repositories/team%2Fapi/tags")
                   for line in sent(fake)[1:-1])  # fmt: skip
        fake.clear_requests()
        await repo.delete()
        assert "team/api" not in fake.state.registries["example"].repositories
        assert sent(fake) == ["DELETE /v2/registries/example/repositories/team%2Fapi"]


async def test_tag_and_manifest_handles_delete_exactly_what_they_name() -> None:
    async with running_fake(seed_spec=ONE) as fake, client_for(fake) as client:
        fake.push("example", "team/api", ["v1", "v1.0"])
        other = fake.push("example", "team/api", "v2")
        untagged = fake.push("example", "team/api", "scratch").digest
        fake.push("example", "team/api", "scratch")  # "scratch" moves on: `untagged` has no tag left
        repo = client.registry("example").repository("team/api")
        before = set(fake.state.registries["example"].repository("team/api").tags)

        await repo.tag("v1").delete()
        await repo.manifest(untagged).delete()

        state = fake.state.registries["example"].repository("team/api")
        assert set(state.tags) == before - {"v1"}
        assert "v1.0" in state.tags  # the manifest the tag pointed at keeps its other tag
        assert untagged not in state.manifests
        assert other.digest in state.manifests
        assert sent(fake) == [
            "DELETE /v2/registries/example/repositories/team%2Fapi/tags/v1",
            f"DELETE /v2/registries/example/repositories/team%2Fapi/digests/{untagged}",
        ]


async def test_registry_handle_delete_needs_a_named_registry() -> None:
    async with running_fake(seed_spec=SEVERAL) as fake, client_for(fake, registry="prod") as client:
        with pytest.raises(ValidationError, match="name the registry to delete"):
            await client.registry().delete()
        assert fake.requests == []
        assert "prod" in fake.state.registries
        await client.registry("staging").delete()
        assert sorted(fake.state.registries) == ["example", "prod"]
        assert sent(fake) == ["DELETE /v2/registries/staging"]


async def test_garbage_collection_handle_runs_every_operation() -> None:
    async with running_fake(seed_spec=ONE, gc=FAST_GC) as fake, client_for(fake) as client:
        gcs = client.registry().garbage_collections
        assert await gcs.active() is None
        started = await gcs.start(type="unreferenced blobs only")
        assert (await gcs.active()) is not None
        assert (await gcs.get(started.uuid)).uuid == started.uuid
        finished = await gcs.wait(started.uuid, poll_interval=0.01)
        history = await gcs.list().collect()
        second = await gcs.start()
        cancelled = await gcs.cancel(second.uuid)

        assert finished.status == "succeeded"
        assert [g.uuid for g in history] == [started.uuid]
        assert cancelled.uuid == second.uuid
        assert cancelled.status in {"cancelling", "cancelled"}
        registry = fake.state.registries["example"]
        assert [g.uuid for g in registry.garbage_collections] == [started.uuid, second.uuid]
        assert registry.garbage_collections[0].type == "unreferenced blobs only"
        assert registry.garbage_collections[1].cancelled_at is not None
        ops = [r.operation for r in fake.requests]
        assert ops.count("registries_list") == 1
        assert ops.count("registries_run_garbageCollection") == 2
        assert ops.count("registries_update_garbageCollection") == 1
        assert all("/example/" in r.path for r in fake.requests if r.operation != "registries_list")


async def test_listed_models_become_handles() -> None:
    async with running_fake(seed_spec=SEVERAL) as fake, client_for(fake) as client:
        registry = (await client.registries.list()).registries[1]
        reg = client.registry(registry)
        assert reg == client.registry(registry.name)
        repo_model = (await reg.repositories()).items[0]
        repo = reg.repository(repo_model)
        assert (repo.registry, repo.name) == (registry.name, repo_model.name)
        # An unnamed (default) handle takes the registry from the model.
        assert client.registry().repository(repo_model) == repo
        fake.push(registry.name, repo_model.name, "old")
        fake.push(registry.name, repo_model.name, "old")  # the first "old" image is now untagged
        tag_model = (await repo.tags()).items[-1]
        manifest_model = next(m for m in await repo.manifests().collect() if not m.tags)
        tag = repo.tag(tag_model)
        manifest = repo.manifest(manifest_model)
        assert (tag.registry, tag.repository, tag.name) == (registry.name, repo_model.name, tag_model.tag)
        assert manifest.digest == manifest_model.digest

        await tag.delete()
        await manifest.delete()
        state = fake.state.registries[registry.name].repository(repo_model.name)
        assert tag_model.tag not in state.tags
        assert manifest_model.digest not in state.manifests
        # Only the explicit registries.list(): the model handles named their registry, nothing was discovered.
        assert [r.operation for r in fake.requests].count("registries_list") == 1


async def test_models_of_another_registry_or_repository_are_refused() -> None:
    async with running_fake(seed_spec=SEVERAL) as fake, client_for(fake) as client:
        repo_model = (await client.repositories.list("staging")).items[0]
        tag_model = (await client.tags.list(repo_model.name, registry="staging")).items[0]
        fake.clear_requests()
        with pytest.raises(ValidationError, match="belongs to registry 'staging'"):
            client.registry("prod").repository(repo_model)
        other = client.registry("staging").repository("not/the/same")
        with pytest.raises(ValidationError, match="belongs to repository"):
            other.tag(tag_model)
        with pytest.raises(ValidationError, match="belongs to registry 'staging'"):
            client.registry("prod").repository(repo_model.name).tag(tag_model)
        assert fake.requests == []


async def test_a_pasted_reference_becomes_a_repository_handle() -> None:
    async with running_fake(seed_spec=SEVERAL) as fake, client_for(fake) as client:
        repo = client.registry().repository("registry.digitalocean.com/prod/team/api")
        assert (repo.registry, repo.name) == ("prod", "team/api")
        with pytest.raises(ValidationError, match="does not match"):
            client.registry("staging").repository("registry.digitalocean.com/prod/team/api")
        assert fake.requests == []


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda c: c.registry("Bad Name"), "registry"),
        (lambda c: c.registry().repository("Team/API"), "repository"),
        (lambda c: c.registry().repository("a//b"), "repository"),
        (lambda c: c.registry().repository("app").tag("v1/2"), "tag"),
        (lambda c: c.registry().repository("app").manifest("sha256:abc"), "digest"),
        (lambda c: c.registry().repository("app").tags(on_change="ignore"), "on_change"),
        (lambda c: c.registry().garbage_collections.list(per_page=0), "per_page"),
    ],
)
async def test_bad_names_raise_when_the_handle_is_made(make: object, field: str) -> None:
    async with running_fake(seed_spec=ONE) as fake, client_for(fake) as client:
        with pytest.raises(ValidationError) as excinfo:
            make(client)  # type: ignore[operator]
        assert excinfo.value.field == field
        assert fake.requests == []


async def test_handles_compare_by_name_and_hide_the_client() -> None:
    async with running_fake(seed_spec=ONE) as fake, client_for(fake) as client:
        copy = client.with_options(timeout=5)
        assert client.registry("example") == copy.registry("example")
        assert client.registry("example") != client.registry()
        repo = client.registry("example").repository("team/api")
        assert repo == RepositoryHandle(copy, "example", "team/api")
        assert repo.tag("v1") == TagHandle(client, "example", "team/api", "v1")
        assert repo.manifest(DIGEST) == ManifestHandle(client, "example", "team/api", DIGEST)
        assert client.registry().garbage_collections == RegistryGarbageCollections(client, None)
        assert isinstance(client.registry(), RegistryHandle)
        assert repr(repo) == "RepositoryHandle(registry='example', name='team/api')"
        assert fake.token not in repr(repo.tag("v1"))
        with pytest.raises(AttributeError):
            repo.name = "other"  # type: ignore[misc]
