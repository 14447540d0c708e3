"""The cleanup stays safe while the registry changes under it (issue 13).

Another party pushes, re-tags and moves tags between planning and applying, and during applying
(at fixed points: the executor's "verified" event, progress callbacks), never with sleeps. The
clock is a ManualClock shared by FakeDOCR and the client, so verification ages are virtual.
"""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from docr_async import DOCRClient, NotFoundError, RateLimiter
from docr_async.cleanup import (
    CleanupExecutor,
    CleanupPlan,
    Deletion,
    DeletionKind,
    ItemStatus,
    PlanRefusedError,
    RetentionPolicy,
    build_plan,
    execute_plan,
)
from docr_async.testing import FakeDOCR, ManualClock, SeedSpec

from .helpers import FAST_RETRY, running_fake

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

REGISTRY = "example"
DAY = 86400.0
EMPTY = SeedSpec(registries=1, repos=0, tags=0, untagged=0)
TAGS_ONLY = RetentionPolicy(older_than="30d")
WITH_MANIFESTS = RetentionPolicy(older_than="30d", delete_untagged=True)


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


@asynccontextmanager
async def world() -> AsyncIterator[tuple[FakeDOCR, DOCRClient, ManualClock]]:
    """An empty fake and a client sharing one manual clock."""
    clock = ManualClock()
    async with running_fake(seed_spec=EMPTY, clock=clock) as fake:
        limiter = RateLimiter(enabled=False, clock=clock)
        async with DOCRClient(
            fake.token, base_url=fake.url, rate_limiter=limiter, retry=FAST_RETRY
        ) as client:
            yield fake, client, clock


def old(fake: FakeDOCR, clock: ManualClock, repo: str, tags: list[str], n: int, days: float = 60) -> None:
    fake.push(REGISTRY, repo, tags, digest=digest(n), updated_at=clock() - days * DAY)


def seed_web(fake: FakeDOCR, clock: ManualClock) -> None:
    """team/web: latest (fresh), v1/v2/staging (old, separate images), ci-1+ci-2 (old, one image), an old
    untagged image."""
    fake.push(REGISTRY, "team/web", "latest", digest=digest(1))
    old(fake, clock, "team/web", ["v1"], 2)
    old(fake, clock, "team/web", ["v2"], 3)
    old(fake, clock, "team/web", ["staging"], 4)
    old(fake, clock, "team/web", ["ci-1", "ci-2"], 5)
    old(fake, clock, "team/web", [], 6)


