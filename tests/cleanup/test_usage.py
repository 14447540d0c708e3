"""compute_usage: pure unit tests on hand-built listings (no I/O)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from docr_async.cleanup import RepositoryListing, RetentionPolicy, RetentionRules, compute_usage
from docr_async.models import Blob, GCType, Manifest, Tag

FULL_GC = GCType.UNTAGGED_MANIFESTS_AND_UNREFERENCED_BLOBS
"""The GC these tests predict for unless they say otherwise: it also removes untagged manifests."""

NOW = datetime(2026, 11, 1, tzinfo=UTC)
BASE = Blob(digest="sha256:" + "0" * 64, compressed_size_bytes=1000)


def b(n: int, size: int) -> Blob:
    return Blob(digest=f"sha256:{n:064x}", compressed_size_bytes=size)


def m(repo: str, n: int, tags: tuple[str, ...], blobs: tuple[Blob, ...], days: float = 10) -> Manifest:
    return Manifest(
        repository=repo,
        digest=f"sha256:{n + 10_000:064x}",
        tags=tags,
        blobs=blobs,
        updated_at=NOW - timedelta(days=days),
        compressed_size_bytes=sum(x.compressed_size_bytes or 0 for x in blobs),
    )


def tags_of(repo: str, manifests: list[Manifest]) -> list[Tag]:
    return [
        Tag(repository=repo, tag=t, manifest_digest=x.digest, updated_at=x.updated_at)
        for x in manifests
        for t in x.tags
    ]


def listing(repo: str, manifests: list[Manifest], *, with_tags: bool = True) -> RepositoryListing:
    return RepositoryListing(
        name=repo, manifests=manifests, tags=tags_of(repo, manifests) if with_tags else []
    )


def two_repos() -> list[RepositoryListing]:
    # api: v1 (old) and v2 share BASE with web; api's v1 and v2 share layer 1.
    api = [
        m("api", 1, ("v1",), (BASE, b(1, 100), b(2, 10)), days=40),
        m("api", 2, ("v2",), (BASE, b(1, 100), b(3, 20)), days=5),
        m("api", 3, (), (BASE, b(4, 300)), days=30),  # untagged, its layer 4 is its own
    ]
    web = [
        m("web", 4, ("r1",), (BASE, b(5, 50)), days=60),
        m("web", 5, (), (b(2, 10), b(6, 7)), days=20),  # untagged, shares layer 2 with api v1
    ]
    return [listing("api", api), listing("web", web)]


def test_unique_and_shared_bytes_count_each_blob_once() -> None:
    report = compute_usage("example", two_repos(), storage_usage_bytes=2000, gc_type=FULL_GC, now=NOW)
    rows = {r.repository: r for r in report.repositories}
    assert (rows["api"].unique_bytes, rows["api"].shared_bytes) == (100 + 20 + 300, 1000 + 10)
    assert (rows["web"].unique_bytes, rows["web"].shared_bytes) == (50 + 7, 1000 + 10)
    assert report.shared_blob_bytes == 1010
    assert report.referenced_bytes == 420 + 57 + 1010
    assert report.unreferenced_bytes == 2000 - 1487
    assert (rows["api"].tags, rows["api"].manifests, rows["api"].untagged_manifests) == (2, 3, 1)
    assert rows["api"].oldest_push == NOW - timedelta(days=40)
    assert rows["api"].newest_push == NOW - timedelta(days=5)
    # Untagged bytes: blobs only the repository's untagged manifests reference.
    assert rows["api"].untagged_bytes == 300
    assert rows["web"].untagged_bytes == 7  # layer 2 is still used by api's tagged v1
    assert report.untagged_shared_bytes == 0
    assert report.reclaimable_now_bytes == 307 + 513
    assert [r.repository for r in report.repositories] == ["api", "web"]  # largest first
    assert rows["api"].freed_bytes is None
    assert report.freed_bytes is None


def test_policy_frees_only_blobs_no_surviving_manifest_references() -> None:
    policy = RetentionPolicy(keep_last=1, include_repositories=("api",))
    report = compute_usage(
        "example", two_repos(), storage_usage_bytes=1487, policy=policy, gc_type=FULL_GC, now=NOW
    )
    rows = {r.repository: r for r in report.repositories}
    # v1 goes; its layer 1 is kept by v2, BASE by everyone; layer 2 is also in web's untagged
    # manifest, which the default GC removes: so layer 2 is freed, as a shared blob.
    # The untagged api manifest (layer 4) and web's untagged layer 6 go with the GC.
    assert rows["api"].freed_bytes == 300
    assert rows["web"].freed_bytes == 7
    assert report.freed_shared_bytes == 10
    assert report.freed_bytes == 317


def test_gc_type_changes_the_prediction() -> None:
    policy = RetentionPolicy(keep_last=1, include_repositories=("api",))
    blobs_only = compute_usage(
        "example",
        two_repos(),
        storage_usage_bytes=1600,
        policy=policy,
        gc_type="unreferenced blobs only",
        now=NOW,
    )
    # Untagged manifests stay with this GC type: only the old garbage (113 bytes) goes.
    assert blobs_only.freed_bytes == 113
    assert all(r.freed_bytes == 0 for r in blobs_only.repositories)
    untagged_policy = RetentionPolicy(keep_last=1, delete_untagged=True)
    deleting = compute_usage(
        "example",
        two_repos(),
        storage_usage_bytes=1487,
        policy=untagged_policy,
        gc_type=GCType.UNREFERENCED_BLOBS_ONLY,
        now=NOW,
    )
    # The cleanup deletes v1 (all its tags expire) and both untagged manifests by digest.
    assert deleting.freed_bytes == 300 + 7 + 10
    manifests_only = compute_usage(
        "example",
        two_repos(),
        storage_usage_bytes=1600,
        policy=policy,
        gc_type="untagged manifests only",
        now=NOW,
    )
    assert manifests_only.freed_bytes == 0
    assert manifests_only.reclaimable_now_bytes == 0


def test_a_tag_from_the_tag_listing_keeps_a_manifest_tagged() -> None:
    manifest = m("api", 1, (), (b(1, 100),))  # the manifest listing says untagged ...
    tag = Tag(repository="api", tag="new", manifest_digest=manifest.digest, updated_at=NOW)
    report = compute_usage(
        "example",
        [RepositoryListing(name="api", manifests=[manifest], tags=[tag])],  # ... the tag listing knows better
        storage_usage_bytes=100,
        policy=RetentionPolicy(delete_untagged=True),
        now=NOW,
    )
    row = report.repositories[0]
    assert (row.untagged_manifests, row.untagged_bytes, row.freed_bytes, row.tags) == (0, 0, 0, 1)


def test_a_manifest_listed_without_blobs_counts_its_own_size() -> None:
    bare = Manifest(repository="api", digest="sha256:" + "f" * 64, tags=("v1",), compressed_size_bytes=555)
    report = compute_usage(
        "example", [RepositoryListing(name="api", manifests=[bare])], storage_usage_bytes=555
    )
    row = report.repositories[0]
    assert (row.unique_bytes, row.manifests_without_blobs) == (555, 1)
    assert report.unreferenced_bytes == 0
    assert "nothing awaits" in report.explanation()


def test_a_stale_storage_figure_is_explained_and_never_counted_as_freed() -> None:
    report = compute_usage(
        "example", two_repos(), storage_usage_bytes=1000, policy=RetentionPolicy(keep_last=1), now=NOW
    )
    assert report.unreferenced_bytes == 1000 - 1487
    assert "lags" in report.explanation()
    assert report.freed_bytes == sum(r.freed_bytes or 0 for r in report.repositories) + (
        report.freed_shared_bytes or 0
    )
    unknown = compute_usage("example", two_repos(), storage_usage_bytes=None, now=NOW)
    assert unknown.unreferenced_bytes is None
    assert "no storage_usage_bytes" in unknown.explanation()


def test_policy_rules_apply_per_repository() -> None:
    rules = RetentionRules.from_dict({"rules": [{"repositories": ["web"], "keep_last": 0}]})
    report = compute_usage(
        "example", two_repos(), storage_usage_bytes=1487, policy=rules, gc_type=FULL_GC, now=NOW
    )
    rows = {r.repository: r for r in report.repositories}
    # web loses r1 (keep_last 0), so layer 5 goes; api's untagged manifest still goes with the GC.
    assert rows["web"].freed_bytes == 50 + 7
    assert rows["api"].freed_bytes == 300
    assert report.policy is not None
    assert report.policy["format"] == "docr-rules"


def test_json_form_is_plain_and_reconciles() -> None:
    report = compute_usage(
        "example",
        two_repos(),
        storage_usage_bytes=2000,
        policy=RetentionPolicy(keep_last=1),
        gc_type=FULL_GC,
        now=NOW,
    )
    data = json.loads(json.dumps(report.to_dict()))
    totals = data["totals"]
    assert totals["unique_bytes"] + totals["shared_blob_bytes"] == totals["referenced_bytes"]
    assert totals["referenced_bytes"] + totals["unreferenced_bytes"] == totals["storage_usage_bytes"]
    assert data["prediction"]["freed_bytes"] == report.freed_bytes
    assert "untagged manifests and unreferenced blobs" in data["prediction"]["assumes"]
    assert data["repositories"][0]["oldest_push"].endswith("Z")


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="everything"):
        compute_usage("example", [], storage_usage_bytes=0, gc_type="everything")
    with pytest.raises(TypeError, match="RetentionPolicy"):
        compute_usage("example", [], storage_usage_bytes=0, policy={"keep_last": 1})  # type: ignore[arg-type]
