"""ECR lifecycle policies: semantics from AWS's public documentation, and validation.

The scenarios and their expected outcomes are those of the Amazon ECR User Guide, "Examples of
lifecycle policies" (lifecycle_policy_examples) and "Lifecycle policy evaluation rules"
(LifecyclePolicies / lifecycle_policy_parameters). Each test names the example it follows; the
expected results are the "Result:" lines of the documentation, written here by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docr_async import ValidationError
from docr_async.cleanup.decisions import PolicyFileError, RepositoryDecisions, Verdict
from docr_async.cleanup.ecr import is_ecr_document
from docr_async.cleanup.plan import DeletionKind
from docr_async.cleanup.rules import RetentionRules
from docr_async.models import Manifest, Tag

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
REPO = "team/web"


def image(letter: str, tags: list[str], pushed: timedelta | None) -> Manifest:
    """Image <letter> of a documented example: its digest ends with the letter's code."""
    return Manifest(
        repository=REPO,
        digest=f"sha256:{ord(letter):064x}",
        tags=tuple(tags),
        updated_at=None if pushed is None else NOW - pushed,
        compressed_size_bytes=1000,
    )


def letter(digest: str) -> str:
    return chr(int(digest.removeprefix("sha256:"), 16))


def tag_listing(manifests: list[Manifest]) -> list[Tag]:
    return [
        Tag(repository=REPO, tag=t, manifest_digest=m.digest, updated_at=m.updated_at)
        for m in manifests
        for t in m.tags
    ]


def rule(priority: int, selection: dict[str, Any], action: str = "expire") -> dict[str, Any]:
    return {
        "rulePriority": priority,
        "description": f"Rule {priority}",
        "selection": selection,
        "action": {"type": action},
    }


def tagged(kind: str, values: list[str], count: dict[str, Any]) -> dict[str, Any]:
    return {"tagStatus": "tagged", kind: values, **count}


def keep(n: int) -> dict[str, Any]:
    return {"countType": "imageCountMoreThan", "countNumber": n}


def days(n: int) -> dict[str, Any]:
    return {"countType": "sinceImagePushed", "countUnit": "days", "countNumber": n}


def run(document: dict[str, Any], manifests: list[Manifest], **kwargs: Any) -> RepositoryDecisions:
    rules = RetentionRules.from_dict(document, **kwargs)
    return rules.evaluate(REPO, tag_listing(manifests), manifests, NOW)


def expired(result: RepositoryDecisions) -> set[str]:
    letters = {letter(d.digest) for d in result.decisions if d.deleted}
    assert letters == {letter(d.digest) for d in result.plan.deletions}
    return letters


def as_list(kind: str, prefixes: list[str]) -> list[str]:
    """The same selection as a prefix list or as the equivalent pattern list (``prod`` -> ``prod*``)."""
    return prefixes if kind == "tagPrefixList" else [p + "*" for p in prefixes]


LIST_KINDS = pytest.mark.parametrize("kind", ["tagPrefixList", "tagPatternList"])

# --- the documented examples ------------------------------------------------------------------


def test_filtering_on_image_age_expires_only_selected_images_older_than_the_limit() -> None:
    # "Filtering on image age": tagPatternList ["prod*"], sinceImagePushed 14 days.
    doc = {"rules": [rule(1, tagged("tagPatternList", ["prod*"], days(14)))]}
    images = [
        image("A", ["prod-1"], timedelta(days=20)),
        image("B", ["prod-2"], timedelta(days=10)),
        image("C", ["dev-1"], timedelta(days=30)),  # not selected: kept whatever its age
    ]
    result = run(doc, images)
    assert expired(result) == {"A"}
    reasons = {letter(d.digest): d.reason for d in result.decisions}
    assert reasons["A"] == "rule 1 (ECR priority 1): pushed more than 14 days ago"
    assert reasons["B"] == "rule 1 (ECR priority 1): pushed within the last 14 days"
    assert reasons["C"] == "no rule of the ECR lifecycle policy selects it"


def test_filtering_on_image_count_keeps_one_untagged_image() -> None:
    # "Filtering on image count": untagged, imageCountMoreThan 1 -> keep only the newest untagged image.
    doc = {"rules": [rule(1, {"tagStatus": "untagged", **keep(1)})]}
    images = [
        image("A", [], timedelta(days=3)),
        image("B", [], timedelta(days=2)),
        image("C", [], timedelta(days=1)),
        image("D", ["v1"], timedelta(days=9)),
    ]
    assert expired(run(doc, images)) == {"A", "B"}


