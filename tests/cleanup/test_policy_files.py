"""Native policy files: loading (TOML, JSON), validation errors, first-match rules, and properties."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docr_async import ValidationError
from docr_async.cleanup import RetentionPolicy, plan_repository
from docr_async.cleanup.decisions import PolicyFileError, Verdict
from docr_async.cleanup.plan import DeletionKind
from docr_async.cleanup.policy import Pattern
from docr_async.cleanup.rules import RetentionRules, Rule
from docr_async.models import Manifest, Tag

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CLI_MD = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def repo_content(
    repository: str, spec: list[tuple[list[str], float | None]]
) -> tuple[list[Tag], list[Manifest]]:
    """Manifests n = 1, 2, ... with the given tags and age in days (None: no push time)."""
    tags: list[Tag] = []
    manifests: list[Manifest] = []
    for n, (names, age) in enumerate(spec, start=1):
        pushed = None if age is None else NOW - timedelta(days=age)
        manifests.append(
            Manifest(repository=repository, digest=digest(n), tags=tuple(names), updated_at=pushed)
        )
        tags += [
            Tag(repository=repository, tag=t, manifest_digest=digest(n), updated_at=pushed) for t in names
        ]
    return tags, manifests


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


THREE_RULES = """
[[rules]]
name = "production"
repositories = ["prod/*"]
keep_last = 2

[[rules]]
repositories = ["dev/*", "re:^feature-[0-9]+$"]
keep_last = 1
older_than = "7d"
delete_untagged = true

