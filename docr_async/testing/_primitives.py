"""Primitives every layer of the fake shares: the JSON and clock types, a manual clock, timestamps
and reproducible identifiers."""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    import random

__all__ = [
    "DAY",
    "Clock",
    "JSONDict",
    "ManualClock",
    "between",
    "isoformat",
    "random_digest",
    "random_uuid",
    "token_for_seed",
]

JSONDict = dict[str, Any]
"""A JSON object as the fake builds it."""

Clock = Callable[[], float]
"""A callable returning Unix seconds, like :func:`time.time`."""

DAY = 86400.0


@functools.lru_cache(maxsize=1 << 16)
def isoformat(ts: float) -> str:
    """Format Unix seconds as RFC 3339 UTC with second precision, like ``2020-10-30T21:03:24Z``.

    Cached: listings format the same push times over and over.
    """
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_digest(rng: random.Random) -> str:
    """Return a random ``sha256:`` digest (64 lowercase hex digits)."""
    return f"sha256:{rng.getrandbits(256):064x}"


def between(rng: random.Random, low: int, high: int) -> int:
    """A fast ``rng.randint(low, high - 1)`` (seeding draws hundreds of thousands of sizes)."""
    return low + int(rng.random() * (high - low))


def random_uuid(rng: random.Random) -> str:
    """Return a random, reproducible version-4 UUID string."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def token_for_seed(seed: int, index: int = 0) -> str:
    """Return a deterministic personal-access-token-shaped string: ``dop_v1_`` + 64 hex digits."""
    return "dop_v1_" + hashlib.sha256(f"docr-fake-token:{seed}:{index}".encode()).hexdigest()


@attrs.define
class ManualClock:
    """A settable clock for tests: pass it as ``FakeDOCR(clock=...)`` and call :meth:`advance`."""

    now: float = 1_767_225_600.0  # 2026-01-01T00:00:00Z

    def __call__(self) -> float:
        """Return the current fake time in Unix seconds."""
        return self.now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` and return the new time."""
        self.now += seconds
        return self.now

    def set(self, now: float) -> None:
        """Jump to an absolute time."""
        self.now = now


@attrs.frozen
class ShiftedClock:
    """Another clock moved forward by a fixed offset (what ``advance_clock`` makes of a real clock)."""

    base: Clock
    offset: float

    def __call__(self) -> float:
        """Return the base clock's time plus the offset."""
        return self.base() + self.offset