EXAMPLE_MULTIPLE_RULES = [
    image("A", ["beta-1", "prod-1"], timedelta(days=10)),
    image("B", ["beta-2", "prod-2"], timedelta(days=9)),
    image("C", ["beta-3"], timedelta(days=8)),
]


@LIST_KINDS
def test_multiple_rules_example_a_lower_priority_rule_cannot_expire_what_a_higher_one_matched(
    kind: str,
) -> None:
    # "Filtering on multiple rules", Example A: Rule 1 prod (keep 1), Rule 2 beta (keep 1).
    # Rule 2 would mark A and B, but B matched Rule 1 and is skipped. Result: Image A is expired.
    doc = {
        "rules": [
            rule(1, tagged(kind, as_list(kind, ["prod"]), keep(1))),
            rule(2, tagged(kind, as_list(kind, ["beta"]), keep(1))),
        ]
    }
    result = run(doc, EXAMPLE_MULTIPLE_RULES)
    assert expired(result) == {"A"}
    by = {letter(d.digest): d for d in result.decisions}
    assert by["B"].rule == "rule 1 (ECR priority 1)"  # decided by rule 1, not by rule 2
    assert by["C"].rule == "rule 2 (ECR priority 2)"
    assert by["A"].tags == ("beta-1", "prod-1")
    assert [letter(d.digest) for d in result.decisions] == ["C", "B", "A"]  # newest push first
    assert by["A"].to_dict()["updated_at"] == (NOW - timedelta(days=10)).isoformat()


@LIST_KINDS
def test_multiple_rules_example_b_priority_order_changes_the_outcome(kind: str) -> None:
    # Example B: the same repository, Rule 1 beta (keep 1), Rule 2 prod (keep 1).
    # Result: Images A and B are expired.
    doc = {
        "rules": [
            rule(1, tagged(kind, as_list(kind, ["beta"]), keep(1))),
            rule(2, tagged(kind, as_list(kind, ["prod"]), keep(1))),
        ]
    }
    assert expired(run(doc, EXAMPLE_MULTIPLE_RULES)) == {"A", "B"}


@LIST_KINDS
def test_multiple_tags_in_one_rule_must_all_match_example_a(kind: str) -> None:
    # "Filtering on multiple tags in a single rule", Example A: [alpha, beta], sinceImagePushed 5 days.
    # The rule sees images C and F only (both tags present). Result: Image C is expired.
    doc = {"rules": [rule(1, tagged(kind, as_list(kind, ["alpha", "beta"]), days(5)))]}
    images = [
        image("A", ["alpha-1"], timedelta(days=12)),
        image("B", ["beta-1"], timedelta(days=11)),
        image("C", ["alpha-2", "beta-2"], timedelta(days=10)),
        image("D", ["alpha-3"], timedelta(days=4)),
        image("E", ["beta-3"], timedelta(days=3)),
        image("F", ["alpha-4", "beta-4"], timedelta(days=2)),
    ]
    assert expired(run(doc, images)) == {"C"}


@LIST_KINDS
def test_multiple_tags_in_one_rule_are_not_exclusive_example_b(kind: str) -> None:
    # Example B: extra tags (gamma) do not stop a match. Result: Images A and B are expired.
    doc = {"rules": [rule(1, tagged(kind, as_list(kind, ["alpha", "beta"]), keep(1)))]}
    images = [
        image("A", ["alpha-1", "beta-1", "gamma-1"], timedelta(days=10)),
        image("B", ["alpha-2", "beta-2"], timedelta(days=9)),
        image("C", ["alpha-3", "beta-3", "gamma-2"], timedelta(days=8)),
    ]
    assert expired(run(doc, images)) == {"A", "B"}


def test_all_images_example_a_any_keeps_the_newest_image_tagged_or_not() -> None:
    # "Filtering on all images", Example A: tagStatus any, keep 1. Result: Images A, B, and C are expired.
    doc = {"rules": [rule(1, {"tagStatus": "any", **keep(1)})]}
    images = [
        image("A", ["alpha-1"], timedelta(days=4)),
        image("B", ["beta-1"], timedelta(days=3)),
        image("C", [], timedelta(days=2)),
        image("D", ["alpha-2"], timedelta(days=1)),
    ]
    assert expired(run(doc, images, default_protect=True)) == {"A", "B", "C"}


