"""Retention policy and planner: pure unit tests and property-based invariants."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docr_async import ValidationError
from docr_async.cleanup import (
    CleanupPlan,
    Deletion,
    DeletionKind,
    RetentionPolicy,
    parse_duration,
    plan_repository,
)
from docr_async.cleanup.plan import expected_freed_bytes
from docr_async.models import Blob, Manifest, Tag

NOW = datetime(2026, 11, 1, tzinfo=UTC)
REPO = "team/api"


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def tag(name: str, n: int, days_old: float | None) -> Tag:
    updated = None if days_old is None else NOW - timedelta(days=days_old)
    return Tag(
        repository=REPO, tag=name, manifest_digest=digest(n), updated_at=updated, compressed_size_bytes=100
    )


def manifest(n: int, tags: tuple[str, ...], days_old: float = 10.0, blobs: tuple[Blob, ...] = ()) -> Manifest:
    return Manifest(
        repository=REPO,
        digest=digest(n),
        tags=tags,
        updated_at=NOW - timedelta(days=days_old),
        compressed_size_bytes=100,
        blobs=blobs,
    )


def deleted_tags(plan_deletions: tuple[Deletion, ...]) -> set[str]:
    out: set[str] = set()
    for d in plan_deletions:
        if d.kind is DeletionKind.TAG:
            assert d.tag is not None
            out.add(d.tag)
        else:
            out.update(d.tags)
    return out


# --- durations and patterns -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 30 * 86400), ("12h", 43200), ("2w", 14 * 86400), ("1d12h", 129600), ("90s", 90), ("1.5h", 5400)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["", "30", "d30", "30 days", "-1d", "1d 2x", "1y", None, [], "1d-"])
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ValidationError):
        parse_duration(bad)  # type: ignore[arg-type]


def test_negative_timedelta_rejected() -> None:
    with pytest.raises(ValidationError, match="negative"):
        RetentionPolicy(older_than=timedelta(days=-1))


@pytest.mark.parametrize("bad", ["re:(", "re:[a-", ""])
def test_bad_patterns_raise_before_anything(bad: str) -> None:
    with pytest.raises(ValidationError, match="pattern"):
        RetentionPolicy(keep_last=1, include_tags=[bad])


def test_glob_and_regex_patterns() -> None:
    policy = RetentionPolicy(keep_last=0, include_tags=["pr-*", "re:sha-[0-9a-f]{7}"])
    assert policy.tag_exemption("pr-12") is None
    assert policy.tag_exemption("sha-abcdef0") is None
    assert policy.tag_exemption("sha-abcdef0x") == "not matched by include patterns"
    assert policy.tag_exemption("latest") == "protected"


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_keep_last_validation(bad: object) -> None:
    with pytest.raises(ValidationError, match="keep_last"):
        RetentionPolicy(keep_last=bad)


def test_a_policy_that_would_delete_every_tag_is_refused() -> None:
    with pytest.raises(ValidationError, match="deletes nothing"):
        RetentionPolicy()
    # Untagged-only policies are fine: they never touch tags.
    assert not RetentionPolicy(delete_untagged=True).touches_tags


def test_policy_description_round_trips() -> None:
    policy = RetentionPolicy(
        keep_last=3,
        older_than="30d",
        include_tags=["v*"],
        exclude_tags=["re:.*-keep"],
        protected_tags=["latest", "stable"],
        include_repositories=["team/*"],
        exclude_repositories=["team/legacy"],
        delete_untagged=True,
        untagged_older_than="7d",
    )
    assert RetentionPolicy.from_description(json.loads(json.dumps(policy.describe()))) == policy


def test_repository_filters() -> None:
    policy = RetentionPolicy(keep_last=1, include_repositories=["team/*"], exclude_repositories=["team/old*"])
    assert policy.selects_repository("team/api")
    assert not policy.selects_repository("team/old-web")
    assert not policy.selects_repository("tools/build")


# --- planning --------------------------------------------------------------------------------


def test_keep_last_and_age_combine_and_latest_is_protected() -> None:
    tags = [tag(f"v{i}", i, days_old=i * 10) for i in range(1, 7)] + [tag("latest", 6, 60)]
    manifests = [manifest(i, (f"v{i}",) + (("latest",) if i == 6 else ())) for i in range(1, 7)]
    policy = RetentionPolicy(keep_last=2, older_than="25d")
    plan = plan_repository(REPO, tags, manifests, policy, NOW)
    # v1, v2 newest kept; v3..v6 older than 25 days; v6 shares its manifest with protected latest.
    assert deleted_tags(plan.deletions) == {"v3", "v4", "v5", "v6"}
    assert all(d.kind is DeletionKind.TAG for d in plan.deletions)
    v6 = next(d for d in plan.deletions if d.tag == "v6")
    assert "shared with a kept tag" in v6.reason
    reasons = {k.tag: k.reason for k in plan.kept}
    assert reasons["latest"] == "protected"
    assert reasons["v1"] == "among the newest 2"


def test_tags_without_timestamp_are_kept() -> None:
    tags = [tag("a", 1, None), tag("b", 2, 100)]
    plan = plan_repository(
        REPO, tags, [manifest(1, ("a",)), manifest(2, ("b",))], RetentionPolicy(older_than="1d"), NOW
    )
    assert deleted_tags(plan.deletions) == {"b"}
    assert {k.tag: k.reason for k in plan.kept}["a"] == "no push time reported"


def test_manifest_with_all_tags_doomed_is_deleted_by_digest_only_with_delete_untagged() -> None:
    tags = [tag("a", 1, 100), tag("b", 1, 90), tag("c", 2, 1)]
    manifests = [manifest(1, ("a", "b")), manifest(2, ("c",))]
    without = plan_repository(REPO, tags, manifests, RetentionPolicy(older_than="30d"), NOW)
    assert sorted((d.kind, d.tag) for d in without.deletions) == [
        (DeletionKind.TAG, "a"),
        (DeletionKind.TAG, "b"),
    ]
    assert without.orphaned_digests == {digest(1)}
    with_untagged = plan_repository(
        REPO, tags, manifests, RetentionPolicy(older_than="30d", delete_untagged=True), NOW
    )
    assert len(with_untagged.deletions) == 1
    only = with_untagged.deletions[0]
    assert only.kind is DeletionKind.MANIFEST
    assert only.tags == ("a", "b")


def test_manifest_is_not_deleted_when_the_manifest_listing_shows_an_extra_tag() -> None:
    # The tag listing missed "new" (pushed between listings), but the manifest carries it.
    tags = [tag("a", 1, 100)]
    manifests = [manifest(1, ("a", "new"))]
    plan = plan_repository(
        REPO, tags, manifests, RetentionPolicy(older_than="30d", delete_untagged=True), NOW
    )
    assert [(d.kind, d.tag) for d in plan.deletions] == [(DeletionKind.TAG, "a")]


def test_untagged_manifests() -> None:
    manifests = [manifest(1, (), days_old=40), manifest(2, (), days_old=2), manifest(3, ("x",), days_old=40)]
    tags = [tag("x", 3, 40)]
    plan = plan_repository(
        REPO, tags, manifests, RetentionPolicy(delete_untagged=True, untagged_older_than="7d"), NOW
    )
    assert [(d.kind, d.digest, d.reason) for d in plan.deletions] == [
        (DeletionKind.MANIFEST, digest(1), "untagged manifest")
    ]
    assert any(k.digest == digest(2) and k.reason == "untagged, but recent" for k in plan.kept)
    # A manifest the tag listing links to is not untagged, whatever the manifest listing says.
    raced = plan_repository(
        REPO, [tag("y", 4, 1)], [manifest(4, ())], RetentionPolicy(delete_untagged=True), NOW
    )
    assert raced.deletions == ()


def test_expected_freed_bytes_counts_only_blobs_no_survivor_uses() -> None:
    shared = Blob(digest="sha256:" + "b" * 64, compressed_size_bytes=1000)
    own1 = Blob(digest="sha256:" + "c" * 64, compressed_size_bytes=10)
    own2 = Blob(digest="sha256:" + "d" * 64, compressed_size_bytes=20)
    m1 = manifest(1, (), blobs=(shared, own1))
    m2 = manifest(2, ("x",), blobs=(shared, own2))
    assert expected_freed_bytes([m1, m2], {(REPO, digest(1))}) == 10
    assert expected_freed_bytes([m1, m2], {(REPO, digest(1)), (REPO, digest(2))}) == 1030


def test_plan_file_round_trip_and_tampering() -> None:
    tags = [tag("old", 1, 100), tag("new", 2, 1)]
    repo_plan = plan_repository(
        REPO, tags, [manifest(1, ("old",)), manifest(2, ("new",))], RetentionPolicy(keep_last=1), NOW
    )
    plan = CleanupPlan(
        registry="example",
        created_at=NOW,
        policy=RetentionPolicy(keep_last=1),
        deletions=repo_plan.deletions,
        kept=repo_plan.kept,
        repositories=(REPO,),
        tags_scanned=2,
        manifests_scanned=2,
    )
    loaded = CleanupPlan.from_json(plan.to_json())
    assert loaded.deletions == plan.deletions
    assert loaded.policy == plan.policy
    data = json.loads(plan.to_json())
    data["deletions"][0]["repository"] = "../../v2/registries/other"
    with pytest.raises(ValidationError, match="repository"):
        CleanupPlan.from_dict(data)
    data = json.loads(plan.to_json())
    data["deletions"][0]["tag"] = "a/b"
    with pytest.raises(ValidationError, match="tag"):
        CleanupPlan.from_dict(data)
    with pytest.raises(ValidationError, match="version"):
        CleanupPlan.from_dict({**json.loads(plan.to_json()), "version": 99})
    with pytest.raises(ValidationError, match="not JSON"):
        CleanupPlan.from_json("{")


# --- properties ------------------------------------------------------------------------------

TAG_NAMES = st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True)


@st.composite
def repositories(draw: st.DrawFn) -> tuple[list[Tag], list[Manifest]]:
    names = draw(st.lists(TAG_NAMES, min_size=0, max_size=25, unique=True))
    manifest_count = draw(st.integers(min_value=1, max_value=12))
    tags = []
    for name in names:
        n = draw(st.integers(min_value=0, max_value=manifest_count - 1))
        age = draw(st.one_of(st.none(), st.floats(min_value=0, max_value=400)))
        tags.append(tag(name, n, age))
    manifests = [
        manifest(
            n, tuple(t.tag for t in tags if t.manifest_digest == digest(n)), days_old=draw(st.floats(0, 400))
        )
        for n in range(manifest_count)
    ]
    return tags, manifests


@st.composite
def policies(draw: st.DrawFn) -> RetentionPolicy:
    keep_last = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=8)))
    older_than = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=200).map(lambda d: f"{d}d")))
    include = draw(st.lists(st.sampled_from(["a*", "b*", "re:[a-m].*"]), max_size=2))
    if keep_last is None and older_than is None and not include:
        keep_last = 1
    return RetentionPolicy(
        keep_last=keep_last,
        older_than=older_than,
        include_tags=include,
        exclude_tags=draw(st.lists(st.sampled_from(["c*", "re:.*9"]), max_size=1)),
        protected_tags=draw(st.lists(st.sampled_from(["latest", "a", "re:z.*"]), max_size=2)),
        delete_untagged=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None)
@given(repo=repositories(), policy=policies())
def test_property_invariants(repo: tuple[list[Tag], list[Manifest]], policy: RetentionPolicy) -> None:
    tags, manifests = repo
    plan = plan_repository(REPO, tags, manifests, policy, NOW)
    gone = deleted_tags(plan.deletions)
    kept_tags = {k.tag for k in plan.kept if k.tag is not None}

    # Every tag is decided exactly once: deleted or kept.
    assert gone | kept_tags == {t.tag for t in tags}
    assert not gone & kept_tags

    # Kept, protected and excluded tags are never in the delete set.
    for t in tags:
        if policy.tag_exemption(t.tag) is not None:
            assert t.tag not in gone

    # keep-last-N holds: at least min(N, candidates) candidates survive.
    if policy.keep_last is not None:
        candidates = [t for t in tags if policy.tag_exemption(t.tag) is None]
        survivors = [t for t in candidates if t.tag not in gone]
        assert len(survivors) >= min(policy.keep_last, len(candidates))
        # ... and they are the newest ones.
        newest = sorted(
            candidates, key=lambda t: t.updated_at or datetime.max.replace(tzinfo=UTC), reverse=True
        )
        assert {t.tag for t in newest[: policy.keep_last]} <= {t.tag for t in survivors}

    # A manifest carrying a kept tag is never deleted by digest.
    for d in plan.deletions:
        if d.kind is DeletionKind.MANIFEST:
            carried = {t.tag for t in tags if t.manifest_digest == d.digest}
            assert not carried & kept_tags
            assert carried <= set(d.tags)
            if not d.tags:
                assert policy.delete_untagged

    # Age rule: nothing newer than the cutoff is deleted.
    cutoff = policy.cutoff(NOW)
    if cutoff is not None:
        for t in tags:
            if t.tag in gone:
                assert t.updated_at is not None
                assert t.updated_at < cutoff

    # No request is planned twice.
    keys = [d.key for d in plan.deletions]
    assert len(keys) == len(set(keys))
