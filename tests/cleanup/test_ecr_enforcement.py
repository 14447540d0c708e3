"""The executor enforces ECR's priority rule: an image that a higher-priority rule's tag selection
matches can never be expired by a lower-priority rule (Amazon ECR User Guide, "Lifecycle policy
evaluation rules"), neither from a hand-edited plan nor after the registry changed since planning.

Expected outcomes are written from that documented rule, not from running the code.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from docr_async import DOCRClient
from docr_async.cleanup import CleanupExecutor, CleanupPlan, RetentionRules, build_plan
from docr_async.cleanup.verify import policy_refusal
from docr_async.testing import FakeDOCR, ManualClock, SeedSpec

from .test_rules_planning import ECR_DOCUMENT, NOW, REG, _ecr_deletion


def _rule(priority: int, selection: dict[str, Any]) -> dict[str, Any]:
    return {"rulePriority": priority, "selection": selection, "action": {"type": "expire"}}


def test_a_hand_edited_plan_cannot_expire_under_a_lower_rule_what_a_higher_rule_matches() -> None:
    # ECR_DOCUMENT: rule 1 keeps the newest release image ("v" prefix), rule 2 expires anything
    # older than 10 days. v1 (30 days old) is the newest release image: rule 1 matches and keeps
    # it. The file claims rule 2 expires it.
    rules = RetentionRules.from_ecr(ECR_DOCUMENT)
    forged = _ecr_deletion(tags=("v1",))
    assert forged.rule == "rule 2 (ECR priority 2)"
    plan = CleanupPlan(registry=REG, created_at=NOW, policy=rules, deletions=(forged,))
    refusal = policy_refusal(plan, forged)
    assert refusal is not None
    assert "rule 1 (ECR priority 1)" in refusal
    assert "lower-priority" in refusal


# Rule 1 keeps the 5 newest untagged images; rule 2 expires anything older than 10 days.
UNTAGGED_THEN_AGE = {
    "rules": [
        _rule(1, {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5}),
        _rule(
            2, {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 10}
        ),
    ]
}


async def test_an_image_a_higher_rule_matches_since_planning_is_skipped_not_expired() -> None:
    rules = RetentionRules.from_ecr(UNTAGGED_THEN_AGE)
    clock = ManualClock(NOW.timestamp())
    async with FakeDOCR(seed_spec=SeedSpec.empty(), clock=clock) as fake:
        fake.state.create_registry(REG, None, "professional", fake.clock(), legacy=False)
        old = fake.state.push(
            REG, "web", ["old"], fake.clock(), updated_at=(NOW - timedelta(days=30)).timestamp()
        )
        fake.state.push(REG, "web", ["fresh"], fake.clock(), updated_at=(NOW - timedelta(days=1)).timestamp())
        async with DOCRClient(token=fake.token, base_url=fake.url) as client:
            plan = await build_plan(client, REG, rules, now=NOW)
            [planned] = plan.deletions
            assert planned.tags == ("old",)
            assert planned.rule == "rule 2 (ECR priority 2)"
            # Someone removes the tag: the image is now untagged, and rule 1 (the 5 newest
            # untagged images) matches it, so ECR would keep it.
            await client.tags.delete("old", repository="web", registry=REG)
            report = await CleanupExecutor(client, plan, check_gc=False).run()
            [item] = report.results
            assert item.status.value == "skipped", item
            assert item.detail is not None
            assert "rule 1 (ECR priority 1)" in item.detail
            digests = {m.digest async for m in client.manifests.list("web", registry=REG)}
            assert planned.digest in digests
            del old
