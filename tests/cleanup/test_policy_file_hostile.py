"""Policy files as careless or hostile users write them: each one loads as meant or is refused with
a message naming the file (or rule and field), never hangs, never half-loads."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from docr_async.cleanup import PolicyFileError, RetentionRules
from docr_async.cleanup.rules import MAX_POLICY_FILE_BYTES

if TYPE_CHECKING:
    from pathlib import Path

NATIVE = {"rules": [{"repositories": ["web"], "keep_last": 3}]}


@pytest.mark.parametrize("name", ["policy.json", "policy.toml"])
def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path, name: str) -> None:
    # Windows editors (Notepad, PowerShell's Out-File) start UTF-8 files with a BOM; RFC 8259
    # lets a parser ignore it. The rules must load exactly as without it.
    text = (
        json.dumps(NATIVE) if name.endswith(".json") else '[[rules]]\nrepositories = ["web"]\nkeep_last = 3\n'
    )
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    rules = RetentionRules.from_file(path)
    assert rules == RetentionRules.from_dict(NATIVE, source=str(path))


@pytest.mark.parametrize("version", [True, 1.0, "1"])
def test_version_must_be_the_integer_1(version: object) -> None:
    # true == 1 and 1.0 == 1 in Python: neither is the version number 1.
    with pytest.raises(PolicyFileError, match="version must be 1"):
        RetentionRules.from_dict({"version": version, **NATIVE})


def test_the_integer_version_1_is_accepted() -> None:
    assert RetentionRules.from_dict({"version": 1, **NATIVE}) == RetentionRules.from_dict(NATIVE)


def test_a_file_larger_than_the_limit_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    body = json.dumps(NATIVE)
    path.write_text(body + " " * (MAX_POLICY_FILE_BYTES - len(body) + 1))
    with pytest.raises(PolicyFileError, match=r"larger than 1 MiB") as caught:
        RetentionRules.from_file(path)
    assert str(path) in str(caught.value)
    # At the limit it still loads.
    path.write_text(body + " " * (MAX_POLICY_FILE_BYTES - len(body)))
    assert RetentionRules.from_file(path) == RetentionRules.from_dict(NATIVE, source=str(path))


def test_an_endless_device_is_refused_not_read_forever() -> None:
    with pytest.raises(PolicyFileError, match=r"larger than 1 MiB"):
        RetentionRules.from_file("/dev/zero")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"rules": [{"repositories": ["web"], "keep_last": 30, "keep_last": 0}]}', "keep_last"),
        (
            '{"rules": [{"rulePriority": 1, "description": "keep 50", "selection": {"tagStatus": "any",'
            ' "countType": "imageCountMoreThan", "countNumber": 50, "countNumber": 1},'
            ' "action": {"type": "expire"}}]}',
            "countNumber",
        ),
        ('{"rules": [], "rules": [{"repositories": ["web"], "keep_last": 1}]}', "rules"),
    ],
)
def test_a_json_key_given_twice_is_refused_not_silently_overwritten(
    tmp_path: Path, text: str, key: str
) -> None:
    # json.loads keeps the last value without a word: "keep_last": 30 followed by a stray
    # "keep_last": 0 would delete every tag. TOML refuses duplicate keys; JSON files must too.
    path = tmp_path / "policy.json"
    path.write_text(text)
    with pytest.raises(PolicyFileError, match=f"{key!r} is given twice"):
        RetentionRules.from_file(path)
