"""Hygiene under load: no errors, no leftover task, no open connection, no ResourceWarning.

- 1,000 concurrent tasks share one client against FakeDOCR and all succeed, within the client's
  concurrency bound.
- A listing, a cleanup and a garbage-collection wait (and ``collect_garbage``) are cancelled at a
  seeded random point, with faults injected so the cancellation also lands in retries and backoff
  sleeps. Each time: no task of the SDK is left, no connection is checked out, the concurrency
  slots are all free again, the client still works (the next call is exact), and closing
  everything emits no ResourceWarning. Three rounds per scenario, with different seeds.

The whole suite runs with warnings as errors (pyproject.toml), and each scenario also records
warnings itself and collects garbage, so a leak is pinned on the scenario that caused it.
"""

from __future__ import annotations

import asyncio
import gc
import random
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from e2e.helpers import client_for, other_tasks, running_fake
from virtual_gc import gc_in_virtual_time

from docr_async.cleanup import (
    CleanupExecutor,
    DeletionKind,
    ItemResult,
    ItemStatus,
    RetentionPolicy,
    build_plan,
    collect_garbage,
    execute_plan,
)
from docr_async.testing import FakeDOCR, FaultConfig, SeedSpec

from . import record

if TYPE_CHECKING:
    from collections.abc import Coroutine, Iterator

    from aiohttp import web

    from docr_async import DOCRClient

REGISTRY = "example"
MAX_CONCURRENCY = 16
SEEDS = (1, 2, 3)
FAULTS = FaultConfig(error_rate=0.10, drop_rate=0.05, lost_response_rate=0.02, jitter=0.002)


@contextmanager
def no_resource_warnings() -> Iterator[None]:
    """Record every warning of the block, collect garbage, and fail on any ResourceWarning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        gc.collect()
    leaked = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaked == []


def assert_quiescent(client: DOCRClient, before: set[asyncio.Task[Any]]) -> None:
    """No SDK task is left, no connection is checked out, every concurrency slot is free."""
    assert other_tasks() == before
    shared = client._transport._shared
    assert shared.semaphore._value == MAX_CONCURRENCY
    session = shared.session
    if session is not None:
        connector = session.connector
        assert connector is not None
        assert len(connector._acquired) == 0  # pooled keep-alive connections are fine
        assert sum(len(conns) for conns in connector._conns.values()) <= MAX_CONCURRENCY


async def cancel_when(task: asyncio.Task[Any], reached: asyncio.Event) -> None:
    """Cancel ``task`` once ``reached`` is set, while it is still running (never hang if it ends)."""
    waiter = asyncio.ensure_future(reached.wait())
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        task.result()  # an error, if that is how it ended
        pytest.fail("the operation ended before the cancellation point")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# --------------------------------------------------------------------------------------------------
# 1. One client, 1,000 concurrent tasks


async def test_1000_concurrent_tasks_share_one_client_without_errors() -> None:
    with no_resource_warnings():
        async with running_fake(seed=21, seed_spec=SeedSpec(repos=4, tags=40, untagged=4)) as fake:
            reg = fake.state.registry(REGISTRY)
            names = reg.sorted_repository_names()
            tags = {n: [t.name for t in reg.repository(n).sorted_tags()] for n in names}
            manifests = {n: [m.digest for m in reg.repository(n).sorted_manifests()] for n in names}
            async with client_for(fake, max_concurrency=MAX_CONCURRENCY) as client:
                before = other_tasks()

                async def one(i: int) -> bool:
                    name = names[i % len(names)]
                    match i % 4:
                        case 0:
                            return (await client.registries.get(REGISTRY)).name == REGISTRY
                        case 1:
                            return [t.tag async for t in client.tags.list(name, registry=REGISTRY)] == tags[
                                name
                            ]
                        case 2:
                            manifest_page = await client.manifests.list(name, registry=REGISTRY)
                            return [m.digest for m in manifest_page.items] == manifests[name]
                        case _:
                            repository_page = await client.repositories.list(REGISTRY, per_page=2)
                            return [r.name for r in repository_page.items] == names[:2]

                tasks = [asyncio.create_task(one(i)) for i in range(1000)]
                results = await asyncio.gather(*tasks)
                assert results == [True] * 1000
                assert_quiescent(client, before)
                assert client.stats.attempts == len(fake.requests) == 1000
                assert client.stats.retries == 0
            assert client._transport._shared.session is None  # closed and released
    record("hygiene", concurrent_tasks=1000)


# --------------------------------------------------------------------------------------------------
# 2. Cancellation at a seeded random point


@pytest.mark.parametrize("seed", SEEDS)
async def test_cancelling_a_listing_leaves_nothing_behind(seed: int) -> None:
    rng = random.Random(seed)
    per_page = rng.randint(3, 9)
    total = 300
    stop_after = rng.randrange(1, total - 6 * per_page)  # beyond the prefetch window: still running
    spec = SeedSpec(repos=1, tags_per_repo=total, untagged_per_repo=0)
    with no_resource_warnings():
        async with running_fake(seed=seed, seed_spec=spec) as fake:
            [name] = fake.state.registry(REGISTRY).sorted_repository_names()
            async with client_for(fake, max_concurrency=MAX_CONCURRENCY) as client:
                before = other_tasks()
                fake.set_faults(FAULTS, seed=seed)
                reached = asyncio.Event()

                async def consume() -> None:
                    seen = 0
                    async for _ in client.tags.list(name, registry=REGISTRY, per_page=per_page):
                        seen += 1
                        if seen == stop_after:
                            reached.set()

                await cancel_when(asyncio.create_task(consume()), reached)
                assert_quiescent(client, before)
                # The client is intact: the same listing, still under faults, is exact.
                listed = await client.tags.list(name, registry=REGISTRY, per_page=per_page).collect()
                assert [t.tag for t in listed] == [
                    t.name for t in fake.state.registry(REGISTRY).repository(name).sorted_tags()
                ]
                assert_quiescent(client, before)
    record("hygiene", cancellations=1, cancelled_listing_items=stop_after)


POLICY = RetentionPolicy(keep_last=3, older_than="10d", delete_untagged=True)
CLEANUP_SPEC = SeedSpec(repos=4, tags=160, untagged=16, days=90, shared_tag_ratio=0.3)


def present(fake: FakeDOCR, result: ItemResult) -> bool:
    """Whether the planned deletion's target still exists on the server."""
    d = result.deletion
    repos = fake.state.registry(REGISTRY).repositories
    repo = repos.get(d.repository)
    if repo is None:
        return False
    if d.kind is DeletionKind.TAG:
        tag = repo.tags.get(d.tag or "")
        return tag is not None and tag.manifest.digest == d.digest
    return d.digest in repo.manifests


