"""``docr cleanup --policy FILE``: per-repository rules end to end against a standalone FakeDOCR.

The registry is built by hand (pushes with explicit push times) so every expected outcome below is
written from the policy, not from running the code.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from docr_async.cli import ExitCode

from .conftest import REGISTRY, Fake, Result

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    Docr = Callable[..., Result]

DAY = 86400.0

# repository -> [(tags, age in days)], one manifest each; () is an untagged manifest.
CONTENT: dict[str, list[tuple[tuple[str, ...], float]]] = {
    "prod/api": [
        (("latest",), 60),
        (("v1",), 50),
        (("v2",), 40),
        (("v3",), 30),
        (("v4",), 20),
        (("v5",), 10),
    ],
    "dev/web": [(("a",), 20), (("b",), 10), (("c",), 1), ((), 5)],
    "base/python": [(("v3.11",), 90), (("tmp-1",), 60), (("tmp-2",), 1)],
    "other/misc": [(("x",), 100), ((), 100)],
}

POLICY = """
[[rules]]
name = "prod"
repositories = ["prod/*"]
keep_last = 2

[[rules]]
repositories = ["dev/*"]
keep_last = 1
older_than = "7d"
delete_untagged = true

[[rules]]
repositories = ["base/*"]
exclude_tags = ["v*"]
older_than = "30d"
"""

# What the policy leaves, worked out by hand from the rules above.
SURVIVORS = {
    "prod/api": {"latest", "v4", "v5"},  # latest protected; the newest 2 other tags kept
    "dev/web": {"c"},  # newest kept; a, b older than 7d; untagged deleted with them
    "base/python": {"v3.11", "tmp-2"},  # v* excluded; tmp-2 newer than 30d
    "other/misc": {"x"},  # no rule selects it
}


@pytest.fixture(autouse=True)
def _seeded(fake: Fake) -> None:
    fake.reset()
    fake.control("POST", "/_fake/seed", {"seed": 7, "repos": 0, "tags": 0, "untagged": 0})
    now = time.time()
    for repository, images in CONTENT.items():
        for tags, age in images:
            body = {"registry": REGISTRY, "repository": repository, "tag": list(tags)}
            fake.control("POST", "/_fake/push", {**body, "updated_at": now - age * DAY})
    fake.control("DELETE", "/_fake/requests")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def tags_of(docr: Docr) -> dict[str, set[str]]:
    out = {}
    for repository in CONTENT:
        listed = docr("tags", "list", repository, "-r", REGISTRY, "-o", "json")
        assert listed.code == 0, str(listed)
        out[repository] = {t["tag"] for t in listed.json()}
    return out


def manifest_count(docr: Docr, repository: str) -> int:
    listed = docr("manifests", "list", repository, "-r", REGISTRY, "-o", "json")
    assert listed.code == 0, str(listed)
    return len(listed.json())


def deletes(fake: Fake) -> list[dict[str, Any]]:
    return [r for r in fake.requests() if r["method"] == "DELETE"]


def explained_deletions(document: dict[str, Any]) -> set[tuple[str, str]]:
    """(repository, tag or @digest) of every delete verdict in the --explain JSON."""
    out = set()
    for repo in document["repositories"]:
        for d in repo["decisions"]:
            if d["verdict"] == "delete":
                out.add((repo["repository"], d["tag"] or "@" + d["digest"]))
    return out


def test_explain_json_names_each_repositorys_rule_and_every_reason_and_deletes_nothing(
    docr: Docr, fake: Fake, tmp_path: Path
) -> None:
    policy = write(tmp_path, "policy.toml", POLICY)
    result = docr("cleanup", REGISTRY, "--policy", str(policy), "--explain", "-o", "json")
    assert result.code == 0, str(result)
    doc = result.json()
    rules = {r["repository"]: (r["rule"], r["rule_index"]) for r in doc["repositories"]}
    assert rules == {
        "prod/api": ("rule 1 (prod)", 1),
        "dev/web": ("rule 2 (dev/*)", 2),
        "base/python": ("rule 3 (base/*)", 3),
        "other/misc": (None, None),
    }
    prod = next(r for r in doc["repositories"] if r["repository"] == "prod/api")
    verdicts = {d["tag"]: (d["verdict"], d["reason"]) for d in prod["decisions"]}
    assert verdicts["v5"] == ("keep", "rule 1 (prod): among the newest 2")
    assert verdicts["latest"] == ("keep", "rule 1 (prod): protected")
    assert verdicts["v1"][0] == "delete"
    assert verdicts["v1"][1].startswith("rule 1 (prod): not among the newest 2")
    assert doc["policy"]["format"] == "docr-rules"
    assert deletes(fake) == []


def test_explain_table_shows_rules_verdicts_and_reasons(docr: Docr, tmp_path: Path) -> None:
    policy = write(tmp_path, "policy.toml", POLICY)
    result = docr("cleanup", REGISTRY, "--policy", str(policy), "--explain")
    assert result.code == 0, str(result)
    text = result.stdout
    for needle in ("rule 1 (prod)", "rule 2 (dev/*)", "rule 3 (base/*)", "other/misc", "left alone"):
        assert needle in text
    assert "among the newest 2" in text
    assert "excluded by pattern" in text  # base/python's v3.11


def test_dry_run_deletes_nothing_and_apply_deletes_exactly_the_explained_set(
    docr: Docr, fake: Fake, tmp_path: Path
) -> None:
    policy = write(tmp_path, "policy.toml", POLICY)
    explained = explained_deletions(
        docr("cleanup", REGISTRY, "--policy", str(policy), "--explain", "-o", "json").json()
    )
    dry = docr("cleanup", REGISTRY, "--policy", str(policy), "-o", "json")
    assert dry.code == 0, str(dry)
    assert deletes(fake) == []
    plan = dry.json()["plan"]
    assert plan["version"] == 2
    planned = {(d["repository"], d["tag"] or "@" + d["digest"]) for d in plan["deletions"]}
    # A manifest deletion removes its tags: the explain lists those tags as deleted.
    covered = set(planned) | {(d["repository"], t) for d in plan["deletions"] for t in d["tags"]}
    assert explained <= covered
    assert {p for p in planned if p in explained or p[1].startswith("@")} == planned
    assert all(d["rule_index"] in (1, 2, 3) and d["rule"].startswith("rule ") for d in plan["deletions"])

    applied = docr("cleanup", REGISTRY, "--policy", str(policy), "--apply", "-o", "json")
    assert applied.code == 0, str(applied)
    assert tags_of(docr) == SURVIVORS
    assert manifest_count(docr, "dev/web") == 1  # a, b and the untagged one deleted by digest
    assert manifest_count(docr, "other/misc") == 2  # left alone, untagged included
    assert len(deletes(fake)) == len(plan["deletions"])
    assert not [r for r in deletes(fake) if "other%2Fmisc" in r["path"] or "other/misc" in r["path"]]


def test_a_saved_v2_plan_applies_later_and_a_tampered_one_deletes_nothing_outside_its_rules(
    docr: Docr, fake: Fake, tmp_path: Path
) -> None:
    policy = write(tmp_path, "policy.toml", POLICY)
    plan_path = tmp_path / "plan.json"
    assert docr("cleanup", REGISTRY, "--policy", str(policy), "--save-plan", str(plan_path)).code == 0
    plan = json.loads(plan_path.read_text())
    assert plan["version"] == 2
    assert plan["rules"]["format"] == "docr-rules"
    prod_victim = next(d for d in plan["deletions"] if d["repository"] == "prod/api")
    tampered = [
        # moved into a repository no rule selects
        {**prod_victim, "repository": "other/misc", "tag": "x"},
        # a tag the prod rule protects
        {**prod_victim, "tag": "latest"},
        # recorded under rule 2 while prod/api is handled by rule 1
        {**prod_victim, "tag": "v4", "rule_index": 2, "rule": "rule 2 (dev/*)"},
        # base/* excludes v*
        {
            **prod_victim,
            "repository": "base/python",
            "tag": "v3.11",
            "rule_index": 3,
            "rule": "rule 3 (base/*)",
        },
    ]
    plan["deletions"] = tampered + plan["deletions"]
    plan_path.write_text(json.dumps(plan))
    result = docr("cleanup", REGISTRY, "--plan-file", str(plan_path), "--apply", "-o", "json")
    assert result.code == 0, str(result)
    items = result.json()["report"]["items"]
    assert [i["status"] for i in items[:4]] == ["skipped"] * 4
    details = [i["detail"] for i in items[:4]]
    assert "not selected by any rule" in details[0]
    assert "protected under rule 1 (prod)" in details[1]
    assert "handled by rule 1 (prod)" in details[2]
    assert "excluded by pattern under rule 3 (base/*)" in details[3]
    assert tags_of(docr) == SURVIVORS


def test_a_version_1_plan_file_still_applies_as_before(docr: Docr, fake: Fake, tmp_path: Path) -> None:
    listed = docr("tags", "list", "prod/api", "-r", REGISTRY, "-o", "json").json()
    v1 = next(t for t in listed if t["tag"] == "v1")
    latest = next(t for t in listed if t["tag"] == "latest")
    document = {
        "version": 1,
        "registry": REGISTRY,
        "created_at": "2099-01-01T00:00:00+00:00",
        "policy": {
            "keep_last": 2,
            "older_than_seconds": None,
            "include_tags": [],
            "exclude_tags": [],
            "protected_tags": ["latest"],
            "include_repositories": [],
            "exclude_repositories": [],
            "delete_untagged": False,
            "untagged_older_than_seconds": None,
        },
        "repositories": ["prod/api"],
        "deletions": [
            {
                "kind": "tag",
                "repository": "prod/api",
                "digest": t["manifest_digest"],
                "tag": t["tag"],
                "tags": [],
                "updated_at": t["updated_at"],
                "compressed_size_bytes": None,
                "reason": "not among the newest 2",
            }
            for t in (latest, v1)
        ],
        "kept": [{"repository": "prod/api", "digest": "sha256:" + "0" * 64, "tag": "v5", "reason": "kept"}],
    }
    plan_path = write(tmp_path, "v1.json", json.dumps(document))
    result = docr("cleanup", REGISTRY, "--plan-file", str(plan_path), "--apply", "-o", "json")
    assert result.code == 0, str(result)
    statuses = [(i["tag"], i["status"], i["detail"]) for i in result.json()["report"]["items"]]
    assert statuses[0] == ("latest", "skipped", "tag latest is protected under the plan's policy")
    assert statuses[1][:2] == ("v1", "deleted")
    assert tags_of(docr)["prod/api"] == {"latest", "v2", "v3", "v4", "v5"}


def test_an_unknown_plan_version_is_refused_before_any_request(
    docr: Docr, fake: Fake, tmp_path: Path
) -> None:
    plan_path = write(tmp_path, "v9.json", json.dumps({"version": 9, "registry": REGISTRY}))
    result = docr("cleanup", REGISTRY, "--plan-file", str(plan_path), "--apply")
    assert result.code == ExitCode.USAGE, str(result)
    assert "plan file format version 9 is not supported" in result.stderr
    assert fake.requests() == []


def test_a_tag_pushed_again_between_plan_and_apply_is_not_deleted(
    docr: Docr, fake: Fake, tmp_path: Path
) -> None:
    policy = write(tmp_path, "policy.toml", POLICY)
    plan_path = tmp_path / "plan.json"
    assert docr("cleanup", REGISTRY, "--policy", str(policy), "--save-plan", str(plan_path)).code == 0
    planned = {
        d["tag"] for d in json.loads(plan_path.read_text())["deletions"] if d["repository"] == "prod/api"
    }
    assert "v1" in planned
    fake.control("POST", "/_fake/push", {"registry": REGISTRY, "repository": "prod/api", "tag": "v1"})
    result = docr("cleanup", REGISTRY, "--plan-file", str(plan_path), "--apply", "-o", "json")
    assert result.code == 0, str(result)
    item = next(i for i in result.json()["report"]["items"] if i["tag"] == "v1")
    assert item["status"] == "skipped"
    assert "pushed again since planning" in item["detail"]
    assert "v1" in tags_of(docr)["prod/api"]


ECR_POLICY = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "keep the 2 newest release images",
            "selection": {
                "tagStatus": "tagged",
                "tagPrefixList": ["v"],
                "countType": "imageCountMoreThan",
                "countNumber": 2,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": "everything else goes after 15 days",
            "selection": {
                "tagStatus": "any",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 15,
            },
            "action": {"type": "expire"},
        },
    ]
}


def test_an_ecr_lifecycle_policy_end_to_end_keeps_latest_under_an_any_rule(
    docr: Docr, fake: Fake, tmp_path: Path
) -> None:
    policy = write(tmp_path, "ecr.json", json.dumps(ECR_POLICY))
    args = (
        "cleanup",
        REGISTRY,
        "--policy",
        str(policy),
        "--include-repo",
        "prod/*",
        "--include-repo",
        "dev/*",
    )
    explained = docr(*args, "--explain", "-o", "json")
    assert explained.code == 0, str(explained)
    doc = explained.json()
    assert doc["policy"]["format"] == "ecr-lifecycle"
    prod = next(r for r in doc["repositories"] if r["repository"] == "prod/api")
    by_tags = {tuple(d["tags"]): d for d in prod["decisions"]}
    # latest (60 days old) is selected by the "any" rule but protected.
    assert by_tags[("latest",)]["verdict"] == "keep"
    assert "protected tag 'latest'" in by_tags[("latest",)]["reason"]
    result = docr(*args, "--apply", "-o", "json")
    assert result.code == 0, str(result)
    # Rule 1 keeps v5 and v4 and expires v1-v3; rule 2 expires what is older than 15 days among
    # the rest: latest (protected, kept) and a; b (10 days), c and the untagged one (5 days) stay.
    survivors = tags_of(docr)
    assert survivors["prod/api"] == {"latest", "v4", "v5"}
    assert survivors["dev/web"] == {"b", "c"}
    assert survivors["base/python"] == SURVIVORS["base/python"] | {"tmp-1"}  # not included
    assert manifest_count(docr, "dev/web") == 3


def test_the_delete_everything_guard_applies_to_policy_files(docr: Docr, fake: Fake, tmp_path: Path) -> None:
    everything = {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {
                    "tagStatus": "any",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 1,
                },
                "action": {"type": "expire"},
            }
        ]
    }
    policy = write(tmp_path, "ecr.json", json.dumps(everything))
    args = ("cleanup", REGISTRY, "--policy", str(policy), "--include-repo", "other/*", "--no-default-protect")
    refused = docr(*args, "--apply")
    assert refused.code == ExitCode.USAGE, str(refused)
    assert "other/misc" in refused.stderr
    assert "--allow-empty-repositories" in refused.stderr
    assert deletes(fake) == []
    allowed = docr(*args, "--apply", "--allow-empty-repositories")
    assert allowed.code == 0, str(allowed)
    # Its every manifest deleted, the repository itself is gone; the others are untouched.
    repositories = {r["name"] for r in docr("repos", "list", REGISTRY, "-o", "json").json()}
    assert repositories == set(CONTENT) - {"other/misc"}


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        (POLICY.replace("keep_last = 1", "keep_last = -1"), ["rule 2 (dev/*)", "keep_last"]),
        (POLICY.replace('older_than = "30d"', 'older_than = "soon"'), ["rule 3 (base/*)", "older_than"]),
        (POLICY.replace("keep_last = 2", "keep_lats = 2"), ["rule 1 (prod)", "keep_lats", "keep_last"]),
    ],
)
def test_an_invalid_policy_file_exits_2_naming_rule_and_field_before_any_request(
    docr: Docr, fake: Fake, tmp_path: Path, text: str, needles: list[str]
) -> None:
    policy = write(tmp_path, "bad.toml", text)
    result = docr("cleanup", REGISTRY, "--policy", str(policy), "--apply")
    assert result.code == ExitCode.USAGE, str(result)
    for needle in needles:
        assert needle in result.stderr
    assert fake.requests() == []


@pytest.mark.parametrize(
    "option",
    [
        ("--keep-last", "3"),
        ("--older-than", "3d"),
        ("--include-tag", "v*"),
        ("--exclude-tag", "v*"),
        ("--delete-untagged",),
        ("--untagged-older-than", "1d"),
    ],
)
def test_per_rule_options_are_refused_with_a_policy_file(
    docr: Docr, fake: Fake, tmp_path: Path, option: tuple[str, ...]
) -> None:
    policy = write(tmp_path, "policy.toml", POLICY)
    result = docr("cleanup", REGISTRY, "--policy", str(policy), *option)
    assert result.code == ExitCode.USAGE, str(result)
    assert f"--policy cannot be combined with {option[0]}" in result.stderr
    assert fake.requests() == []


def test_protect_extends_every_rule_and_no_default_protect_is_refused_for_a_native_file(
    docr: Docr, fake: Fake, tmp_path: Path
) -> None:
    policy = write(tmp_path, "policy.toml", POLICY)
    refused = docr("cleanup", REGISTRY, "--policy", str(policy), "--no-default-protect", "--apply")
    assert refused.code == ExitCode.USAGE, str(refused)
    assert "--no-default-protect applies to ECR lifecycle policies" in refused.stderr
    assert "default_protect = false" in refused.stderr
    assert fake.requests() == []
    applied = docr(
        "cleanup", REGISTRY, "--policy", str(policy), "--protect", "v1", "--protect", "a", "--apply"
    )
    assert applied.code == 0, str(applied)
    survivors = tags_of(docr)
    assert survivors["prod/api"] == SURVIVORS["prod/api"] | {"v1"}
    assert survivors["dev/web"] == SURVIVORS["dev/web"] | {"a"}


def test_explain_refuses_apply_and_a_saved_plan(docr: Docr, fake: Fake, tmp_path: Path) -> None:
    policy = write(tmp_path, "policy.toml", POLICY)
    for extra in (("--apply",), ("--save-plan", str(tmp_path / "p.json"))):
        result = docr("cleanup", REGISTRY, "--policy", str(policy), "--explain", *extra)
        assert result.code == ExitCode.USAGE, str(result)
        assert "--explain deletes nothing" in result.stderr
    assert fake.requests() == []
