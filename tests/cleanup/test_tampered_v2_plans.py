"""A hand-edited plan (format 2) whose deletions name a rule other than their repository's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from docr_async.cleanup import CleanupPlan, RetentionRules
from docr_async.cleanup.deletions import Deletion, DeletionKind
from docr_async.cleanup.verify import policy_refusal

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
RULES = RetentionRules.from_dict(
    {
        "rules": [
            {"name": "prod", "repositories": ["prod/*"], "keep_last": 1},
            {"repositories": ["dev/*"], "keep_last": 0},
        ]
    }
)
HONEST = Deletion(
    kind=DeletionKind.TAG,
    repository="prod/api",
    digest="sha256:" + "c" * 64,
    tag="v1",
    updated_at=NOW - timedelta(days=30),
    reason="rule 1 (prod): not among the newest 1",
    rule="rule 1 (prod)",
    rule_index=1,
)


def _refusal(deletion: Deletion) -> str | None:
    plan = CleanupPlan(registry="example", created_at=NOW, policy=RULES, deletions=(deletion,))
    return policy_refusal(plan, deletion)


def test_the_honest_deletion_is_allowed() -> None:
    assert _refusal(HONEST) is None


@pytest.mark.parametrize("label", ["rule 2 (dev/*)", "rule 1 (dev/*)", "", None])
def test_a_rule_label_that_is_not_the_repositorys_rule_is_refused(label: str | None) -> None:
    # The report and the audit trail would otherwise credit the deletion to a rule that did not
    # make it; the label and the index must both be the repository's rule.
    refusal = _refusal(attrs.evolve(HONEST, rule=label))
    assert refusal is not None
    assert "rule 1 (prod)" in refusal
