"""Chaos: the SDK against FakeDOCR with injected faults, in compressed time.

Every fault the issue names is injected at once: 10 % 5xx (a third of them Cloudflare-style HTML
502s), 5 % dropped connections, 2 % responses lost after the request was applied, 3 % spurious 429s
with ``Retry-After: 1``, and up to 3 ms of latency jitter. Seeds are fixed, so a failure
reproduces.

Compressed time: the fake and the client's rate limiter share one virtual clock, and every sleep
the SDK makes (backoff, the shared pause after a 429, garbage-collection polling) advances that
clock instantly. A ``Retry-After: 1`` is honoured in full, in virtual seconds, and costs no wall
time. The only real waits are the few milliseconds of injected latency.

Property-based tests (hypothesis) then check that a listing of any size, at any page size,
equals the fake's state exactly and in order, with exactly one request per page.
"""

from __future__ import annotations

import asyncio
import math
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import attrs
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docr_async import DOCRClient, RateLimiter, RetryPolicy, TooManyRequestsError
from docr_async.cleanup import (
    CleanupPlan,
    DeletionKind,
    ItemStatus,
    RetentionPolicy,
    build_plan,
    collect_garbage,
    execute_plan,
)
from docr_async.testing import FakeDOCR, FaultConfig, GCConfig, RateLimitConfig, SeedSpec

from . import record

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

REGISTRY = "example"
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z: every fake of this module starts here
UNLIMITED = RateLimitConfig(hourly_limit=10**9, burst_limit=10**9)
CHAOS = FaultConfig(
    error_rate=0.10,
    error_statuses=(500, 502, 503),
    drop_rate=0.05,
    lost_response_rate=0.02,
    spurious_429_rate=0.03,
    retry_after=1,
    jitter=0.003,
)
# Twelve attempts: a request fails for good only after 12 faults in a row (p ~ 0.2**12 = 4e-9).
CHAOS_RETRY = RetryPolicy(max_attempts=12, backoff_base=0.01, backoff_max=0.5, deadline=120.0)

LISTING_SEEDS = (101, 202, 303)
CLEANUP_SEEDS = (11, 12, 13)


class VirtualTime:
    """A clock shared by the fake and the client: every SDK sleep advances it at once."""

    def __init__(self, start: float = T0) -> None:
        self.now = start
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.now += seconds
            self.slept += seconds
        await asyncio.sleep(0)


def chaos_client(fake: FakeDOCR, clock: VirtualTime, **kwargs: Any) -> DOCRClient:
    """A client whose limiter honours every pause, in the fake's virtual time."""
    kwargs.setdefault("retry", CHAOS_RETRY)
    limiter = RateLimiter(burst_limit=None, clock=clock, sleep=clock.sleep)
    return DOCRClient(fake.token, base_url=fake.url, rate_limiter=limiter, **kwargs)


@asynccontextmanager
async def virtual_fake(seed: int, spec: SeedSpec, clock: VirtualTime) -> AsyncIterator[FakeDOCR]:
    async with FakeDOCR(
        seed=seed, seed_spec=spec, rate_limits=UNLIMITED, clock=clock, gc=GCConfig(step_seconds=1.0)
    ) as fake:
        yield fake


def fault_totals(fake: FakeDOCR) -> dict[str, int]:
    return {kind: fake.fault_counts[kind] for kind in ("error", "drop", "lost_response", "spurious_429")}


def assert_client_saw_every_fault(fake: FakeDOCR, client: DOCRClient) -> None:
    """The fake's fault log and the client's counters agree exactly: nothing was swallowed."""
    faults = fault_totals(fake)
    stats = client.stats
    assert stats.rate_limited == faults["spurious_429"]
    assert stats.server_errors == faults["error"]
    assert stats.connection_errors == faults["drop"] + faults["lost_response"]
    assert stats.attempts == len(fake.requests)
    assert stats.retries == sum(faults.values())


# --------------------------------------------------------------------------------------------------
# 1. Full listings under faults: every item exactly once, in API order

LISTING_SPEC = SeedSpec(registries=1, repos=8, tags=400, untagged=40, days=60, shared_tag_ratio=0.3)
GC_RUNS = 23


def seed_gc_history(fake: FakeDOCR, clock: VirtualTime, runs: int) -> None:
    for _ in range(runs):
        fake.state.start_gc(REGISTRY, "unreferenced blobs only", clock.now)
        clock.now += 10.0  # five steps of 1 s: the collection has ended


