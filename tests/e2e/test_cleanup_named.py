"""Deleting named items: a typo is an error, never a success; the executor's checks still apply."""

from __future__ import annotations

import pytest

from docr_async import DOCRClient, NotFoundError
from docr_async.cleanup import CleanupExecutor, CleanupPlan, CleanupReport, ItemStatus, plan_named_deletions

from .test_cleanup_safety import REGISTRY, deletes, digest, seed_web, tags_of, world


async def run(client: DOCRClient, plan: CleanupPlan) -> CleanupReport:
    return await CleanupExecutor(client, plan, allow_empty_repositories=True).run()


@pytest.mark.parametrize("kind", ["tags", "digests"])
async def test_a_mistyped_registry_or_repository_is_an_error_even_with_missing_ok(kind: str) -> None:
    async with world() as (fake, client, clock):
        seed_web(fake, clock)
        items = {kind: ["v1"] if kind == "tags" else [digest(2)]}
        with pytest.raises(NotFoundError, match="registry exmaple not found"):
            await plan_named_deletions(client, "team/web", registry="exmaple", missing_ok=True, **items)
        with pytest.raises(NotFoundError, match="repository team/wbe not found in registry example"):
            await plan_named_deletions(client, "team/wbe", registry=REGISTRY, missing_ok=True, **items)
        assert deletes(fake) == []


async def test_a_missing_tag_is_an_error_unless_missing_ok() -> None:
    async with world() as (fake, client, clock):
        seed_web(fake, clock)
        with pytest.raises(NotFoundError, match="tag v9 not found in example/team/web"):
            await plan_named_deletions(client, "team/web", registry=REGISTRY, tags=["v1", "v9"])
        named = await plan_named_deletions(
            client, "team/web", registry=REGISTRY, tags=["v1", "v9", "latest"], missing_ok=True
        )
        assert named.missing == ("v9",)
        report = await run(client, named.plan)
        assert report.counts["deleted"] == 2
        assert "latest" not in tags_of(fake)  # named explicitly: not protected
        assert "v1" not in tags_of(fake)


async def test_a_named_tag_moved_after_lookup_is_skipped() -> None:
    async with world() as (fake, client, clock):
        seed_web(fake, clock)
        named = await plan_named_deletions(client, "team/web", registry=REGISTRY, tags=["staging"])
        clock.advance(5)
        fresh = fake.push(REGISTRY, "team/web", "staging")
        report = await run(client, named.plan)
        [result] = report.results
        assert result.status is ItemStatus.SKIPPED
        assert tags_of(fake)["staging"] == fresh.digest


async def test_manifests_by_digest_go_with_their_tags_unless_one_was_added() -> None:
    async with world() as (fake, client, clock):
        seed_web(fake, clock)
        named = await plan_named_deletions(
            client, "team/web", registry=REGISTRY, digests=[digest(5), digest(6), digest(3)]
        )
        fake.push(REGISTRY, "team/web", "hotfix", digest=digest(3))  # a tag added after the lookup
        report = await run(client, named.plan)
        statuses = {r.deletion.digest: r.status for r in report.results}
        assert statuses == {
            digest(5): ItemStatus.DELETED,
            digest(6): ItemStatus.DELETED,
            digest(3): ItemStatus.SKIPPED,
        }
        assert "ci-1" not in tags_of(fake)
        assert tags_of(fake)["hotfix"] == digest(3)