[[rules]]
repositories = "*"
exclude_repositories = ["base/*"]
older_than = "30d"
"""


# --- loading and first-match --------------------------------------------------------------------


def test_a_toml_file_loads_and_the_first_rule_selecting_a_repository_applies(tmp_path: Path) -> None:
    rules = RetentionRules.from_file(write(tmp_path, "policy.toml", THREE_RULES))
    assert rules.kind == "docr-rules"
    assert [r.label for r in rules.rules if isinstance(r, Rule)] == [
        "rule 1 (production)",
        "rule 2 (dev/*, re:^feature-[0-9]+$)",
        "rule 3 (*)",
    ]
    assert rules.rule_for("prod/api") == (1, rules.rules[0])  # rule 3 matches too: the first wins
    assert rules.rule_for("dev/api") == (2, rules.rules[1])
    assert rules.rule_for("feature-12") == (2, rules.rules[1])
    assert rules.rule_for("tools/ci") == (3, rules.rules[2])
    assert rules.rule_for("base/python") is None  # no rule selects it: left alone
    assert not rules.selects_repository("base/python")


def test_the_same_rules_load_from_json(tmp_path: Path) -> None:
    data = {
        "rules": [
            {"name": "production", "repositories": ["prod/*"], "keep_last": 2},
            {
                "repositories": ["dev/*", "re:^feature-[0-9]+$"],
                "keep_last": 1,
                "older_than": "7d",
                "delete_untagged": True,
            },
            {"repositories": "*", "exclude_repositories": ["base/*"], "older_than": "30d"},
        ]
    }
    from_json = RetentionRules.from_file(write(tmp_path, "policy.json", json.dumps(data)))
    from_toml = RetentionRules.from_file(write(tmp_path, "policy.toml", THREE_RULES))
    assert from_json == from_toml


def test_each_repository_is_evaluated_by_its_own_rule_with_reasons_naming_it() -> None:
    rules = RetentionRules.from_dict(
        {
            "rules": [
                {"repositories": ["prod/*"], "keep_last": 2},
                {"repositories": ["dev/*"], "keep_last": 1, "older_than": "7d"},
            ]
        }
    )
    prod = repo_content("prod/api", [(["v1"], 30), (["v2"], 20), (["v3"], 10), (["latest"], 40)])
    result = rules.evaluate("prod/api", *prod, NOW)
    assert result.rule == "rule 1 (prod/*)"
    assert result.rule_index == 1
    verdicts = {d.tag: (d.verdict, d.reason) for d in result.decisions}
    assert verdicts == {
        "v3": (Verdict.KEEP, "rule 1 (prod/*): among the newest 2"),
        "v2": (Verdict.KEEP, "rule 1 (prod/*): among the newest 2"),
        "v1": (Verdict.DELETE, "rule 1 (prod/*): not among the newest 2"),
        "latest": (Verdict.KEEP, "rule 1 (prod/*): protected"),
    }
    assert [d.tag for d in result.decisions] == ["v3", "v2", "v1", "latest"]  # newest push first
    assert result.decisions[0].updated_at == NOW - timedelta(days=10)
    assert [d.tag for d in result.plan.deletions] == ["v1"]
    assert result.plan.deletions[0].reason == "rule 1 (prod/*): not among the newest 2"

    dev = repo_content("dev/api", [(["a"], 30), (["b"], 3), (["c"], 1)])
    result = rules.evaluate("dev/api", *dev, NOW)
    verdicts = {d.tag: (d.verdict, d.reason) for d in result.decisions}
    assert verdicts == {
        "c": (Verdict.KEEP, "rule 2 (dev/*): among the newest 1"),
        "b": (Verdict.KEEP, "rule 2 (dev/*): newer than the age limit"),
        "a": (Verdict.DELETE, "rule 2 (dev/*): not among the newest 1 and older than the age limit"),
    }


def test_a_repository_no_rule_selects_is_left_alone_with_a_reason() -> None:
    rules = RetentionRules.from_dict({"rules": [{"repositories": ["prod/*"], "keep_last": 0}]})
    tags, manifests = repo_content("base/python", [(["v1"], 300), ([], 300)])
    result = rules.evaluate("base/python", tags, manifests, NOW)
    assert result.rule is None
    assert result.plan.deletions == ()
    assert {(d.kind, d.verdict, d.reason) for d in result.decisions} == {
        (DeletionKind.TAG, Verdict.KEEP, "no rule selects this repository: left alone"),
        (DeletionKind.MANIFEST, Verdict.KEEP, "no rule selects this repository: left alone"),
    }
    assert rules.tag_exemption("base/python", "v1") == "no rule selects this repository"
    assert {(d.tag, d.updated_at) for d in result.decisions} == {
        ("v1", NOW - timedelta(days=300)),
        (None, NOW - timedelta(days=300)),
    }


def test_untagged_manifests_get_a_decision_whether_or_not_the_rule_deletes_them() -> None:
    tags, manifests = repo_content("dev/api", [(["v1"], 1), ([], 10), ([], 0.5)])
    keeps = RetentionRules.from_dict({"rules": [{"repositories": "dev/*", "keep_last": 5}]})
    result = keeps.evaluate("dev/api", tags, manifests, NOW)
    untagged = {d.digest: d.reason for d in result.decisions if d.kind is DeletionKind.MANIFEST}
    assert untagged == {
        digest(2): "rule 1 (dev/*): untagged manifests are not deleted by this rule",
        digest(3): "rule 1 (dev/*): untagged manifests are not deleted by this rule",
    }
    deletes = RetentionRules.from_dict(
        {"rules": [{"repositories": "dev/*", "delete_untagged": True, "untagged_older_than": "1d"}]}
    )
    result = deletes.evaluate("dev/api", tags, manifests, NOW)
    untagged_verdicts = {
        d.digest: (d.verdict, d.reason) for d in result.decisions if d.kind is DeletionKind.MANIFEST
    }
    assert untagged_verdicts == {
        digest(2): (Verdict.DELETE, "rule 1 (dev/*): untagged manifest"),
        digest(3): (Verdict.KEEP, "rule 1 (dev/*): untagged, but recent"),
    }


def test_protection_defaults_to_latest_and_can_be_extended_or_dropped_per_rule() -> None:
    tags, manifests = repo_content("dev/api", [(["latest"], 30), (["stable"], 30), (["v1"], 30)])
    rules = RetentionRules.from_dict(
        {
            "rules": [
                {"repositories": "dev/a*", "keep_last": 0, "protect": ["stable"]},
                {"repositories": "dev/*", "keep_last": 0, "default_protect": False},
            ]
        },
        protect=["v1"],
    )
    first = rules.evaluate("dev/api", tags, manifests, NOW)
    assert first.deleted_tags == set()  # latest (default), stable (rule), v1 (caller)
    second = rules.evaluate("dev/web", *repo_content("dev/web", [(["latest"], 30), (["v1"], 30)]), NOW)
    assert second.deleted_tags == {"latest"}
    assert second.leaves_no_tags is False
    assert rules.tag_exemption("dev/web", "v1") == "protected"
    assert rules.tag_exemption("dev/web", "latest") is None


def test_leaves_no_tags_flags_a_rule_that_would_empty_a_repository() -> None:
    rules = RetentionRules.from_dict(
        {"rules": [{"repositories": "*", "keep_last": 0, "default_protect": False}]}
    )
    result = rules.evaluate("dev/api", *repo_content("dev/api", [(["a"], 3), (["b"], 2)]), NOW)
    assert result.deleted_tags == {"a", "b"}
    assert result.leaves_no_tags


def test_a_single_retention_policy_becomes_one_rule_deciding_exactly_as_before() -> None:
    policy = RetentionPolicy(keep_last=1, exclude_repositories=("tools/*",))
    rules = RetentionRules.from_policy(policy)
    assert rules.rule_for("tools/ci") is None
    tags, manifests = repo_content("team/api", [(["v1"], 9), (["v2"], 1), (["latest"], 20)])
    result = rules.evaluate("team/api", tags, manifests, NOW)
    assert result.rule == "rule 1 (command line)"
    plain = plan_repository("team/api", tags, manifests, policy, NOW)
    assert [(d.tag, "rule 1 (command line): " + d.reason) for d in plain.deletions] == [
        (d.tag, d.reason) for d in result.plan.deletions
    ]
    assert result.deleted_tags == {"v1"}


def test_restricted_narrows_and_never_widens() -> None:
    rules = RetentionRules.from_dict({"rules": [{"repositories": ["prod/*", "dev/*"], "keep_last": 3}]})
    narrowed = rules.restricted(include=["prod/*"], exclude=["prod/legacy"])
    assert narrowed.rule_for("prod/api") is not None
    assert narrowed.rule_for("prod/legacy") is None
    assert narrowed.rule_for("dev/api") is None
    with pytest.raises(PolicyFileError, match="include filters are already set"):
        narrowed.restricted(include=["other"])
    widened = rules.restricted(include=["other/*"])
    assert widened.rule_for("other/x") is None  # the filter cannot add what no rule selects


def test_rules_round_trip_through_a_plan_description() -> None:
    rules = RetentionRules.from_dict(
        {
            "rules": [
                {"name": "prod", "repositories": ["prod/*"], "keep_last": 50, "protect": ["stable"]},
                {"repositories": ["dev/*"], "older_than": "7d", "delete_untagged": True},
            ]
        }
    ).restricted(exclude=["dev/keep"])
    described = json.loads(json.dumps(rules.describe()))
    assert described["format"] == "docr-rules"
    assert RetentionRules.from_description(described) == rules


@pytest.mark.parametrize(
    "data",
    [
        {"format": "other"},
        {
            "format": "docr-rules",
            "rules": [{"index": 2, "policy": {"keep_last": 1, "include_repositories": ["*"]}}],
        },
        {"format": "docr-rules", "rules": [{"index": 1, "policy": {"keep_last": 1}}]},
        {
            "format": "docr-rules",
            "rules": [{"index": 1, "policy": {"keep_last": -1, "include_repositories": ["*"]}}],
        },
        {"format": "docr-rules"},
        {"format": "ecr-lifecycle", "document": {"rules": []}},
    ],
)
def test_a_tampered_plan_description_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(PolicyFileError):
        RetentionRules.from_description(data)


# --- validation ----------------------------------------------------------------------------------


def load_toml(tmp_path: Path, text: str) -> RetentionRules:
    return RetentionRules.from_file(write(tmp_path, "policy.toml", text))


FIRST = '[[rules]]\nrepositories = ["prod/*"]\nkeep_last = 10\n\n'

INVALID_RULES = [
    (
        '[[rules]]\nrepositories = ["dev/*"]\nkeep_last = -1\n',
        "rule 2 (dev/*): keep_last must be an integer >= 0",
    ),
    (
        '[[rules]]\nrepositories = ["dev/*"]\nkeep_last = "5"\n',
        "rule 2 (dev/*): keep_last must be an integer >= 0",
    ),
    (
        '[[rules]]\nrepositories = ["dev/*"]\nkeep_last = true\n',
        "rule 2 (dev/*): keep_last must be an integer >= 0",
    ),
    (
        '[[rules]]\nrepositories = ["dev/*"]\nolder_than = "7x"\n',
        "rule 2 (dev/*): older_than must be a duration such as '30d'",
    ),
    (
        '[[rules]]\nrepositories = ["dev/*"]\nolder_than = 7\n',
        "rule 2 (dev/*): older_than must be a duration string such as '30d'",
    ),
    (
        '[[rules]]\nrepositories = ["dev/*"]\nkeep_lats = 5\n',
        "rule 2 (dev/*): unknown field 'keep_lats' (did you mean 'keep_last'?)",
    ),
    (
        '[[rules]]\nrepositories = ["dev/*"]\nkeep_last = 1\ninclude_tags = ["re:("]\n',
        "rule 2 (dev/*): include_tags entry 're:(' is not a valid regular expression",
    ),
    (
        '[[rules]]\nrepositories = ["dev/*"]\nkeep_last = 1\nexclude_tags = [1]\n',
        "rule 2 (dev/*): exclude_tags must be a pattern or a list of patterns",
    ),
    ("[[rules]]\nkeep_last = 1\n", "rule 2: repositories is required"),
    ("[[rules]]\nrepositories = []\nkeep_last = 1\n", "rule 2: repositories must not be empty"),
    (
        '[[rules]]\nrepositories = ["dev/*"]\n',
        "rule 2 (dev/*): deletes nothing: set keep_last, older_than, include_tags or delete_untagged",
    ),
    (
        '[[rules]]\nrepositories = ["dev/*"]\nkeep_last = 1\nuntagged_older_than = "1d"\n',
        "rule 2 (dev/*): untagged_older_than needs delete_untagged = true",
    ),
    (
        '[[rules]]\nrepositories = ["dev/*"]\nkeep_last = 1\ndelete_untagged = "yes"\n',
        "rule 2 (dev/*): delete_untagged must be true or false",
    ),
    (
        '[[rules]]\nrepositories = ["dev/*"]\nkeep_last = 1\ndefault_protect = 0\n',
        "rule 2 (dev/*): default_protect must be true or false",
    ),
    (
        '[[rules]]\nname = "dev"\nrepositories = ["dev/*"]\nkeep_last = -3\n',
        "rule 2 (dev): keep_last must be an integer >= 0",
    ),
    (
        '[[rules]]\nname = 5\nrepositories = ["dev/*"]\nkeep_last = 1\n',
        "rule 2 (dev/*): name must be a non-empty",
    ),
]


@pytest.mark.parametrize(("second_rule", "message"), INVALID_RULES)
def test_invalid_rules_are_refused_naming_the_rule_and_the_field(
    tmp_path: Path, second_rule: str, message: str
) -> None:
    with pytest.raises(PolicyFileError) as caught:
        load_toml(tmp_path, FIRST + second_rule)
    assert str(caught.value).startswith(message), str(caught.value)
    assert caught.value.rule == 2
    assert isinstance(caught.value, ValidationError)
    field = re.match(r"rule 2(?: \([^)]*\))?: (?:unknown field ')?(\w+)", message)
    assert field is not None
    if field.group(1) != "deletes":
        assert caught.value.field == field.group(1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "rules must be a non-empty list"),
        ("rules = []\n", "rules must be a non-empty list"),
        (
            'rule = [{repositories = "*", keep_last = 1}]\n',
            "unknown top-level field 'rule' (did you mean 'rules'?)",
        ),
        ("version = 2\n" + FIRST, "version must be 1"),
        ("rules = [1]\n", "rule 1: must be a table"),
        ("[[rules]\n", "not valid TOML"),
    ],
)
def test_invalid_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PolicyFileError, match=re.escape(message)):
        load_toml(tmp_path, text)


def test_a_missing_or_non_json_file_is_a_policy_file_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="cannot read the policy file"):
        RetentionRules.from_file(tmp_path / "nope.toml")
    with pytest.raises(PolicyFileError, match="not valid JSON"):
        RetentionRules.from_file(write(tmp_path, "policy.json", "{rules"))


def test_default_protect_false_is_only_for_ecr_documents() -> None:
    with pytest.raises(PolicyFileError, match="default_protect=False applies to ECR lifecycle policies"):
        RetentionRules.from_dict({"rules": [{"repositories": "*", "keep_last": 1}]}, default_protect=False)
    with pytest.raises(PolicyFileError, match="protect 're:\\(' is not a valid regular expression"):
        RetentionRules.from_dict({"rules": [{"repositories": "*", "keep_last": 1}]}, protect=["re:("])


# --- the examples in docs/cli.md are real files -------------------------------------------------


def docs_block(language: str, after: str) -> str:
    text = CLI_MD.read_text()
    section = text[text.index("## Policy files") :]
    section = section[section.index(after) :]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_the_toml_example_of_the_docs_loads_and_behaves_as_documented(tmp_path: Path) -> None:
    rules = RetentionRules.from_file(
        write(tmp_path, "policy.toml", docs_block("toml", "### A complete example"))
    )
    names = ("prod/api", "dev/web", "feature-12", "base/python", "tools/ci")
    assert [found[0] if (found := rules.rule_for(name)) else None for name in names] == [1, 2, 2, 3, 4]
    base = rules.evaluate(
        "base/python", *repo_content("base/python", [(["v3.12"], 400), (["nightly-1"], 40)]), NOW
    )
    assert base.deleted_tags == {"nightly-1"}


def test_the_ecr_example_of_the_docs_loads_as_an_ecr_policy(tmp_path: Path) -> None:
    rules = RetentionRules.from_file(
        write(tmp_path, "ecr.json", docs_block("json", "### ECR lifecycle policies"))
    )
    assert rules.kind == "ecr-lifecycle"


# --- properties ----------------------------------------------------------------------------------

REPOSITORIES = ["prod/api", "prod/web", "dev/api", "dev/tools", "base/python", "feature-7", "misc"]
REPO_PATTERNS = ["prod/*", "dev/*", "*", "re:.*api$", "base/*", "feature-*", "re:^(misc|dev/.*)$"]
TAG_NAMES = ["latest", "v1", "v2", "v3", "stable", "pr-1", "pr-2", "nightly"]
TAG_PATTERNS = ["v*", "pr-*", "stable", "re:^v[12]$", "nightly"]

raw_rule = st.fixed_dictionaries(
    {"repositories": st.lists(st.sampled_from(REPO_PATTERNS), min_size=1, max_size=2, unique=True)},
    optional={
        "exclude_repositories": st.lists(st.sampled_from(REPO_PATTERNS), max_size=1),
        "keep_last": st.integers(min_value=0, max_value=4),
        "older_than": st.sampled_from(["1d", "5d", "12h", "30d"]),
        "include_tags": st.lists(st.sampled_from(TAG_PATTERNS), max_size=2),
        "exclude_tags": st.lists(st.sampled_from(TAG_PATTERNS), max_size=2),
        "protect": st.lists(st.sampled_from(TAG_PATTERNS), max_size=1),
        "default_protect": st.booleans(),
        "delete_untagged": st.just(True),
    },
).filter(
    lambda r: bool({"keep_last", "older_than", "delete_untagged"} & r.keys()) or bool(r.get("include_tags"))
)

repository_content = st.lists(
    st.tuples(
        st.lists(st.sampled_from(TAG_NAMES), max_size=3, unique=True),
        st.one_of(st.none(), st.floats(min_value=0, max_value=40, allow_nan=False)),
    ),
    max_size=6,
)


def oracle_rule(raw_rules: list[dict[str, Any]], repository: str) -> int | None:
    """The first rule whose repositories match and whose exclusions do not (computed independently)."""
    for index, raw in enumerate(raw_rules, start=1):
        included = any(Pattern(p).matches(repository) for p in raw["repositories"])
        excluded = any(Pattern(p).matches(repository) for p in raw.get("exclude_repositories", []))
        if included and not excluded:
            return index
    return None


def oracle_policy(raw: dict[str, Any]) -> RetentionPolicy:
    """The plain RetentionPolicy a rule stands for."""
    protected = (["latest"] if raw.get("default_protect", True) else []) + raw.get("protect", [])
    return RetentionPolicy(
        keep_last=raw.get("keep_last"),
        older_than=raw.get("older_than"),
        include_tags=tuple(raw.get("include_tags", ())),
        exclude_tags=tuple(raw.get("exclude_tags", ())),
        protected_tags=tuple(protected),
        delete_untagged=raw.get("delete_untagged", False),
    )


def unique_tags(spec: list[tuple[list[str], float | None]]) -> list[tuple[list[str], float | None]]:
    """A tag points at one manifest: drop repeats across manifests."""
    seen: set[str] = set()
    out = []
    for names, age in spec:
        out.append(([n for n in names if n not in seen], age))
        seen.update(names)
    return out


@settings(max_examples=200, deadline=None)
@given(
    raw_rules=st.lists(raw_rule, min_size=1, max_size=4),
    registry=st.dictionaries(st.sampled_from(REPOSITORIES), repository_content, max_size=5),
)
def test_each_repository_gets_exactly_its_first_matching_rule_and_that_rule_decides_alone(
    raw_rules: list[dict[str, Any]], registry: dict[str, list[tuple[list[str], float | None]]]
) -> None:
    rules = RetentionRules.from_dict({"rules": raw_rules})
    for repository, spec in registry.items():
        tags, manifests = repo_content(repository, unique_tags(spec))
        result = rules.evaluate(repository, tags, manifests, NOW)
        expected_index = oracle_rule(raw_rules, repository)
        assert result.rule_index == expected_index

        # Every tag has exactly one decision; every decision names the rule that made it.
        tag_decisions = [str(d.tag) for d in result.decisions if d.kind is DeletionKind.TAG]
        assert sorted(tag_decisions) == sorted(t.tag for t in tags)
        assert {d.rule for d in result.decisions} <= {result.rule}
        if expected_index is None:
            assert result.plan.deletions == ()
            assert not result.deleted_tags
            continue

        raw = raw_rules[expected_index - 1]
        policy = oracle_policy(raw)
        # Kept and protected tags are never deleted.
        for t in tags:
            if policy.tag_exemption(t.tag) is not None:
                assert t.tag not in result.deleted_tags
        for d in result.plan.deletions:
            assert not any(policy.tag_exemption(t) == "protected" for t in d.tags)

        # The decisions equal what the rule, as a plain RetentionPolicy, decides for this repository.
        plain = plan_repository(repository, tags, manifests, policy, NOW)
        prefix = f"{result.rule}: "
        assert [(d.kind, d.digest, d.tag, d.tags, prefix + d.reason) for d in plain.deletions] == [
            (d.kind, d.digest, d.tag, d.tags, d.reason) for d in result.plan.deletions
        ]
        assert [(k.digest, k.tag, prefix + k.reason) for k in plain.kept] == [
            (k.digest, k.tag, k.reason) for k in result.plan.kept
        ]
        assert plain.orphaned_digests == result.plan.orphaned_digests
        plain_deleted = {d.tag for d in plain.deletions if d.tag} | {
            t for d in plain.deletions for t in d.tags
        }
        assert result.deleted_tags == plain_deleted
