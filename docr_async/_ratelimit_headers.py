"""Reading the rate-limit headers of a response: ``ratelimit-*`` and ``Retry-After``.

A leaf module: pure parsing, no I/O, no clock of its own, and no import of anything above
``_constants`` and ``_builders`` (the error tree refers to :class:`RateLimitInfo`, so this module
must not refer back).
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

from ._builders import frozen_builder
from ._constants import HEADER_LIMIT, HEADER_REMAINING, HEADER_RESET, HOURLY_WINDOW

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["MAX_TRUSTED_WAIT", "RETRY_AFTER_CAP", "RateLimitInfo", "bound_info", "parse_retry_after"]

RETRY_AFTER_CAP = 86_400.0
"""The largest wait :func:`parse_retry_after` returns (24 h); anything longer is clamped to it.

Clamping keeps parsing total; whether to believe the value is decided later: anything above
:data:`MAX_TRUSTED_WAIT` counts as missing (``RateLimiter.trusted_retry_after``).
"""

CLOCK_SKEW = 60.0
"""How far the server's clock may run ahead of ours before a reset looks impossible."""
MAX_TRUSTED_WAIT = HOURLY_WINDOW + CLOCK_SKEW
"""The longest wait a rate-limit header is believed about (one hourly window, plus clock skew).

The hourly budget is a sliding window: its oldest request expires within the hour, so an honest
``ratelimit-reset`` is never further ahead, and the burst limit's ``Retry-After`` is about a minute.
A longer ``ratelimit-reset`` or ``Retry-After`` comes from a broken proxy or a hostile server and is
treated as missing: obeying it would stop every task of the client for days.
"""

_MAX_COUNT = 2**31 - 1
"""Larger ``ratelimit-limit`` / ``ratelimit-remaining`` values are treated as malformed."""
_MAX_EPOCH = 253_402_300_799
"""9999-12-31T23:59:59Z, the last second ``datetime`` can represent."""
_MAX_DIGITS = 19
_INTEGER = re.compile(r"\+?\d{1,19}", re.ASCII)
_DELTA_SECONDS = re.compile(r"\+?(\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_WANTED = frozenset({HEADER_LIMIT, HEADER_REMAINING, HEADER_RESET})
_CASE_INSENSITIVE = (CIMultiDict, CIMultiDictProxy)


def _parse_int(value: object, maximum: int) -> int | None:
    """Return a non-negative integer header value, or ``None`` when missing or malformed."""
    if value is None:
        return None
    text = value if type(value) is str else str(value)
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS):  # the common case, in C
        text = text.strip()
        if not _INTEGER.fullmatch(text):
            return None
    number = int(text)
    return number if number <= maximum else None


_RESETS: dict[int, datetime] = {}
"""``ratelimit-reset`` epoch seconds -> the datetime (the same value comes with many responses)."""
_RESETS_SIZE = 64


def _reset_at(seconds: int) -> datetime:
    """The UTC datetime of an epoch second, memoised (a pure function of ``seconds``)."""
    found = _RESETS.get(seconds)
    if found is None:
        if len(_RESETS) >= _RESETS_SIZE:
            _RESETS.clear()
        found = _RESETS[seconds] = datetime.fromtimestamp(seconds, tz=UTC)
    return found


