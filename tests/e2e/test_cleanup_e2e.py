"""The main job end to end: plan, execute and garbage-collect against FakeDOCR."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from virtual_gc import gc_in_virtual_time

from docr_async import DOCRClient, GarbageCollectionActiveError
from docr_async.cleanup import (
    CleanupExecutor,
    CleanupPlan,
    DeletionKind,
    ItemStatus,
    RetentionPolicy,
    build_plan,
    collect_garbage,
    execute_plan,
)
from docr_async.testing import FakeDOCR, FaultConfig, ReadOnlyRegistryError, SeedSpec

from .helpers import FAST_GC, client_for, other_tasks, running_fake

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


SPEC = SeedSpec(registries=1, repos=6, tags=300, untagged=20, days=120, shared_tag_ratio=0.3)
POLICY = RetentionPolicy(keep_last=5, older_than="30d", delete_untagged=True, untagged_older_than="7d")
REGISTRY = "example"


def snapshot(fake: FakeDOCR) -> dict[str, dict[str, object]]:
    """Every repository's tags (tag -> digest) and manifests (digest -> sorted tags)."""
    registry = fake.state.registry(REGISTRY)
    out: dict[str, dict[str, object]] = {}
    for name in registry.sorted_repository_names():
        repo = registry.repository(name)
        out[name] = {
            "tags": {t.name: t.manifest.digest for t in repo.sorted_tags()},
            "manifests": {m.digest: sorted(m.tags) for m in repo.sorted_manifests()},
        }
    return out


@asynccontextmanager
async def seeded(seed: int = 11, **kwargs: object) -> AsyncIterator[tuple[FakeDOCR, DOCRClient]]:
    async with (
        running_fake(seed=seed, seed_spec=SPEC, gc=FAST_GC, **kwargs) as fake,  # type: ignore[arg-type]
        client_for(fake) as client,
    ):
        yield fake, client


def expected_after(before: dict[str, dict[str, object]], plan: CleanupPlan) -> dict[str, dict[str, object]]:
    """Apply a plan to a snapshot, in memory."""
    after = {name: {"tags": dict(v["tags"]), "manifests": dict(v["manifests"])} for name, v in before.items()}  # type: ignore[call-overload]
    for d in plan.deletions:
        repo = after[d.repository]
        tags: dict[str, str] = repo["tags"]
        manifests: dict[str, list[str]] = repo["manifests"]
        if d.kind is DeletionKind.TAG:
            assert d.tag is not None
            del tags[d.tag]
            manifests[d.digest] = [t for t in manifests[d.digest] if t != d.tag]
        else:
            for tag in manifests.pop(d.digest):
                del tags[tag]
    return {name: v for name, v in after.items() if v["manifests"]}


async def test_dry_run_deletes_nothing() -> None:
    async with seeded() as (fake, client):
        before = snapshot(fake)
        plan = await build_plan(client, REGISTRY, POLICY)
        assert plan.deletions
        report = await execute_plan(client, plan, dry_run=True)
        assert snapshot(fake) == before
        assert not [r for r in fake.requests if r.method == "DELETE"]
        assert report.counts["would_delete"] == len(plan.deletions)
        assert report.ok


async def test_apply_leaves_exactly_the_planned_state_and_a_second_apply_is_a_no_op() -> None:
    async with seeded() as (fake, client):
        before = snapshot(fake)
        plan = await build_plan(client, REGISTRY, POLICY)
        kinds = {d.kind for d in plan.deletions}
        assert kinds == {DeletionKind.TAG, DeletionKind.MANIFEST}
        report = await execute_plan(client, plan, concurrency=8)
        assert report.ok, report.to_json()
        assert report.counts["deleted"] == len(plan.deletions)
        assert snapshot(fake) == expected_after(before, plan)
        # Every kept tag survived, and 'latest' is protected.
        after = snapshot(fake)
        for kept in plan.kept:
            if kept.tag is not None:
                assert kept.tag in after[kept.repository]["tags"]  # type: ignore[operator]
        second = await build_plan(client, REGISTRY, POLICY)
        assert second.deletions == ()
        assert (await execute_plan(client, second)).results == ()


async def test_interrupted_run_reports_every_item_and_a_rerun_converges() -> None:
    async with seeded() as (fake, client):
        plan = await build_plan(client, REGISTRY, POLICY)
        reference = expected_after(snapshot(fake), plan)
        ten_done = asyncio.Event()
        done = 0

        def progress(_: object) -> None:
            nonlocal done
            done += 1
            if done == 10:
                ten_done.set()

        executor = CleanupExecutor(client, plan, concurrency=4, progress=progress)
        before_tasks = other_tasks()
        task = asyncio.create_task(executor.run())
        await ten_done.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert other_tasks() == before_tasks
        report = executor.report
        assert len(report.results) == len(plan.deletions)
        counts = report.counts
        assert counts["deleted"] >= 10
        assert counts["not_attempted"] > 0
        assert sum(counts.values()) == len(plan.deletions)
        assert not report.ok
        # Rerun the same (now partly stale) plan: deletions already made count as already gone.
        rerun = await execute_plan(client, plan)
        assert rerun.ok, rerun.to_json()
        assert snapshot(fake) == reference