def expected_listings(fake: FakeDOCR) -> dict[str, list[Any]]:
    reg = fake.state.registry(REGISTRY)
    names = reg.sorted_repository_names()
    out: dict[str, list[Any]] = {
        "repositories_v2": names,
        "repositories_v1": names,
        "garbage_collections": [g.uuid for g in fake.state.gc_history(REGISTRY, fake.clock())],
    }
    for name in names:
        repo = reg.repository(name)
        out[f"tags {name}"] = [(t.name, t.manifest.digest) for t in repo.sorted_tags()]
        out[f"manifests {name}"] = [(m.digest, tuple(sorted(m.tags))) for m in repo.sorted_manifests()]
    return out


async def list_everything(client: DOCRClient) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {
        "repositories_v2": [r.name async for r in client.repositories.list(REGISTRY, per_page=3)],
        "repositories_v1": [r.name async for r in client.legacy.repositories.list_v1(REGISTRY, per_page=2)],
        "garbage_collections": [g.uuid async for g in client.garbage_collections.list(REGISTRY, per_page=4)],
    }

    async def one(name: str) -> None:
        tags = client.tags.list(name, registry=REGISTRY, per_page=7)
        manifests = client.manifests.list(name, registry=REGISTRY, per_page=5)
        out[f"tags {name}"] = [(t.tag, t.manifest_digest) async for t in tags]
        out[f"manifests {name}"] = [(m.digest, m.tags) async for m in manifests]

    await asyncio.gather(*(one(name) for name in out["repositories_v2"]))
    return out


@pytest.mark.parametrize("seed", LISTING_SEEDS)
async def test_full_listings_under_faults_return_every_item_exactly_once(seed: int) -> None:
    clock = VirtualTime()
    async with virtual_fake(seed, LISTING_SPEC, clock) as fake:
        seed_gc_history(fake, clock, GC_RUNS)
        expected = expected_listings(fake)
        fake.set_faults(attrs.evolve(CHAOS, seed=seed))
        async with chaos_client(fake, clock) as client:
            got = await list_everything(client)
        fake.clear_faults()

        assert got.keys() == expected.keys()
        for key, items in expected.items():
            assert got[key] == items, key
            assert len(set(got[key])) == len(items), f"{key}: an item came twice"
        faults = fault_totals(fake)
        assert all(faults.values()), f"every kind of fault was injected: {faults}"
        assert_client_saw_every_fault(fake, client)
        assert fake.fault_counts["spurious_429"] == 0 or clock.slept >= CHAOS.retry_after
        html_502s = sum(r.status == 502 for r in fake.requests)
        assert html_502s > 0
        item_count = sum(len(v) for v in expected.values())
        assert item_count > 700
        record(
            "chaos",
            listing_runs=1,
            listing_items=item_count,
            requests=len(fake.requests),
            retries=client.stats.retries,
            virtual_seconds_slept=round(clock.slept),
            html_502=html_502s,
            **{f"fault_{k}": v for k, v in faults.items()},
        )


# --------------------------------------------------------------------------------------------------
# 2. A cleanup under faults ends in exactly the planned state, and the report accounts for every item

CLEANUP_SPEC = SeedSpec(registries=1, repos=6, tags=300, untagged=20, days=120, shared_tag_ratio=0.3)
POLICY = RetentionPolicy(keep_last=5, older_than="30d", delete_untagged=True, untagged_older_than="7d")
NOW = datetime.fromtimestamp(T0, UTC)

Snapshot = dict[str, dict[str, dict[str, Any]]]


def snapshot(fake: FakeDOCR) -> Snapshot:
    """Every repository's tags (tag -> digest) and manifests (digest -> sorted tags)."""
    reg = fake.state.registry(REGISTRY)
    out: Snapshot = {}
    for name in reg.sorted_repository_names():
        repo = reg.repository(name)
        out[name] = {
            "tags": {t.name: t.manifest.digest for t in repo.sorted_tags()},
            "manifests": {m.digest: sorted(m.tags) for m in repo.sorted_manifests()},
        }
    return out


def apply_in_memory(before: Snapshot, plan: CleanupPlan) -> Snapshot:
    after = {n: {"tags": dict(v["tags"]), "manifests": dict(v["manifests"])} for n, v in before.items()}
    for d in plan.deletions:
        repo = after[d.repository]
        if d.kind is DeletionKind.TAG:
            assert d.tag is not None
            del repo["tags"][d.tag]
            repo["manifests"][d.digest] = [t for t in repo["manifests"][d.digest] if t != d.tag]
        else:
            for tag in repo["manifests"].pop(d.digest):
                del repo["tags"][tag]
    return {n: v for n, v in after.items() if v["manifests"]}


def collect_in_memory(state: Snapshot) -> Snapshot:
    """What a garbage collection of untagged manifests leaves."""
    after = {
        n: {"tags": dict(v["tags"]), "manifests": {d: t for d, t in v["manifests"].items() if t}}
        for n, v in state.items()
    }
    return {n: v for n, v in after.items() if v["manifests"]}