@attrs.frozen(kw_only=True)
class RateLimitInfo:
    """The hourly budget as last reported by the API."""

    limit: int | None = None
    """Requests allowed per sliding hour (``ratelimit-limit``), e.g. 5000."""
    remaining: int | None = None
    """Requests left in the sliding hour (``ratelimit-remaining``)."""
    reset_at: datetime | None = None
    """When the oldest counted request expires (``ratelimit-reset``), timezone-aware UTC."""

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo | None:
        """Read the ``ratelimit-*`` headers of a response.

        Header names are matched case-insensitively, for a plain ``dict`` as for aiohttp's
        ``CIMultiDictProxy``. A malformed value (not a plain non-negative integer, or absurdly
        large) becomes ``None`` for that field. Never raises.

        Args:
            headers: The response headers.

        Returns:
            The budget, or ``None`` when none of the three headers is present.
        """
        if isinstance(headers, _CASE_INSENSITIVE):
            raw_limit = headers.get(HEADER_LIMIT)
            raw_remaining = headers.get(HEADER_REMAINING)
            raw_reset = headers.get(HEADER_RESET)
        else:
            found: dict[str, str] = {}
            for key, value in headers.items():
                name = str(key).lower()
                if name in _WANTED:
                    found.setdefault(name, value)
            raw_limit = found.get(HEADER_LIMIT)
            raw_remaining = found.get(HEADER_REMAINING)
            raw_reset = found.get(HEADER_RESET)
        if raw_limit is None and raw_remaining is None and raw_reset is None:
            return None
        reset = _parse_int(raw_reset, _MAX_EPOCH)
        build = _build_info if cls is RateLimitInfo else cls
        return build(
            limit=_parse_int(raw_limit, _MAX_COUNT),
            remaining=_parse_int(raw_remaining, _MAX_COUNT),
            reset_at=None if reset is None else _reset_at(reset),
        )

    def seconds_until_reset(self, now: float | None = None) -> float | None:
        """Return seconds from ``now`` (epoch seconds, default the wall clock) to ``reset_at``, at least 0."""
        if self.reset_at is None:
            return None
        current = time.time() if now is None else now
        return max(self.reset_at.timestamp() - current, 0.0)


_build_info = frozen_builder(RateLimitInfo)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Return the seconds to wait that a ``Retry-After`` header asks for.

    Accepts delta-seconds (``"29"``, and also ``"1.5"``, which some proxies send) and an HTTP-date
    (``"Wed, 21 Oct 2015 07:28:00 GMT"``; a date without a zone is taken as UTC).

    Args:
        value: The header value, or ``None`` when the header is missing.
        now: The current time in Unix epoch seconds, used to turn a date into a delay.

    Returns:
        The delay in seconds: ``0.0`` for a date in the past, at most :data:`RETRY_AFTER_CAP`
        (24 h). ``None`` when the header is missing, empty, negative, ``inf``, ``nan``, in
        exponent notation or otherwise not understood. Never raises.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text)  # a 400-digit number becomes inf: that is "huge", so clamp it
        return RETRY_AFTER_CAP if math.isinf(seconds) else min(seconds, RETRY_AFTER_CAP)
    try:
        when = parsedate_to_datetime(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = when.timestamp() - now
    except (ValueError, TypeError, OverflowError, IndexError):
        return None
    if math.isnan(delay):
        return None
    return min(max(delay, 0.0), RETRY_AFTER_CAP)


def bound_info(info: RateLimitInfo | None, *, now: float) -> tuple[RateLimitInfo | None, list[str]]:
    """Return ``info`` without the parts that cannot be true, and what was dropped.

    * a ``reset_at`` more than :data:`MAX_TRUSTED_WAIT` after ``now`` becomes ``None`` (missing);
    * a ``remaining`` above ``limit`` becomes ``limit``.

    Pure: the caller decides what to log.

    Args:
        info: The parsed headers, or ``None``.
        now: The current time in Unix epoch seconds.

    Returns:
        The bounded info (the same object when nothing changed) and one line per dropped part.
    """
    if info is None:
        return None, []
    problems: list[str] = []
    reset_at, remaining = info.reset_at, info.remaining
    if reset_at is not None and reset_at.timestamp() - now > MAX_TRUSTED_WAIT:
        problems.append(f"ratelimit-reset {reset_at.isoformat()} is more than {MAX_TRUSTED_WAIT:g}s ahead")
        reset_at = None
    if info.limit is not None and remaining is not None and remaining > info.limit:
        problems.append(f"ratelimit-remaining {remaining} exceeds ratelimit-limit {info.limit}")
        remaining = info.limit
    if not problems:
        return info, problems
    return attrs.evolve(info, reset_at=reset_at, remaining=remaining), problems