def test_all_images_example_b_lower_rule_counts_images_it_cannot_expire() -> None:
    # Example B: Rule 1 alpha keep 1; Rule 2 untagged older than 1 day; Rule 3 any keep 1.
    # Rule 3 identifies A..E, keeps the newest, cannot mark A, B, C or E (identified by higher rules)
    # and marks D. Result: Images A, B, and D are expired.
    # The documentation lists D and E as pushed "1 day ago" and treats E as the newest image (rule 3
    # keeps it, rule 2 does not find it older than one day): E is placed 23 hours ago here.
    doc = {
        "rules": [
            rule(1, tagged("tagPrefixList", ["alpha"], keep(1))),
            rule(2, {"tagStatus": "untagged", **days(1)}),
            rule(3, {"tagStatus": "any", **keep(1)}),
        ]
    }
    images = [
        image("A", ["alpha-1", "beta-1"], timedelta(days=4)),
        image("B", [], timedelta(days=3)),
        image("C", ["alpha-2"], timedelta(days=2)),
        image("D", ["git hash"], timedelta(days=1)),
        image("E", [], timedelta(hours=23)),
    ]
    result = run(doc, images)
    assert expired(result) == {"A", "B", "D"}
    by = {letter(d.digest): d for d in result.decisions}
    assert by["D"].reason == "rule 3 (ECR priority 3): not among the newest 1 of the 5 images it selects"
    assert by["E"].rule == "rule 2 (ECR priority 2)"


def test_a_tag_pattern_list_is_an_and_not_an_or() -> None:
    # "If you specify multiple tags, only the images with all specified tags are selected."
    doc = {"rules": [rule(1, tagged("tagPatternList", ["latest", "main"], keep(1)))]}
    images = [
        image("A", ["main"], timedelta(days=5)),
        image("B", ["main"], timedelta(days=4)),
        image("C", ["main", "latest"], timedelta(days=3)),
    ]
    result = run(doc, images, default_protect=False)
    assert expired(result) == set()  # only C carries both, and it is the newest of one
    assert {letter(d.digest) for d in result.decisions if d.rule is None} == {"A", "B"}


def test_wildcards_match_anywhere_and_other_characters_are_literal() -> None:
    doc = {"rules": [rule(1, tagged("tagPatternList", ["*-rc.?"], days(1)))]}
    images = [
        image("A", ["v1-rc.?"], timedelta(days=5)),  # `?` is literal in ECR patterns
        image("B", ["v1-rc.1"], timedelta(days=5)),
    ]
    assert expired(run(doc, images)) == {"A"}


# --- what DOCR adds: protection, missing push times, races --------------------------------------


def test_latest_is_protected_by_default_even_when_ecr_would_expire_it() -> None:
    doc = {"rules": [rule(1, {"tagStatus": "any", **keep(1)})]}
    images = [
        image("A", ["latest", "v1"], timedelta(days=9)),  # CI re-tagged an old image as latest
        image("B", ["v2"], timedelta(days=5)),
        image("C", ["v3"], timedelta(days=1)),
    ]
    result = run(doc, images)
    assert expired(result) == {"B"}
    reason = next(d.reason for d in result.decisions if letter(d.digest) == "A")
    assert reason == (
        "rule 1 (ECR priority 1): not among the newest 1 of the 3 images it selects,"
        " but it carries protected tag 'latest'"
    )
    assert expired(run(doc, images, default_protect=False)) == {"A", "B"}
    assert expired(run(doc, images, protect=["v2"])) == set()


def test_an_image_without_push_time_is_never_expired() -> None:
    doc = {"rules": [rule(1, {"tagStatus": "any", **days(1)})]}
    images = [image("A", ["v1"], None), image("B", ["v2"], timedelta(days=3))]
    result = run(doc, images)
    assert expired(result) == {"B"}
    assert next(d.reason for d in result.decisions if letter(d.digest) == "A").endswith(
        "no push time reported"
    )