def deletion_path(plan: CleanupPlan, index: int) -> str:
    d = plan.deletions[index]
    base = f"/v2/registries/{plan.registry}/repositories/{quote(d.repository, safe='')}"
    return f"{base}/tags/{d.tag}" if d.kind is DeletionKind.TAG else f"{base}/digests/{d.digest}"


async def reference_run(seed: int) -> tuple[CleanupPlan, Snapshot, Snapshot]:
    """The same seeded registry, cleaned without any fault: the plan and the state it leaves."""
    clock = VirtualTime()
    async with virtual_fake(seed, CLEANUP_SPEC, clock) as fake, chaos_client(fake, clock) as client:
        before = snapshot(fake)
        plan = await build_plan(client, REGISTRY, POLICY, now=NOW)
        report = await execute_plan(client, plan, concurrency=8)
        assert report.ok
        assert client.stats.retries == 0
        after = snapshot(fake)
        assert after == apply_in_memory(before, plan)
        await collect_garbage(client, REGISTRY, poll_interval=0.5)
        return plan, after, snapshot(fake)


@pytest.mark.parametrize("seed", CLEANUP_SEEDS)
async def test_cleanup_under_faults_ends_in_exactly_the_planned_state(seed: int) -> None:
    ref_plan, ref_after, ref_after_gc = await reference_run(seed)
    clock = VirtualTime()
    async with virtual_fake(seed, CLEANUP_SPEC, clock) as fake, chaos_client(fake, clock) as client:
        before = snapshot(fake)
        fake.set_faults(attrs.evolve(CHAOS, seed=seed))

        # Planning reads every listing under faults and still sees exactly what the reference saw.
        plan = await build_plan(client, REGISTRY, POLICY, now=NOW)
        assert plan.to_dict() == ref_plan.to_dict()
        assert {d.kind for d in plan.deletions} == {DeletionKind.TAG, DeletionKind.MANIFEST}

        mark = len(fake.requests)
        report = await execute_plan(client, plan, concurrency=8)

        # Exactly the planned state: nothing extra deleted, nothing missed.
        after = snapshot(fake)
        assert after == apply_in_memory(before, plan)
        assert after == ref_after
        for kept in plan.kept:
            if kept.tag is not None:
                assert after[kept.repository]["tags"][kept.tag] == kept.digest

        # The report accounts for every item, in plan order, and tells the truth about each one.
        assert [r.deletion for r in report.results] == list(plan.deletions)
        assert report.ok, report.to_json()
        assert sum(report.counts.values()) == len(plan.deletions)
        deletes = [r for r in fake.requests[mark:] if r.method == "DELETE"]
        planned_paths = {deletion_path(plan, i) for i in range(len(plan.deletions))}
        assert len(planned_paths) == len(plan.deletions)
        assert {r.path for r in deletes} == planned_paths, "a DELETE went to an unplanned path"
        for index, result in enumerate(report.results):
            path = deletion_path(plan, index)
            successes = sum(r.path == path and r.status == 204 for r in deletes)
            lost = sum(r.path == path and r.fault == "lost_response" for r in deletes)
            if result.status is ItemStatus.DELETED:
                assert successes == 1, path
            else:
                # Applied by a request whose response was lost; the retry found it gone (404).
                assert result.status is ItemStatus.ALREADY_GONE, result
                assert successes == 0
                assert lost >= 1
        assert report.requests.retries > 0
        delete_faults = sum(r.fault is not None for r in deletes)
        assert delete_faults > 0

        # Garbage collection under faults (reads and deletes only: a POST is never retried after a
        # 5xx or a dropped connection, by design) frees exactly the untagged manifests.
        fake.set_faults(attrs.evolve(CHAOS, seed=seed, methods=("GET", "DELETE")))
        gc_result = await collect_garbage(client, REGISTRY, poll_interval=0.5)
        assert gc_result.garbage_collection.status == "succeeded"
        assert snapshot(fake) == collect_in_memory(after) == ref_after_gc
        fake.clear_faults()

        faults = fault_totals(fake)
        verified = (
            len(plan.deletions)
            + len(plan.kept)
            + sum(len(v["tags"]) + len(v["manifests"]) for v in before.values())
        )
        record(
            "chaos",
            cleanup_runs=1,
            cleanup_planned_deletions=len(plan.deletions),
            cleanup_items_verified=verified,
            cleanup_already_gone=report.counts["already_gone"],
            cleanup_delete_faults=delete_faults,
            html_502=sum(r.status == 502 for r in fake.requests),
            requests=len(fake.requests),
            retries=client.stats.retries,
            virtual_seconds_slept=round(clock.slept),
            **{f"fault_{k}": v for k, v in faults.items()},
        )


# --------------------------------------------------------------------------------------------------
# 3. A Retry-After longer than the policy accepts surfaces as a typed 429, without waiting


