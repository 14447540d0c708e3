"""build_plan with a policy file, against FakeDOCR: each repository by its own rule, plan format 2.

The per-repository decisions are property-tested in test_policy_files.py; here the property is the
registry-wide one: ``build_plan`` with rules is the union of the plans of each repository's rule,
every deletion records that rule, and nothing a rule keeps or protects is ever deleted.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docr_async import DOCRClient, ValidationError
from docr_async.cleanup import (
    CleanupPlan,
    PlanVersionError,
    RetentionPolicy,
    RetentionRules,
    build_plan,
    explain_policy,
)
from docr_async.cleanup.deletions import Deletion, DeletionKind
from docr_async.cleanup.verify import policy_refusal
from docr_async.testing import FakeDOCR, ManualClock, SeedSpec

from .test_policy_files import REPOSITORIES, TAG_NAMES, oracle_policy, oracle_rule, raw_rule

REG = "example"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

content = st.lists(
    st.tuples(
        st.lists(st.sampled_from(TAG_NAMES), max_size=3, unique=True),
        st.floats(min_value=0.01, max_value=40, allow_nan=False),
    ),
    min_size=1,
    max_size=5,
)


async def _fake_with(registry: dict[str, list[tuple[list[str], float]]], fake: FakeDOCR) -> None:
    fake.state.create_registry(REG, None, "professional", fake.clock(), legacy=False)
    for repository, images in registry.items():
        seen: set[str] = set()
        for tags, age in images:
            fresh = [t for t in tags if t not in seen]  # a tag points at one manifest
            seen.update(fresh)
            pushed = (NOW - timedelta(days=age)).timestamp()
            fake.state.push(REG, repository, fresh, fake.clock(), updated_at=pushed)


async def _check(raw_rules: list[dict[str, Any]], registry: dict[str, list[tuple[list[str], float]]]) -> None:
    rules = RetentionRules.from_dict({"rules": raw_rules})
    clock = ManualClock(NOW.timestamp())
    async with FakeDOCR(seed_spec=SeedSpec.empty(), clock=clock) as fake:
        await _fake_with(registry, fake)
        async with DOCRClient(token=fake.token, base_url=fake.url) as client:
            plan = await build_plan(client, REG, rules, now=NOW)
            expected: list[Deletion] = []
            for repository in sorted(registry):
                index = oracle_rule(raw_rules, repository)
                mine = [d for d in plan.deletions if d.repository == repository]
                if index is None:
                    assert mine == [], repository  # no rule: left alone
                    assert repository not in plan.repositories
                    continue
                tags = await client.tags.list(repository, registry=REG).collect()
                manifests = await client.manifests.list(repository, registry=REG).collect()
                own = rules.evaluate(repository, tags, manifests, NOW)
                assert own.rule_index == index
                expected += own.plan.deletions
                # Every deletion records the repository's rule; kept and protected tags survive.
                policy = oracle_policy(raw_rules[index - 1])
                for d in mine:
                    assert d.rule_index == index
                    assert d.rule == own.rule
                    for tag in (d.tag,) if d.kind is DeletionKind.TAG else d.tags:
                        assert tag is not None
                        assert policy.tag_exemption(tag) is None, (repository, tag)
            assert list(plan.deletions) == expected
            # The plan file round-trips (format 2) and means the same.
            again = CleanupPlan.from_json(plan.to_json())
            assert again.version == 2
            assert again.deletions == plan.deletions
            assert again.policy == rules


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    raw_rules=st.lists(raw_rule, min_size=1, max_size=4),
    registry=st.dictionaries(st.sampled_from(REPOSITORIES), content, min_size=1, max_size=4),
)
def test_build_plan_with_rules_is_the_union_of_each_repositorys_own_rule_plan(
    raw_rules: list[dict[str, Any]], registry: dict[str, list[tuple[list[str], float]]]
) -> None:
    asyncio.run(_check(raw_rules, registry))


async def test_explain_policy_names_every_repository_and_lists_no_repository_no_rule_selects() -> None:
    registry = {"prod/api": [(["v1"], 3.0), (["v2"], 2.0)], "misc": [(["x"], 9.0)]}
    rules = RetentionRules.from_dict({"rules": [{"repositories": "prod/*", "keep_last": 1}]})
    async with FakeDOCR(seed_spec=SeedSpec.empty(), clock=ManualClock(NOW.timestamp())) as fake:
        await _fake_with(registry, fake)
        async with DOCRClient(token=fake.token, base_url=fake.url) as client:
            explained = await explain_policy(client, REG, rules, now=NOW)
        listed = {r.path for r in fake.requests if "/tags" in r.path or "/digests" in r.path}
    assert [(r.repository, r.rule) for r in explained] == [("misc", None), ("prod/api", "rule 1 (prod/*)")]
    verdicts = {d.tag: (d.verdict.value, d.reason) for d in explained[1].decisions}
    assert verdicts == {
        "v2": ("keep", "rule 1 (prod/*): among the newest 1"),
        "v1": ("delete", "rule 1 (prod/*): not among the newest 1"),
    }
    assert not [p for p in listed if "misc" in p]  # left alone: not even listed


def test_a_version_1_plan_document_loads_exactly_as_before() -> None:
    document = {
        "version": 1,
        "registry": REG,
        "created_at": "2026-11-01T12:00:00+00:00",
        "policy": {"keep_last": 3, "protected_tags": ["latest", "stable"], "include_repositories": ["web"]},
        "deletions": [
            {
                "kind": "tag",
                "repository": "web",
                "digest": "sha256:" + "a" * 64,
                "tag": "v1",
                "updated_at": "2026-10-01T00:00:00+00:00",
                "reason": "not among the newest 3",
            }
        ],
    }
    plan = CleanupPlan.from_dict(document)
    assert plan.version == 1
    assert plan.policy == RetentionPolicy(
        keep_last=3, protected_tags=("latest", "stable"), include_repositories=("web",)
    )
    (deletion,) = plan.deletions
    assert (deletion.tag, deletion.rule, deletion.rule_index) == ("v1", None, None)
    written = json.loads(plan.to_json())
    assert written["version"] == 1
    assert "rules" not in written
    assert "rule_index" not in written["deletions"][0]


@pytest.mark.parametrize("version", [0, 3, "2", None, True])
def test_other_plan_versions_are_refused_with_a_typed_error(version: object) -> None:
    with pytest.raises(PlanVersionError) as caught:
        CleanupPlan.from_dict({"version": version, "registry": REG})
    assert isinstance(caught.value, ValidationError)
    assert caught.value.version == version
    assert "reads versions 1 and 2" in str(caught.value)


def test_a_version_2_plan_with_malformed_rules_is_refused() -> None:
    document = {"version": 2, "registry": REG, "created_at": NOW.isoformat(), "rules": {"format": "x"}}
    with pytest.raises(ValidationError, match="format must be"):
        CleanupPlan.from_dict({**document, "deletions": []})


ECR_DOCUMENT = {
    "rules": [
        {
            "rulePriority": 1,
            "selection": {
                "tagStatus": "tagged",
                "tagPrefixList": ["v"],
                "countType": "imageCountMoreThan",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "selection": {
                "tagStatus": "any",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 10,
            },
            "action": {"type": "expire"},
        },
    ]
}


def _ecr_deletion(**changes: Any) -> Deletion:
    base = Deletion(
        kind=DeletionKind.MANIFEST,
        repository="web",
        digest="sha256:" + "b" * 64,
        tags=("old",),
        updated_at=NOW - timedelta(days=30),
        reason="rule 2 (ECR priority 2): pushed more than 10 days ago",
        rule="rule 2 (ECR priority 2)",
        rule_index=1,
    )
    return attrs.evolve(base, **changes)


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({}, None),
        ({"kind": DeletionKind.TAG, "tag": "old", "tags": ()}, "never a single tag"),
        ({"tags": ("old", "latest")}, "carries tag latest, which is protected"),
        ({"rule": "rule 9 (ECR priority 9)"}, "not a rule of the ECR lifecycle policy"),
        ({"rule": "rule 1 (ECR priority 1)"}, "does not select an image with tags ['old']"),
        ({"updated_at": NOW - timedelta(days=3)}, "pushed within 10 days of the plan"),
        ({"updated_at": None}, "records no push time"),
        ({"rule_index": None}, "records no rule for it"),
        ({"repository": "other"}, "not selected by any rule"),
    ],
)
def test_the_executor_enforces_an_ecr_policy_per_item(changes: dict[str, Any], refusal: str | None) -> None:
    rules = RetentionRules.from_ecr(ECR_DOCUMENT, include_repositories=("web",))
    deletion = _ecr_deletion(**changes)
    plan = CleanupPlan(registry=REG, created_at=NOW, policy=rules, deletions=(deletion,))
    found = policy_refusal(plan, deletion)
    if refusal is None:
        assert found is None
    else:
        assert found is not None
        assert refusal in found