def test_a_tag_seen_only_in_the_tag_listing_makes_the_image_tagged() -> None:
    # The manifest listing says untagged, the tag listing (read later) shows a tag: not untagged.
    doc = {"rules": [rule(1, {"tagStatus": "untagged", **days(1)})]}
    old = image("A", [], timedelta(days=5))
    tags = [Tag(repository=REPO, tag="hotfix", manifest_digest=old.digest, updated_at=NOW)]
    result = RetentionRules.from_dict(doc).evaluate(REPO, tags, [old], NOW)
    assert expired(result) == set()
    assert result.decisions[0].tags == ("hotfix",)


def test_expiring_an_image_deletes_its_manifest_with_every_tag() -> None:
    doc = {"rules": [rule(1, tagged("tagPrefixList", ["pr-"], days(7)))]}
    images = [image("A", ["pr-1", "pr-1-debug"], timedelta(days=8)), image("B", ["pr-2"], timedelta(days=1))]
    result = run(doc, images)
    (deletion,) = result.plan.deletions
    assert deletion.kind is DeletionKind.MANIFEST
    assert deletion.tags == ("pr-1", "pr-1-debug")
    assert result.plan.orphaned_digests == {deletion.digest}
    assert result.deleted_tags == {"pr-1", "pr-1-debug"}
    assert not result.leaves_no_tags
    assert {(k.tag, k.reason) for k in result.plan.kept} == {
        ("pr-2", "rule 1 (ECR priority 1): pushed within the last 7 days")
    }


def test_leaves_no_tags_flags_a_repository_the_policy_would_empty() -> None:
    doc = {"rules": [rule(1, {"tagStatus": "any", **days(1)})]}
    images = [image("A", ["v1"], timedelta(days=5)), image("B", ["v2"], timedelta(days=3))]
    result = run(doc, images)
    assert expired(result) == {"A", "B"}
    assert result.leaves_no_tags  # the cleanup's delete-everything guard refuses this plan


def test_an_ecr_policy_applies_to_every_repository_the_filters_select() -> None:
    doc = {"rules": [rule(1, {"tagStatus": "any", **days(1)})]}
    rules = RetentionRules.from_ecr(doc, include_repositories=["team/*"], exclude_repositories=["team/keep"])
    assert rules.kind == "ecr-lifecycle"
    assert rules.rule_for("team/web") == (1, rules.rules[0])
    assert rules.rule_for("team/keep") is None
    assert rules.rule_for("other") is None
    assert rules.tag_exemption("team/web", "latest") == "protected"
    assert rules.tag_exemption("team/web", "v1") is None


def test_the_document_round_trips_unchanged_through_a_plan_description() -> None:
    doc = {
        "rules": [
            rule(1, tagged("tagPatternList", ["prod*"], keep(5))),
            rule(2, {"tagStatus": "any", **days(30)}),
        ]
    }
    rules = RetentionRules.from_dict(doc, protect=["stable"])
    described = rules.describe()
    assert described["format"] == "ecr-lifecycle"
    assert described["document"] == doc
    assert described["protected_tags"] == ["latest", "stable"]
    assert RetentionRules.from_description(described) == rules


def test_is_ecr_document_tells_ecr_from_native_by_rule_priority() -> None:
    assert is_ecr_document({"rules": [rule(1, {"tagStatus": "any", **keep(1)})]})
    assert not is_ecr_document({"rules": [{"repositories": ["*"], "keep_last": 3}]})
    assert not is_ecr_document({"rules": "x"})
    assert not is_ecr_document([])


# --- validation ----------------------------------------------------------------------------------


def ok_selection() -> dict[str, Any]:
    return tagged("tagPrefixList", ["prod"], keep(1))


def with_selection(**changes: Any) -> dict[str, Any]:
    selection = ok_selection()
    for key, value in changes.items():
        if value is None:
            selection.pop(key, None)
        else:
            selection[key] = value
    return {"rules": [rule(1, {"tagStatus": "any", **keep(9)}) | {"rulePriority": 9}, rule(4, selection)]}