@pytest.mark.parametrize("seed", SEEDS)
async def test_cancelling_a_cleanup_leaves_nothing_behind_and_the_report_tells_the_truth(seed: int) -> None:
    rng = random.Random(seed)
    concurrency = 4
    with no_resource_warnings():
        async with (
            running_fake(seed=seed, seed_spec=CLEANUP_SPEC) as fake,
            client_for(fake, max_concurrency=MAX_CONCURRENCY) as client,
        ):
            plan = await build_plan(client, REGISTRY, POLICY)
            assert len(plan.deletions) > 3 * concurrency
            stop_after = rng.randrange(1, len(plan.deletions) - 2 * concurrency)
            before = other_tasks()
            fake.set_faults(FAULTS, seed=seed)
            reached = asyncio.Event()
            done: list[ItemResult] = []

            def progress(result: ItemResult) -> None:
                done.append(result)
                if len(done) == stop_after:
                    reached.set()

            executor = CleanupExecutor(client, plan, concurrency=concurrency, progress=progress)
            await cancel_when(asyncio.create_task(executor.run()), reached)
            assert_quiescent(client, before)

            # The report accounts for every item and tells the truth about each one.
            report = executor.report
            assert [r.deletion for r in report.results] == list(plan.deletions)
            counts = report.counts
            assert sum(counts.values()) == len(plan.deletions)
            assert counts["deleted"] + counts["already_gone"] >= stop_after
            assert counts["not_attempted"] > 0
            assert counts["failed"] <= concurrency  # only those in flight at the cancellation
            for result in report.results:
                if result.status in (ItemStatus.DELETED, ItemStatus.ALREADY_GONE):
                    assert not present(fake, result), result
                elif result.status is ItemStatus.NOT_ATTEMPTED:
                    assert present(fake, result), result
                else:
                    assert result.status is ItemStatus.FAILED
                    assert "interrupted" in (result.detail or "")

            # A rerun of the same plan, still under faults, converges.
            rerun = await execute_plan(client, plan, concurrency=concurrency)
            assert rerun.ok, rerun.to_json()
            assert not any(present(fake, r) for r in rerun.results)
            assert_quiescent(client, before)
    record("hygiene", cancellations=1, cleanup_items_checked=len(plan.deletions) * 2)


def poll_counter(target: int, reached: asyncio.Event) -> Any:
    """A FakeDOCR response hook that sets ``reached`` at the ``target``-th poll of the active GC."""
    polls = 0

    def hook(request: web.Request, response: web.Response, body: bytes) -> None:
        nonlocal polls
        if (
            request.method == "GET"
            and request.path.endswith("/garbage-collection")
            and response.status == 200  # the collection is active (not the pre-check, not a fault)
        ):
            polls += 1
            if polls == target:
                reached.set()

    return hook


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("what", ["wait", "collect_garbage"])
async def test_cancelling_a_gc_wait_leaves_nothing_behind(seed: int, what: str) -> None:
    rng = random.Random(seed)
    with no_resource_warnings():
        async with (
            running_fake(seed=seed, seed_spec=SeedSpec(repos=2, tags=10, untagged=3)) as fake,
            client_for(fake, max_concurrency=MAX_CONCURRENCY) as client,
        ):
            gc_in_virtual_time(fake)  # one status per successful poll: still running at the target poll
            before = other_tasks()
            fake.set_faults(FAULTS, seed=seed, methods=("GET",))
            reached = asyncio.Event()
            fake.response_hooks.append(poll_counter(rng.randint(1, 3), reached))
            gcs = client.garbage_collections
            job: Coroutine[Any, Any, object]
            if what == "wait":
                started = await gcs.start(REGISTRY)
                job = gcs.wait(started.uuid, registry=REGISTRY, poll_interval=0.005)
            else:
                job = collect_garbage(client, REGISTRY, poll_interval=0.005)
            await cancel_when(asyncio.create_task(job), reached)
            assert_quiescent(client, before)
            # Cancelling the wait does not cancel the collection; a new wait sees it finish.
            [collection] = await gcs.list(REGISTRY).collect()
            finished = await gcs.wait(collection.uuid, registry=REGISTRY, poll_interval=0.005)
            assert finished.status == "succeeded"
            assert_quiescent(client, before)
    record("hygiene", cancellations=1)
