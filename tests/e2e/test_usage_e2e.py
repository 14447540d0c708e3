"""disk_usage against FakeDOCR: repositories sharing base layers, exact unique/shared bytes, and a
freed-bytes prediction checked against what the fake's garbage collection really frees after the
cleanup (build_plan + execute_plan + collect_garbage) with the same policy."""

from __future__ import annotations

from collections import defaultdict
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from docr_async import APIStatusError, ValidationError
from docr_async.cleanup import (
    RetentionPolicy,
    RetentionRules,
    UsageReport,
    build_plan,
    collect_garbage,
    disk_usage,
    execute_plan,
)
from docr_async.models import GCType
from docr_async.testing import FakeDOCR, FaultConfig, GCConfig, SeedSpec

from .helpers import client_for, running_fake

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from docr_async import DOCRClient

REGISTRY = "example"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DAY = 86400.0

BASE_OS = ("sha256:" + "a1" * 32, 30_000_000)  # every image
BASE_RUNTIME = ("sha256:" + "b2" * 32, 12_000_000)  # api and web
SHARED_LIB = ("sha256:" + "c3" * 32, 4_000_000)  # one old api image and one old worker image


def blob(n: int, size: int) -> tuple[str, int]:
    return (f"sha256:{n:064x}", size)


def populate(fake: FakeDOCR) -> None:
    """Three repositories sharing base layers, on top of the seeded ones (which have their own)."""
    t0 = NOW.timestamp()

    def push(repo: str, tags: list[str], blobs: list[tuple[str, int]], days: float) -> None:
        fake.push(REGISTRY, repo, tags, blobs=blobs, updated_at=t0 - days * DAY)

    n = 1000
    for i, days in enumerate((90, 60, 40, 20, 5)):
        layers = [BASE_OS, BASE_RUNTIME, blob(n + i, 1_000_000 * (i + 1)), blob(n + 50 + i, 7_000)]
        if i == 0:
            layers.append(SHARED_LIB)
        push("shop/api", [f"v1.{i}"], layers, days)
    push("shop/api", ["latest"], [BASE_OS, BASE_RUNTIME, blob(n + 10, 2_500_000)], 1)
    push("shop/api", [], [BASE_OS, BASE_RUNTIME, blob(n + 11, 3_300_000)], 50)  # untagged
    for i, days in enumerate((80, 30, 3)):
        push("shop/web", [f"r{i}"], [BASE_OS, BASE_RUNTIME, blob(n + 20 + i, 800_000 + i)], days)
    # Two tags on one old manifest: one expires, the other is protected, so the manifest stays.
    push("shop/web", ["r-old", "stable"], [BASE_OS, blob(n + 30, 5_000_000)], 100)
    for i, days in enumerate((70, 45, 2)):
        layers = [BASE_OS, blob(n + 40 + i, 2_000_000)]
        if i == 0:
            layers.append(SHARED_LIB)
        push("jobs/worker", [f"w{i}"], layers, days)
    push("jobs/worker", [], [BASE_OS, blob(n + 45, 900_000)], 30)  # untagged
    # A deleted image whose blobs await garbage collection.
    gone = fake.push(REGISTRY, "tmp/scratch", ["x"], blobs=[blob(n + 60, 6_000_000)], updated_at=t0 - 9 * DAY)
    fake.state.delete_manifest(REGISTRY, "tmp/scratch", gone.digest, fake.clock())


@asynccontextmanager
async def populated(seed: int = 3) -> AsyncIterator[tuple[FakeDOCR, DOCRClient]]:
    spec = SeedSpec(registries=1, repos=3, tags=24, untagged=4, days=120)
    async with running_fake(seed=seed, seed_spec=spec, gc=GCConfig(step_seconds=0)) as fake:
        populate(fake)
        async with client_for(fake) as client:
            yield fake, client


def fake_blobs(fake: FakeDOCR) -> tuple[dict[str, int], dict[str, set[str]], int]:
    """From the fake's own state: blob sizes, the repositories referencing each, stored bytes."""
    reg = fake.state.registry(REGISTRY)
    repos_of: dict[str, set[str]] = defaultdict(set)
    size: dict[str, int] = {}
    for repo in reg.repositories.values():
        for manifest in repo.manifests.values():
            for ref in manifest.blobs:
                repos_of[ref.digest].add(repo.name)
                size[ref.digest] = ref.compressed_size_bytes
    return size, repos_of, reg.storage_usage_bytes