INVALID = [
    pytest.param(
        with_selection(countType="sinceImagePulled", countUnit="days"),
        "rule 2 (ECR priority 4): selection.countType: DOCR records no pull times",
        "selection.countType",
        id="sinceImagePulled",
    ),
    pytest.param(
        with_selection(countType="sinceImageTransitioned", countUnit="days"),
        "rule 2 (ECR priority 4): selection.countType: DOCR has no archive storage class",
        "selection.countType",
        id="sinceImageTransitioned",
    ),
    pytest.param(
        with_selection(storageClass="archive"),
        "rule 2 (ECR priority 4): selection.storageClass: DOCR has a single storage class",
        "selection.storageClass",
        id="storageClass",
    ),
    pytest.param(
        with_selection(tagPrefixes=["x"]),
        "rule 2 (ECR priority 4): unknown field 'selection.tagPrefixes'",
        "selection.tagPrefixes",
        id="unknown-selection-key",
    ),
    pytest.param(
        with_selection(tagPatternList=["prod*"]),
        "rule 2 (ECR priority 4): a tagged rule needs exactly one of selection.tagPrefixList and",
        "selection.tagPrefixList",
        id="both-lists",
    ),
    pytest.param(
        with_selection(tagPrefixList=None),
        "rule 2 (ECR priority 4): a tagged rule needs exactly one of",
        "selection.tagPatternList",
        id="tagged-without-list",
    ),
    pytest.param(
        with_selection(tagStatus="untagged"),
        "rule 2 (ECR priority 4): selection.tagPrefixList is only allowed with tagStatus 'tagged'",
        "selection.tagPrefixList",
        id="untagged-with-list",
    ),
    pytest.param(
        with_selection(tagStatus="TAGGED"),
        "rule 2 (ECR priority 4): selection.tagStatus must be 'tagged', 'untagged' or 'any'",
        "selection.tagStatus",
        id="bad-tagStatus",
    ),
    pytest.param(
        with_selection(tagPrefixList=[]),
        "rule 2 (ECR priority 4): selection.tagPrefixList must be a non-empty list",
        "selection.tagPrefixList",
        id="empty-list",
    ),
    pytest.param(
        with_selection(tagPrefixList=None, tagPatternList=["*a*b*c*d*e"]),
        "rule 2 (ECR priority 4): selection.tagPatternList entry '*a*b*c*d*e' has more than 4 wildcards",
        "selection.tagPatternList",
        id="five-wildcards",
    ),
    pytest.param(
        with_selection(countNumber=0),
        "rule 2 (ECR priority 4): selection.countNumber must be an integer >= 1",
        "selection.countNumber",
        id="countNumber-0",
    ),
    pytest.param(
        with_selection(countNumber=True),
        "rule 2 (ECR priority 4): selection.countNumber must be an integer >= 1",
        "selection.countNumber",
        id="countNumber-bool",
    ),
    pytest.param(
        with_selection(countUnit="days"),
        "rule 2 (ECR priority 4): selection.countUnit is only allowed with countType 'sinceImagePushed'",
        "selection.countUnit",
        id="countUnit-with-count",
    ),
    pytest.param(
        with_selection(countType="sinceImagePushed", countUnit="hours"),
        "rule 2 (ECR priority 4): selection.countUnit must be 'days'",
        "selection.countUnit",
        id="countUnit-hours",
    ),
    pytest.param(
        with_selection(countType="sinceImagePushed"),
        "rule 2 (ECR priority 4): selection.countUnit must be 'days'",
        "selection.countUnit",
        id="countUnit-missing",
    ),
    pytest.param(
        with_selection(countType=None),
        "rule 2 (ECR priority 4): selection.countType must be 'imageCountMoreThan' or 'sinceImagePushed'",
        "selection.countType",
        id="countType-missing",
    ),
    pytest.param(
        {"rules": [rule(1, ok_selection(), action="transition")]},
        "rule 1 (ECR priority 1): action.type 'transition' cannot be honoured",
        "action.type",
        id="transition",
    ),
    pytest.param(
        {
            "rules": [
                rule(1, ok_selection()) | {"action": {"type": "expire", "targetStorageClass": "archive"}}
            ]
        },
        "rule 1 (ECR priority 1): action.type 'transition' cannot be honoured",
        "action.type",
        id="targetStorageClass",
    ),
    pytest.param(
        {"rules": [rule(1, ok_selection()) | {"action": {"type": "delete"}}]},
        "rule 1 (ECR priority 1): action.type must be 'expire'",
        "action.type",
        id="unknown-action",
    ),
    pytest.param(
        {"rules": [rule(1, ok_selection()) | {"enabled": True}]},
        "rule 1 (ECR priority 1): unknown field 'enabled'",
        "enabled",
        id="unknown-rule-key",
    ),
    pytest.param(
        {"rules": [rule(1, ok_selection()) | {"rulePriority": 0}]},
        "rule 1: rulePriority must be an integer >= 1",
        "rulePriority",
        id="priority-0",
    ),
    pytest.param(
        {"rules": [rule(1, ok_selection()), rule(1, tagged("tagPrefixList", ["dev"], keep(1)))]},
        "rule 2 (ECR priority 1): rulePriority 1 is also used by rule 1",
        "rulePriority",
        id="duplicate-priority",
    ),
    pytest.param(
        {"rules": [rule(1, {"tagStatus": "any", **keep(5)}), rule(2, ok_selection())]},
        "rule 1 (ECR priority 1): a rule with tagStatus 'any' must have the highest rulePriority",
        "selection.tagStatus",
        id="any-not-last",
    ),
    pytest.param(
        {
            "rules": [
                rule(1, {"tagStatus": "untagged", **keep(5)}),
                rule(2, {"tagStatus": "untagged", **days(3)}),
            ]
        },
        "rule 2 (ECR priority 2): only one rule may select untagged images (so does rule 1 (ECR priority 1))",
        "selection.tagStatus",
        id="two-untagged-rules",
    ),
    pytest.param(
        {"rules": [rule(1, ok_selection()), rule(2, tagged("tagPrefixList", ["prod"], days(3)))]},
        "rule 2 (ECR priority 2): the same tag list as rule 1 (ECR priority 1)",
        "selection.tagPrefixList",
        id="duplicate-tag-list",
    ),
    pytest.param(
        {"rules": [rule(1, ok_selection())], "registryId": "123"},
        "ECR lifecycle policy: unknown top-level field 'registryId'",
        "registryId",
        id="unknown-top-level",
    ),
]