def now(clock: ManualClock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


def tags_of(fake: FakeDOCR, repo: str = "team/web") -> dict[str, str]:
    repository = fake.state.registry(REGISTRY).repository(repo)
    return {t.name: t.manifest.digest for t in repository.sorted_tags()}


def digests_of(fake: FakeDOCR, repo: str = "team/web") -> set[str]:
    return {m.digest for m in fake.state.registry(REGISTRY).repository(repo).sorted_manifests()}


def result_for(report: Any, key: str) -> Any:
    return next(r for r in report.results if r.deletion.key == key)


def deletes(fake: FakeDOCR) -> list[str]:
    return [r.path for r in fake.requests if r.method == "DELETE"]


async def test_a_tag_repushed_onto_a_new_image_after_planning_is_skipped() -> None:
    async with world() as (fake, client, clock):
        seed_web(fake, clock)
        plan = await build_plan(client, REGISTRY, TAGS_ONLY, now=now(clock))
        assert {d.tag for d in plan.deletions} == {"v1", "v2", "staging", "ci-1", "ci-2"}
        clock.advance(60)
        fresh = fake.push(REGISTRY, "team/web", "staging")  # CI moves staging onto a new image
        report = await execute_plan(client, plan)
        staging = result_for(report, "team/web:staging")
        assert staging.status is ItemStatus.SKIPPED
        assert "pushed again since planning" in staging.detail
        assert tags_of(fake)["staging"] == fresh.digest
        assert set(tags_of(fake)) == {"latest", "staging"}
        assert report.ok  # a skip for safety is not a failure
        assert report.counts["skipped"] == 1
        assert report.counts["deleted"] == 4


async def test_a_tag_pushed_again_onto_the_same_image_is_skipped() -> None:
    async with world() as (fake, client, clock):
        seed_web(fake, clock)
        plan = await build_plan(client, REGISTRY, TAGS_ONLY, now=now(clock))
        fake.push(REGISTRY, "team/web", "v1", digest=digest(2))  # same digest, pushed now
        report = await execute_plan(client, plan)
        v1 = result_for(report, "team/web:v1")
        assert v1.status is ItemStatus.SKIPPED
        assert "updated since planning" in v1.detail
        assert "v1" in tags_of(fake)


async def test_a_protected_tag_pushed_onto_a_planned_manifest_before_apply_saves_it() -> None:
    async with world() as (fake, client, clock):
        seed_web(fake, clock)
        plan = await build_plan(client, REGISTRY, WITH_MANIFESTS, now=now(clock))
        target = next(d for d in plan.deletions[1:] if d.kind is DeletionKind.MANIFEST and d.tags)
        fake.push(REGISTRY, "team/web", "latest", digest=target.digest)  # latest moves onto it
        report = await execute_plan(client, plan)
        result = result_for(report, target.key)
        assert result.status is ItemStatus.SKIPPED
        assert "gained tags since planning: ['latest']" in result.detail
        assert tags_of(fake)["latest"] == target.digest


@pytest.mark.parametrize("kind", ["tag", "tagged manifest", "untagged manifest"])
async def test_changes_during_apply_are_seen_by_the_next_verification(kind: str) -> None:
    """The registry changes after the first item's verification; every later item is re-verified
    (reverify_after=0) and the changed ones are skipped with their reason."""
    async with world() as (fake, client, clock):
        seed_web(fake, clock)
        plan = await build_plan(client, REGISTRY, WITH_MANIFESTS, now=now(clock))
        first = plan.deletions[0]
        victim = {
            "tag": next((d for d in plan.deletions[1:] if d.kind is DeletionKind.TAG), None),
            "tagged manifest": next(
                d for d in plan.deletions[1:] if d.kind is DeletionKind.MANIFEST and d.tags
            ),
            "untagged manifest": next(
                d for d in plan.deletions[1:] if d.kind is DeletionKind.MANIFEST and not d.tags
            ),
        }[kind]
        if victim is None:  # this policy deletes whole manifests: plan tag deletions instead
            plan = await build_plan(client, REGISTRY, TAGS_ONLY, now=now(clock))
            first, victim = plan.deletions[0], plan.deletions[-1]
        assert victim is not first

        def on_event(event: str, deletion: Deletion) -> None:
            if event == "verified" and deletion == first:
                if victim.kind is DeletionKind.TAG:
                    fake.push(REGISTRY, "team/web", victim.tag)  # moved onto a new image
                else:
                    fake.push(REGISTRY, "team/web", "latest", digest=victim.digest)  # protected tag

        executor = CleanupExecutor(client, plan, concurrency=1, reverify_after=0, on_event=on_event)
        report = await executor.run()
        result = result_for(report, victim.key)
        assert result.status is ItemStatus.SKIPPED, report.to_json()
        if victim.kind is DeletionKind.TAG:
            assert victim.tag in tags_of(fake)
        else:
            assert victim.digest in digests_of(fake)
            assert tags_of(fake)["latest"] == victim.digest
        others = [r for r in report.results if r.deletion != victim]
        assert {r.status for r in others} == {ItemStatus.DELETED}


async def test_reverification_follows_the_bound_on_the_client_clock() -> None:
    """Within the bound the cached listing is used (no request per item); past it, a fresh one."""
    async with world() as (fake, client, clock):
        fake.push(REGISTRY, "app", "latest")
        for n in range(30):
            old(fake, clock, "app", [f"v{n}"], 100 + n)
        plan = await build_plan(client, REGISTRY, TAGS_ONLY, now=now(clock))
        assert len(plan.deletions) == 30
        fake.clear_requests()

        def on_event(event: str, _: Deletion) -> None:
            clock.advance(1.0)  # every DELETE happens a virtual second after the previous one

        report = await CleanupExecutor(
            client, plan, concurrency=1, reverify_after=10, on_event=on_event
        ).run()
        listings = [r for r in fake.requests if r.method == "GET" and r.path.endswith("/tags")]
        # Verified at t=0, then whenever the listing is 10 s old: t=10, t=20.
        assert len(listings) == 3
        assert report.verification_requests == 3
        assert report.counts["deleted"] == 30
        assert report.window_median_seconds is not None
        assert report.window_median_seconds == 5.0
        assert report.window_p99_seconds == 10.0
        verification = report.to_dict()["verification"]
        assert verification["requests"] == 3
        assert verification["window_p99_seconds"] == 10.0


async def test_a_change_inside_the_window_is_not_seen_and_the_report_shows_the_window() -> None:
    """The remaining, unavoidable window: a tag moved between an item's verification and its DELETE
    is deleted by name (the API has no conditional delete). The report gives that item's window; a
    tag someone else deleted inside the window is reported already_gone with the reason."""
    async with world() as (fake, client, clock):
        seed_web(fake, clock)
        plan = await build_plan(client, REGISTRY, TAGS_ONLY, now=now(clock))

        def on_event(event: str, deletion: Deletion) -> None:
            clock.advance(0.5)
            if deletion.tag == "v1":
                fake.push(REGISTRY, "team/web", "v1")  # inside the window
            if deletion.tag == "v2":
                fake.state.delete_tag(REGISTRY, "team/web", "v2", clock())

        report = await CleanupExecutor(client, plan, concurrency=1, on_event=on_event).run()
        v1 = result_for(report, "team/web:v1")
        assert v1.status is ItemStatus.DELETED
        assert v1.window_seconds is not None
        assert v1.window_seconds > 0
        assert "v1" not in tags_of(fake)  # the new image lost its tag: the documented window
        v2 = result_for(report, "team/web:v2")
        assert v2.status is ItemStatus.ALREADY_GONE
        assert "deleted by someone else" in v2.detail
        item = next(i for i in report.to_dict()["items"] if i["key"] == "team/web:v1")
        assert item["window_seconds"] == v1.window_seconds


async def test_items_already_gone_before_verification_are_not_sent() -> None:
    async with world() as (fake, client, clock):
        seed_web(fake, clock)
        plan = await build_plan(client, REGISTRY, TAGS_ONLY, now=now(clock))
        fake.state.delete_tag(REGISTRY, "team/web", "v1", clock())
        fake.clear_requests()
        report = await execute_plan(client, plan)
        v1 = result_for(report, "team/web:v1")
        assert v1.status is ItemStatus.ALREADY_GONE
        assert "not in the tag listing" in v1.detail
        assert not [p for p in deletes(fake) if p.endswith("/tags/v1")]


def tampered(plan: CleanupPlan, **changes: Any) -> CleanupPlan:
    data = json.loads(plan.to_json())
    for key, value in changes.items():
        data[key] = value(data[key]) if callable(value) else value
    return CleanupPlan.from_json(json.dumps(data))


async def test_a_tampered_plan_never_deletes_what_its_policy_protects() -> None:
    async with world() as (fake, client, clock):
        seed_web(fake, clock)
        old(fake, clock, "team/web", ["keep-me"], 7)
        policy = RetentionPolicy(
            older_than="30d", delete_untagged=True, untagged_older_than="7d", exclude_tags=["keep-*"]
        )
        plan = await build_plan(client, REGISTRY, policy, now=now(clock))
        before = tags_of(fake)
        latest = {
            "kind": "tag",
            "repository": "team/web",
            "digest": digest(1),
            "tag": "latest",
            "updated_at": "2000-01-01T00:00:00+00:00",
        }
        excluded = {
            "kind": "tag",
            "repository": "team/web",
            "digest": digest(7),
            "tag": "keep-me",
            "updated_at": "2000-01-01T00:00:00+00:00",
        }
        manifest = {
            "kind": "manifest",
            "repository": "team/web",
            "digest": digest(1),
            "tags": ["latest"],
            "updated_at": "2000-01-01T00:00:00+00:00",
        }
        recent = {
            "kind": "manifest",
            "repository": "team/web",
            "digest": digest(1),
            "tags": [],
            "updated_at": now(clock).isoformat(),
        }
        bad = tampered(plan, deletions=lambda ds: [latest, excluded, manifest, recent, *ds])
        report = await execute_plan(client, bad)
        for key, reason in [
            ("team/web:latest", "protected under the plan's policy"),
            ("team/web:keep-me", "excluded by pattern under the plan's policy"),
        ]:
            result = result_for(report, key)
            assert result.status is ItemStatus.SKIPPED
            assert reason in result.detail
        skipped = [
            r.detail
            for r in report.results
            if r.deletion.kind is DeletionKind.MANIFEST and r.deletion.digest == digest(1)
        ]
        assert skipped == [
            "manifest carries tag latest, which is protected under the plan's policy",
            "untagged manifest newer than the plan's untagged age limit",
        ]
        assert tags_of(fake)["latest"] == digest(1)
        assert "keep-me" in tags_of(fake)
        assert not [p for p in deletes(fake) if "latest" in p or "keep-me" in p or digest(1) in p]
        assert set(before) - set(tags_of(fake)) == {"v1", "v2", "staging", "ci-1", "ci-2"}


async def test_a_plan_for_another_registry_is_refused_before_any_request() -> None:
    async with world() as (fake, client, clock):
        seed_web(fake, clock)
        plan = await build_plan(client, REGISTRY, TAGS_ONLY, now=now(clock))
        fake.clear_requests()
        with pytest.raises(PlanRefusedError, match="made for registry 'example', not 'prod'"):
            await execute_plan(client, plan, registry="prod")
        assert fake.requests == []


async def test_a_missing_registry_is_an_error_before_any_delete() -> None:
    async with world() as (fake, client, clock):
        seed_web(fake, clock)
        plan = await build_plan(client, REGISTRY, TAGS_ONLY, now=now(clock))
        typo = tampered(plan, registry="exmaple")
        with pytest.raises(NotFoundError, match="registry exmaple not found"):
            await execute_plan(client, typo)
        assert deletes(fake) == []


async def test_a_plan_that_empties_a_repository_is_refused_unless_allowed() -> None:
    async with world() as (fake, client, clock):
        seed_web(fake, clock)
        old(fake, clock, "team/api", ["a"], 20)
        old(fake, clock, "team/api", ["b"], 21)
        everything = RetentionPolicy(keep_last=0, protected_tags=())
        plan = await build_plan(client, REGISTRY, everything, now=now(clock))
        for dry_run in (True, False):
            with pytest.raises(PlanRefusedError) as caught:
                await execute_plan(client, plan, dry_run=dry_run)
            assert caught.value.repositories == ("team/api", "team/web")
            assert "--allow-empty-repositories" in str(caught.value)
        assert deletes(fake) == []
        report = await execute_plan(client, plan, allow_empty_repositories=True)
        assert report.counts["deleted"] == len(plan.deletions)
        assert tags_of(fake) == {}


async def test_a_repository_emptied_by_others_since_planning_keeps_its_last_tags() -> None:
    """The plan keeps v2; someone deletes v2 before apply: deleting v1 would now leave no tag."""
    async with world() as (fake, client, clock):
        old(fake, clock, "team/api", ["v1"], 20, days=90)
        old(fake, clock, "team/api", ["v2"], 21, days=1)
        plan = await build_plan(client, REGISTRY, RetentionPolicy(older_than="30d"), now=now(clock))
        assert [d.tag for d in plan.deletions] == ["v1"]
        fake.state.delete_tag(REGISTRY, "team/api", "v2", clock())
        report = await execute_plan(client, plan)
        v1 = result_for(report, "team/api:v1")
        assert v1.status is ItemStatus.SKIPPED
        assert "would leave team/api without any tag" in v1.detail
        assert tags_of(fake, "team/api") == {"v1": digest(20)}
