"""``bound_info``: the pure rule that drops rate-limit header values which cannot be true."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from docr_async import RateLimitInfo
from docr_async._ratelimit_headers import MAX_TRUSTED_WAIT, bound_info

NOW = 1_700_000_000.0


def at(offset: float) -> datetime:
    return datetime.fromtimestamp(NOW + offset, tz=UTC)


@pytest.mark.parametrize(
    ("info", "expected", "problems"),
    [
        (None, None, []),
        (RateLimitInfo(), RateLimitInfo(), []),
        (RateLimitInfo(limit=5000, remaining=10, reset_at=at(3600)), None, []),
        (RateLimitInfo(remaining=0, reset_at=at(MAX_TRUSTED_WAIT)), None, []),
        (RateLimitInfo(remaining=0, reset_at=at(-100)), None, []),  # past: expired, harmless
        (
            RateLimitInfo(limit=5000, remaining=0, reset_at=at(MAX_TRUSTED_WAIT + 1)),
            RateLimitInfo(limit=5000, remaining=0, reset_at=None),
            ["ratelimit-reset"],
        ),
        (
            RateLimitInfo(remaining=0, reset_at=at(10 * 365 * 86_400)),
            RateLimitInfo(remaining=0, reset_at=None),
            ["ratelimit-reset"],
        ),
        (
            RateLimitInfo(limit=10, remaining=11, reset_at=at(60)),
            RateLimitInfo(limit=10, remaining=10, reset_at=at(60)),
            ["ratelimit-remaining"],
        ),
        (RateLimitInfo(remaining=10**6), None, []),  # no limit to compare with
        (
            RateLimitInfo(limit=0, remaining=5, reset_at=at(86_400 * 2)),
            RateLimitInfo(limit=0, remaining=0, reset_at=None),
            ["ratelimit-reset", "ratelimit-remaining"],
        ),
    ],
)
def test_bound_info(info: RateLimitInfo | None, expected: RateLimitInfo | None, problems: list[str]) -> None:
    bounded, found = bound_info(info, now=NOW)
    assert bounded == (info if expected is None and not problems else expected)
    assert [problem.split(" ", 1)[0] for problem in found] == problems
    if not problems:
        assert bounded is info  # unchanged values are not copied