async def test_a_429_longer_than_max_retry_after_is_a_typed_error_carrying_retry_after() -> None:
    clock = VirtualTime()
    async with virtual_fake(1, SeedSpec(repos=1, tags=3, untagged=0), clock) as fake:
        fake.set_faults(FaultConfig(spurious_429_rate=1.0, retry_after=3))
        async with chaos_client(fake, clock, retry=CHAOS_RETRY.with_(max_retry_after=0.5)) as client:
            with pytest.raises(TooManyRequestsError) as excinfo:
                await client.registries.get(REGISTRY)
            err = excinfo.value
            assert (err.status, err.error_id, err.retries) == (429, "too_many_requests", 0)
            assert err.retry_after == pytest.approx(3.0)
            assert err.request_id == fake.requests[-1].request_id
            assert len(fake.requests) == 1
            assert clock.slept == 0.0
            # The pause still holds for every task of the client: a second call does not hammer.
            assert isinstance(client.rate_limiter, RateLimiter)
            assert client.rate_limiter.paused_until == pytest.approx(T0 + 3.0)
        record("chaos", fault_spurious_429=fake.fault_counts["spurious_429"], typed_429_checks=1)


# --------------------------------------------------------------------------------------------------
# 4. Property-based: a listing of any size at any page size equals the fake's state, in order


PREFETCHES = (0, 1, 4)


@attrs.frozen
class Shared:
    fake: FakeDOCR
    clients: dict[int, DOCRClient]


@pytest_asyncio.fixture
async def shared() -> AsyncIterator[Shared]:
    """One fake (reseeded by every example) and one client per prefetch setting, reused by every
    example of a property test."""
    async with FakeDOCR(seed_spec=SeedSpec.empty(), rate_limits=UNLIMITED) as fake:
        clients = {
            n: DOCRClient(fake.token, base_url=fake.url, prefetch=n, rate_limiter=RateLimiter(enabled=False))
            for n in PREFETCHES
        }
        try:
            yield Shared(fake, clients)
        finally:
            for client in clients.values():
                await client.aclose()


PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY_SETTINGS
@given(
    total=st.integers(0, 300),
    untagged=st.integers(0, 30),
    per_page=st.integers(1, 200),
    prefetch=st.sampled_from(PREFETCHES),
)
async def test_tag_and_manifest_listings_equal_the_state_for_any_size(
    shared: Shared, total: int, untagged: int, per_page: int, prefetch: int
) -> None:
    fake, client = shared.fake, shared.clients[prefetch]
    spec = SeedSpec(repos=1, tags_per_repo=total, untagged_per_repo=untagged, shared_tag_ratio=0.25)
    fake.reseed(seed=total * 1000 + untagged, spec=spec)
    [name] = fake.state.registry(REGISTRY).sorted_repository_names()
    repo = fake.state.registry(REGISTRY).repository(name)
    expected_tags = [(t.name, t.manifest.digest) for t in repo.sorted_tags()]
    expected_manifests = [m.digest for m in repo.sorted_manifests()]
    assert len(expected_tags) == total

    fake.clear_requests()
    tags = [
        (t.tag, t.manifest_digest) async for t in client.tags.list(name, registry=REGISTRY, per_page=per_page)
    ]
    tag_requests = len(fake.requests)
    fake.clear_requests()
    manifests = [
        m.digest for m in await client.manifests.list(name, registry=REGISTRY, per_page=per_page).collect()
    ]
    manifest_requests = len(fake.requests)

    assert tags == expected_tags
    assert manifests == expected_manifests
    assert tag_requests == max(1, math.ceil(total / per_page))
    assert manifest_requests == max(1, math.ceil(len(expected_manifests) / per_page))
    record(
        "property", examples=1, items=len(tags) + len(manifests), requests=tag_requests + manifest_requests
    )


@PROPERTY_SETTINGS
@given(repos=st.integers(0, 300), per_page=st.integers(1, 200), prefetch=st.sampled_from(PREFETCHES))
async def test_repository_listing_equals_the_state_for_any_size(
    shared: Shared, repos: int, per_page: int, prefetch: int
) -> None:
    """The cursor-paginated V2 listing (the V1 listing pages like tags, above)."""
    fake, client = shared.fake, shared.clients[prefetch]
    fake.reseed(seed=repos, spec=SeedSpec(repos=repos, tags_per_repo=1, untagged_per_repo=0))
    expected = fake.state.registry(REGISTRY).sorted_repository_names()
    assert len(expected) == repos

    fake.clear_requests()
    names = [r.name async for r in client.repositories.list(REGISTRY, per_page=per_page)]
    requests = len(fake.requests)

    assert names == expected
    assert requests == max(1, math.ceil(repos / per_page))  # one request per page, never a duplicate
    record("property", examples=1, items=len(names), requests=requests)