@pytest.mark.parametrize(("document", "message", "field"), INVALID)
def test_invalid_documents_are_refused_naming_the_rule_and_the_field(
    document: dict[str, Any], message: str, field: str
) -> None:
    with pytest.raises(PolicyFileError) as caught:
        RetentionRules.from_dict(document)
    assert str(caught.value).startswith(message)
    assert caught.value.field == field
    assert isinstance(caught.value, ValidationError)


def test_an_empty_rule_list_is_not_an_ecr_policy_and_is_refused() -> None:
    with pytest.raises(PolicyFileError, match="rules must be a non-empty list"):
        RetentionRules.from_ecr({"rules": []})


# --- properties ----------------------------------------------------------------------------------

SELECTIONS = st.sampled_from(
    [
        tagged("tagPrefixList", ["v"], keep(1)),
        tagged("tagPrefixList", ["v", "r"], days(2)),
        tagged("tagPatternList", ["*-rc*"], keep(2)),
        tagged("tagPatternList", ["r*"], days(5)),
        {"tagStatus": "untagged", **keep(1)},
    ]
)
IMAGES = st.lists(
    st.tuples(
        st.lists(st.sampled_from(["v1", "v2", "r1", "1-rc1", "latest", "x"]), unique=True, max_size=3),
        st.one_of(st.none(), st.integers(min_value=0, max_value=20)),
    ),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(
    selections=st.lists(SELECTIONS, min_size=1, max_size=4, unique_by=repr),
    last_any=st.one_of(st.none(), st.sampled_from([keep(1), days(3)])),
    raw_images=IMAGES,
)
def test_each_image_gets_one_decision_and_protected_or_undated_images_survive(
    selections: list[dict[str, Any]], last_any: dict[str, Any] | None, raw_images: list[Any]
) -> None:
    untagged = [s for s in selections if s["tagStatus"] == "untagged"]
    selections = [s for s in selections if s["tagStatus"] != "untagged"] + untagged[:1]
    rules = [rule(i, s) for i, s in enumerate(selections, start=1)]
    if last_any is not None:
        rules.append(rule(len(rules) + 1, {"tagStatus": "any", **last_any}))
    images = [
        image(chr(ord("A") + i), tags, None if age is None else timedelta(days=age, hours=1))
        for i, (tags, age) in enumerate(raw_images)
    ]
    result = run({"rules": rules}, images)
    assert sorted(d.digest for d in result.decisions) == sorted(m.digest for m in images)
    for d in result.decisions:
        source = next(m for m in images if m.digest == d.digest)
        if d.verdict is Verdict.DELETE:
            assert "latest" not in source.tags
            assert source.updated_at is not None
            assert d.rule is not None
        if d.rule is None:
            assert d.verdict is Verdict.KEEP
