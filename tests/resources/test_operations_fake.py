"""Every resource call against FakeDOCR over HTTP, with a strict client.

The request-mock table (test_operations.py) checks the wire format of each call; this drives the
same 37 operations through the real HTTP stack against the project's fake, with models that reject
unknown fields, so the SDK, the fake and the spec cannot drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from e2e.helpers import client_for, running_fake
from virtual_gc import gc_in_virtual_time

from docr_async import (
    DockerCredentials,
    GarbageCollection,
    Manifest,
    PreconditionFailedError,
    Registry,
    RegistryList,
    RegistryOptions,
    Repository,
    RepositoryV2,
    Subscription,
    Tag,
)
from docr_async.testing import SeedSpec

if TYPE_CHECKING:
    from docr_async import DOCRClient

REG = "example"


async def _repo_and_digest(client: DOCRClient) -> tuple[str, str, str]:
    repo = (await client.repositories.list(REG)).items[0].name
    tag = (await client.tags.list(repo, registry=REG)).items[0]
    return repo, tag.tag, tag.manifest_digest


async def test_all_37_operations_against_the_fake_with_strict_models() -> None:
    spec = SeedSpec(registries=1, repos=3, tags=30, untagged=3, tier="professional")
    # A GC moves one status per read: the collection cancelled below is still running when cancelled.
    async with running_fake(seed=3, seed_spec=spec) as fake:
        gc_in_virtual_time(fake)
        async with client_for(fake, strict=True) as client:
            legacy = client.legacy
            # --- the legacy family while the account has one registry
            assert isinstance(await legacy.get(), Registry)
            assert isinstance(await legacy.get_subscription(), Subscription)
            assert isinstance(await legacy.update_subscription("professional"), Subscription)
            assert isinstance(await legacy.get_options(), RegistryOptions)
            assert isinstance(await legacy.docker_credentials(expiry_seconds=60), DockerCredentials)
            assert await legacy.validate_name("fresh-name") is True
            assert all(isinstance(r, Repository) for r in await legacy.repositories.list_v1(REG).collect())
            assert all(isinstance(r, RepositoryV2) for r in await legacy.repositories.list(REG).collect())
            repo, tag, _ = await _repo_and_digest(client)
            assert all(isinstance(t, Tag) for t in await legacy.tags.list(repo, registry=REG).collect())
            assert all(
                isinstance(m, Manifest) for m in await legacy.manifests.list(repo, registry=REG).collect()
            )
            await legacy.tags.delete(tag, repository=repo, registry=REG)
            oldest = (await client.manifests.list(repo, registry=REG).collect())[-1]
            await legacy.manifests.delete(oldest.digest, repository=repo, registry=REG)
            gc = await legacy.garbage_collections.start(REG)
            assert isinstance(gc, GarbageCollection)
            assert (await legacy.garbage_collections.get_active(REG)) is not None
            assert isinstance(
                await legacy.garbage_collections.cancel(gc.uuid, registry=REG), GarbageCollection
            )
            assert all(
                isinstance(g, GarbageCollection) for g in await legacy.garbage_collections.list(REG).collect()
            )
            await client.garbage_collections.wait(
                gc.uuid, registry=REG, poll_interval=0.01, raise_on_failure=False
            )

            # --- the multi-registry family
            created = await client.registries.create(
                "second", subscription_tier="professional", region="fra1"
            )
            assert created.name == "second"
            with_two = await client.registries.list()
            assert isinstance(with_two, RegistryList)
            assert {r.name for r in with_two.registries} == {REG, "second"}
            with pytest.raises(PreconditionFailedError, match="registries"):
                await legacy.get()
            assert (await client.registries.get("second")).name == "second"
            assert isinstance(
                await client.registries.docker_credentials(REG, read_write=True), DockerCredentials
            )
            assert isinstance(await client.registries.get_subscription(), Subscription)
            assert isinstance(await client.registries.update_subscription("professional"), Subscription)
            assert isinstance(await client.registries.get_options(), RegistryOptions)
            assert await client.registries.validate_name("second") is False
            repo, tag, digest = await _repo_and_digest(client)
            assert all(isinstance(t, Tag) for t in await client.tags.list(repo, registry=REG).collect())
            assert all(
                isinstance(m, Manifest) for m in await client.manifests.list(repo, registry=REG).collect()
            )
            await client.tags.delete(tag, repository=repo, registry=REG)
            await client.manifests.delete(digest, repository=repo, registry=REG)
            gc = await client.garbage_collections.start(REG)
            assert (await client.garbage_collections.get_active(REG)) is not None
            await client.garbage_collections.cancel(gc.uuid, registry=REG)
            assert await client.garbage_collections.list(REG).collect()
            await client.garbage_collections.wait(
                gc.uuid, registry=REG, poll_interval=0.01, raise_on_failure=False
            )
            last_repo = (await client.repositories.list(REG)).items[-1].name
            await client.repositories.delete(last_repo, registry=REG)
            await client.registries.delete("second")
            await legacy.delete()  # one registry again: the legacy delete works
            assert (await client.registries.list()).registries == ()
            await legacy.create("reborn", subscription_tier="basic")
            assert (await client.registries.get("reborn")).name == "reborn"

        seen = {r.operation for r in fake.requests if r.operation}
        assert len(seen) == 37, sorted(seen)
