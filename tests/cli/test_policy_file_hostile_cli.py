"""``docr cleanup --policy FILE`` with files a careless or hostile user passes: exit 2 with a clear
message before any request, or (a BOM) the same result as the clean file."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest

from docr_async.cli import ExitCode

from .conftest import REGISTRY, Fake, Result

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

RULES = '[[rules]]\nrepositories = ["*"]\nkeep_last = 1\n'


def _make(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """The file for ``kind`` and a phrase its error message must contain."""
    path = tmp_path / "policy.toml"
    if kind == "missing":
        return path, "No such file"
    if kind == "directory":
        path.mkdir()
        return path, "policy"
    if kind == "dangling symlink":
        os.symlink(tmp_path / "nowhere", path)
        return path, "No such file"
    if kind == "latin-1":
        path.write_bytes(
            '[[rules]]\nname = "caf\xe9"\nrepositories = ["*"]\nkeep_last = 1\n'.encode("latin-1")
        )
        return path, "utf-8"
    if kind == "comment only":
        path.write_text("# nothing yet\n")
        return path, "rules must be a non-empty list"
    if kind == "duplicate key":
        path.write_text(RULES + "keep_last = 2\n")
        return path, "not valid TOML"
    if kind == "over 1 MiB":
        path.write_text(RULES + "#" * (1 << 20))
        return path, "larger than 1 MiB"
    if kind == "exponential regex":
        path.write_text(RULES + 'include_tags = ["re:(a+)+b"]\n')
        return path, "exponential"
    if kind == "keep_last as a string":
        path.write_text(RULES.replace("keep_last = 1", 'keep_last = "5"'))
        return path, "rule 1 (*): keep_last must be an integer >= 0"
    if kind == "keep_last as a bool":
        path.write_text(RULES.replace("keep_last = 1", "keep_last = true"))
        return path, "rule 1 (*): keep_last must be an integer >= 0"
    if kind == "no repositories":
        path.write_text("[[rules]]\nkeep_last = 1\n")
        return path, "rule 1: repositories is required"
    if kind == "version true":
        path.write_text("version = true\n" + RULES)
        return path, "version must be 1"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "directory",
        "dangling symlink",
        "latin-1",
        "comment only",
        "duplicate key",
        "over 1 MiB",
        "exponential regex",
        "keep_last as a string",
        "keep_last as a bool",
        "no repositories",
        "version true",
    ],
)
def test_a_bad_policy_file_exits_2_before_any_request(
    docr: Callable[..., Result], fake: Fake, tmp_path: Path, kind: str
) -> None:
    path, phrase = _make(tmp_path, kind)
    fake.control("DELETE", "/_fake/requests")
    result = docr("cleanup", REGISTRY, "--policy", str(path), "--apply")
    assert result.code == ExitCode.USAGE, str(result)
    assert phrase in result.stderr, str(result)
    assert fake.requests() == []


def test_a_json_policy_with_a_byte_order_mark_explains_like_the_clean_one(
    docr: Callable[..., Result], fake: Fake, tmp_path: Path
) -> None:
    fake.reset()  # the module's fake: other tests' deletions must not show in its request log
    document = json.dumps({"rules": [{"repositories": ["*"], "keep_last": 3}]})
    clean = tmp_path / "clean.json"
    clean.write_text(document)
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + document.encode())
    explained = [
        docr("cleanup", REGISTRY, "--policy", str(p), "--explain", "-o", "json") for p in (clean, bom)
    ]
    assert [r.code for r in explained] == [0, 0], [str(r) for r in explained]
    assert explained[0].json() == explained[1].json()
    assert not [r for r in fake.requests() if r["method"] == "DELETE"]


@pytest.mark.parametrize(
    "rule",
    [
        "keep_last = 0\ndefault_protect = false\n",
        'older_than = "0s"\ndefault_protect = false\n',
    ],
)
def test_the_delete_everything_guard_holds_for_a_native_file(
    docr: Callable[..., Result], fake: Fake, tmp_path: Path, rule: str
) -> None:
    fake.reset()
    names = sorted(r["name"] for r in docr("repos", "list", REGISTRY, "-o", "json").json())
    path = tmp_path / "policy.toml"
    path.write_text(f'[[rules]]\nrepositories = ["{names[0]}"]\n{rule}')
    before = docr("tags", "list", names[0], "-r", REGISTRY, "-o", "json").json()
    result = docr("cleanup", REGISTRY, "--policy", str(path), "--apply")
    assert result.code == ExitCode.USAGE, str(result)
    assert names[0] in result.stderr
    assert "--allow-empty-repositories" in result.stderr
    assert not [r for r in fake.requests() if r["method"] == "DELETE"]
    assert docr("tags", "list", names[0], "-r", REGISTRY, "-o", "json").json() == before


def test_no_token_in_plan_report_or_explain_with_a_policy_file(
    docr: Callable[..., Result], fake: Fake, tmp_path: Path
) -> None:
    fake.reset()
    policy = tmp_path / "policy.toml"
    policy.write_text('[[rules]]\nrepositories = ["*"]\nkeep_last = 30\ndelete_untagged = true\n')
    plan, report = tmp_path / "plan.json", tmp_path / "report.json"
    saved = docr("cleanup", REGISTRY, "--policy", str(policy), "--save-plan", str(plan), "-o", "json")
    assert saved.code == 0, str(saved)
    applied = docr("cleanup", REGISTRY, "--plan-file", str(plan), "--apply", "--report", str(report))
    assert applied.code == 0, str(applied)
    explained = docr("cleanup", REGISTRY, "--policy", str(policy), "--explain", "-o", "json")
    assert explained.code == 0, str(explained)
    assert json.loads(plan.read_text())["version"] == 2
    assert json.loads(report.read_text())["counts"]["deleted"] > 0
    for text in (plan.read_text(), report.read_text(), saved.stdout, explained.stdout):
        assert fake.token not in text