async def test_unique_and_shared_bytes_are_exact_and_reconcile_with_storage() -> None:
    async with populated() as (fake, client):
        size, repos_of, stored = fake_blobs(fake)
        report = await disk_usage(client, REGISTRY, now=NOW)
        by_name = {r.repository: r for r in report.repositories}
        reg = fake.state.registry(REGISTRY)
        assert set(by_name) == set(reg.repositories)
        for name, repo in reg.repositories.items():
            mine = {b.digest for m in repo.manifests.values() for b in m.blobs}
            unique = sum(size[d] for d in mine if repos_of[d] == {name})
            shared = sum(size[d] for d in mine if len(repos_of[d]) > 1)
            row = by_name[name]
            assert (row.unique_bytes, row.shared_bytes) == (unique, shared), name
            assert row.manifests == len(repo.manifests)
            assert row.tags == len(repo.tags)
            assert row.untagged_manifests == sum(1 for m in repo.manifests.values() if not m.tags)
            times = [m.updated_at for m in repo.manifests.values()]
            assert row.oldest_push is not None
            assert row.newest_push is not None
            assert row.oldest_push.timestamp() == pytest.approx(min(times))
            assert row.newest_push.timestamp() == pytest.approx(max(times))
        assert by_name["shop/api"].shared_bytes >= BASE_OS[1] + BASE_RUNTIME[1] + SHARED_LIB[1]
        assert report.shared_blob_bytes == sum(size[d] for d, r in repos_of.items() if len(r) > 1)
        assert report.referenced_bytes == sum(size.values())
        assert (
            report.referenced_bytes
            == sum(r.unique_bytes for r in report.repositories) + report.shared_blob_bytes
        )
        assert report.storage_usage_bytes == stored
        assert report.unreferenced_bytes == 6_000_000  # the deleted tmp/scratch image
        assert "awaiting garbage collection" in report.explanation()
        sizes = [r.total_bytes for r in report.repositories]
        assert sizes == sorted(sizes, reverse=True)


async def test_gc_alone_frees_what_the_report_calls_reclaimable_now() -> None:
    async with populated() as (_, client):
        gc_type = GCType.UNTAGGED_MANIFESTS_AND_UNREFERENCED_BLOBS  # one that removes untagged manifests
        report = await disk_usage(client, REGISTRY, gc_type=gc_type, now=NOW)
        assert report.reclaimable_now_bytes > 6_000_000  # untagged manifests hold unique layers too
        result = await collect_garbage(client, REGISTRY, type=gc_type, poll_interval=0.01, timeout=30)
        assert result.freed_bytes == report.reclaimable_now_bytes


POLICIES = {
    "keep-last-2": RetentionPolicy(keep_last=2),
    "keep-last-1-untagged": RetentionPolicy(keep_last=1, delete_untagged=True),
    "older-than-35d": RetentionPolicy(older_than="35d", protected_tags=("latest", "stable")),
    "only-shop": RetentionPolicy(keep_last=1, include_repositories=("shop/*",), protected_tags=("stable",)),
}


def freed_per_repository(before: dict[str, set[str]], size: dict[str, int], fake: FakeDOCR) -> dict[str, int]:
    """Bytes of blobs that left the fake's store, per repository that alone referenced them."""
    stored = fake.state.registry(REGISTRY).blobs
    out: dict[str, int] = defaultdict(int)
    for digest, repos in before.items():
        if digest not in stored and len(repos) == 1:
            out[next(iter(repos))] += size[digest]
    return out