async def test_replanning_after_interruption_converges_to_the_same_state() -> None:
    async with seeded() as (fake, client):
        plan = await build_plan(client, REGISTRY, POLICY, now=datetime.now(UTC))
        reference = expected_after(snapshot(fake), plan)
        five_deleted = asyncio.Event()

        def progress(_: object) -> None:
            if sum(r.status is ItemStatus.DELETED for r in executor.report.results) >= 5:
                five_deleted.set()

        executor = CleanupExecutor(client, plan, concurrency=2, progress=progress)
        task = asyncio.create_task(executor.run())
        await five_deleted.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        fresh = await build_plan(client, REGISTRY, POLICY, now=plan.created_at)
        assert (await execute_plan(client, fresh)).ok
        assert snapshot(fake) == reference


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_with_15_percent_injected_faults_the_final_state_is_still_exact(seed: int) -> None:
    async with seeded() as (fake, client):
        plan = await build_plan(client, REGISTRY, POLICY)
        reference = expected_after(snapshot(fake), plan)
        fake.set_faults(
            FaultConfig(
                error_rate=0.07,
                error_statuses=(500, 502, 503),
                drop_rate=0.04,
                lost_response_rate=0.04,
                seed=seed,
            )
        )
        report = await execute_plan(client, plan, concurrency=8)
        fake.set_faults(FaultConfig())
        assert report.ok, report.to_json()
        assert report.requests.retries > 0
        statuses = {r.status for r in report.results}
        assert statuses <= {ItemStatus.DELETED, ItemStatus.ALREADY_GONE}
        assert snapshot(fake) == reference


async def test_a_manifest_that_gained_a_tag_after_planning_is_skipped() -> None:
    async with seeded() as (fake, client):
        plan = await build_plan(client, REGISTRY, POLICY)
        target = next(d for d in plan.deletions if d.kind is DeletionKind.MANIFEST)
        fake.push(REGISTRY, target.repository, "pushed-after-planning", digest=target.digest)
        report = await execute_plan(client, plan)
        result = next(r for r in report.results if r.deletion == target)
        assert result.status is ItemStatus.SKIPPED
        assert "pushed-after-planning" in (result.detail or "")
        tags = snapshot(fake)[target.repository]["tags"]
        assert "pushed-after-planning" in tags  # type: ignore[operator]


async def test_revoked_token_trips_the_circuit_breaker() -> None:
    async with seeded() as (fake, client):
        # Tag deletions only, so the first requests after the revocation are deletions.
        plan = await build_plan(client, REGISTRY, RetentionPolicy(keep_last=5, older_than="30d"))
        assert len(plan.deletions) > 10
        fake.revoke_token(fake.token)
        deletes_before = sum(r.method == "DELETE" for r in fake.requests)
        report = await CleanupExecutor(client, plan, concurrency=1, check_gc=False).run()
        deletes = sum(r.method == "DELETE" for r in fake.requests) - deletes_before
        assert deletes == 3
        assert report.stopped_reason is not None
        assert "401" in report.stopped_reason
        assert report.counts["failed"] == 3
        assert report.counts["not_attempted"] == len(plan.deletions) - 3


async def test_auth_failure_while_rechecking_manifests_raises_before_any_delete() -> None:
    from docr_async import AuthenticationError

    async with seeded() as (fake, client):
        plan = await build_plan(client, REGISTRY, POLICY)
        fake.revoke_token(fake.token)
        with pytest.raises(AuthenticationError):
            await execute_plan(client, plan)
        assert not [r for r in fake.requests if r.method == "DELETE"]


async def test_gc_after_cleanup_frees_storage_and_blocks_writes_while_running() -> None:
    async with seeded() as (fake, client):
        plan = await build_plan(client, REGISTRY, POLICY)
        assert plan.expected_freed_bytes > 0
        assert (await execute_plan(client, plan)).ok
        # The GC moves one step per read of it, in the fake's time: it is still running for the
        # checks below however slow the machine, and the wait below still sees it end.
        gc_in_virtual_time(fake)
        gc = await client.garbage_collections.start(REGISTRY)
        with pytest.raises(ReadOnlyRegistryError):
            fake.push(REGISTRY, "team/api", "during-gc")
        with pytest.raises(GarbageCollectionActiveError):
            await execute_plan(client, plan)
        with pytest.raises(GarbageCollectionActiveError):
            await collect_garbage(client, REGISTRY)
        result = await collect_garbage(client, REGISTRY, if_active="wait", poll_interval=0.01)
        assert result.waited_for_previous
        finished = await client.garbage_collections.get(gc.uuid, registry=REGISTRY)
        assert finished.status == "succeeded"
        assert (finished.freed_bytes or 0) > 0
        assert result.storage_before is not None
        assert result.storage_after is not None
        assert result.storage_after < result.storage_before
        assert result.garbage_collection.status == "succeeded"
