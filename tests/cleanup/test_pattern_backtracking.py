"""``re:`` patterns that backtrack exponentially are refused on load, before any request.

Python's ``re`` has no timeout: ``re:(a+)+b`` against a 40-character tag of ``a`` would hang the
planner (and the executor's re-checks) for hours. The check refuses the shapes that cause it (an
unbounded repeat of something made only of repeats, ``(a+)+``, ``(\\w+\\s?)*``, ``(a+|b)+``) and
keeps the everyday ones (``v\\d+(\\.\\d+)*``, ``(\\d+\\.)+\\d+``: a separator each round).
"""

from __future__ import annotations

import pytest

from docr_async import ValidationError
from docr_async.cleanup import PolicyFileError, RetentionRules
from docr_async.cleanup.policy import Pattern

CATASTROPHIC = [
    r"re:(a+)+b",
    r"re:(\w+\s?)+$",
    r"re:(?:a+|b)+c",
    r"re:((x*))*y",
    r"re:v(.*)*-rc",
    r"re:(a+b*)+$",
]
EVERYDAY = [
    r"re:v\d+(\.\d+)*",
    r"re:(\d+\.)+\d+",
    r"re:^sha-[0-9a-f]{7}$",
    r"re:(a{2})+",
    r"re:(a++)+b",  # possessive: no backtracking into it
    r"re:(?>a+)+b",  # atomic group
    r"re:(pr|mr)-\d+",
    "v1.*",
    "*-*-*-*",
]


@pytest.mark.parametrize("text", CATASTROPHIC)
def test_exponential_patterns_are_refused_with_the_reason(text: str) -> None:
    with pytest.raises(ValidationError, match="exponential"):
        Pattern(text)


@pytest.mark.parametrize("text", EVERYDAY)
def test_everyday_patterns_load(text: str) -> None:
    assert Pattern(text).text == text


def test_a_policy_file_with_one_names_the_rule_and_the_field() -> None:
    document = {"rules": [{"repositories": ["web"], "include_tags": [r"re:(a+)+b"], "keep_last": 1}]}
    with pytest.raises(PolicyFileError, match=r"rule 1 \(web\): include_tags entry .*exponential") as caught:
        RetentionRules.from_dict(document)
    assert caught.value.field == "include_tags"