@pytest.mark.parametrize(
    "gc_type", [GCType.UNTAGGED_MANIFESTS_AND_UNREFERENCED_BLOBS, GCType.UNREFERENCED_BLOBS_ONLY]
)
@pytest.mark.parametrize("name", list(POLICIES))
async def test_predicted_freed_bytes_equal_what_cleanup_and_gc_free(name: str, gc_type: GCType) -> None:
    policy = POLICIES[name]
    async with populated() as (fake, client):
        size, repos_of, stored_before = fake_blobs(fake)
        report = await disk_usage(client, REGISTRY, policy=policy, gc_type=gc_type, now=NOW)
        assert report.freed_bytes is not None
        assert report.unreferenced_bytes is not None
        if gc_type is GCType.UNREFERENCED_BLOBS_ONLY and not policy.delete_untagged:
            # Tag deletions leave manifests untagged; this GC keeps them, so only old garbage goes.
            assert report.freed_bytes == report.unreferenced_bytes
        else:
            assert report.freed_bytes > report.unreferenced_bytes  # the cleanup itself frees something

        plan = await build_plan(client, REGISTRY, policy, now=NOW)
        cleanup = await execute_plan(client, plan)
        assert cleanup.ok
        result = await collect_garbage(client, REGISTRY, type=gc_type, poll_interval=0.01, timeout=30)

        assert result.freed_bytes == report.freed_bytes
        assert result.storage_after == stored_before - report.freed_bytes
        actual = freed_per_repository(repos_of, size, fake)
        for row in report.repositories:
            assert row.freed_bytes == actual.get(row.repository, 0), row.repository
        gone_shared = sum(
            s
            for d, s in size.items()
            if len(repos_of[d]) > 1 and d not in fake.state.registry(REGISTRY).blobs
        )
        assert report.freed_shared_bytes == gone_shared
        # The prediction is not the sum of deleted manifests' sizes: shared layers are not freed.
        assert BASE_OS[0] in fake.state.registry(REGISTRY).blobs


async def test_policy_file_rules_predict_the_same_as_the_equivalent_policy(tmp_path: object) -> None:
    policy = RetentionPolicy(keep_last=1, delete_untagged=True)
    rules = RetentionRules.from_dict(
        {"rules": [{"repositories": ["*"], "keep_last": 1, "delete_untagged": True}]}
    )
    async with populated() as (_, client):
        by_policy = await disk_usage(client, REGISTRY, policy=policy, now=NOW)
        by_rules = await disk_usage(client, REGISTRY, policy=rules, now=NOW)
    assert isinstance(by_rules, UsageReport)
    assert by_rules.freed_bytes == by_policy.freed_bytes
    assert [r.freed_bytes for r in by_rules.repositories] == [r.freed_bytes for r in by_policy.repositories]


async def test_default_registry_and_progress_callback() -> None:
    async with populated() as (fake, client):
        seen: list[tuple[str, int, int]] = []
        report = await disk_usage(client, progress=lambda *args: seen.append(args))
        assert report.registry == REGISTRY
        total = len(fake.state.registry(REGISTRY).repositories)
        assert sorted(s[1] for s in seen) == list(range(1, total + 1))
        assert {s[2] for s in seen} == {total}
        assert {s[0] for s in seen} == set(fake.state.registry(REGISTRY).repositories)
        # Without a policy no tag listing is read (manifests carry their tags).
        assert not [r for r in fake.requests if r.path.endswith("/tags")]


async def test_bad_arguments_are_refused_before_any_request() -> None:
    async with populated() as (fake, client):
        fake.clear_requests()
        with pytest.raises(ValidationError):
            await disk_usage(client, "Not_A_Registry")
        with pytest.raises(ValueError, match="everything"):
            await disk_usage(client, REGISTRY, gc_type="everything")
        with pytest.raises(TypeError):
            await disk_usage(client, REGISTRY, policy="keep 2")  # type: ignore[arg-type]
        assert fake.requests == []


async def test_a_failing_listing_raises_a_typed_error() -> None:
    async with populated() as (fake, client):
        # The registry and the repository listing succeed; every manifest listing fails. One
        # repository at a time, so exactly one listing fails (several failing at once raise an
        # ExceptionGroup of typed errors: tests/cleanup/test_scan_failures.py).
        fake.set_faults(FaultConfig(error_rate=1.0, error_statuses=(500,), skip_first=2))
        with pytest.raises(APIStatusError) as caught:
            await disk_usage(client, REGISTRY, concurrency=1)
        assert caught.value.status == 500
        assert caught.value.request_id
        assert fake.token not in str(caught.value)
