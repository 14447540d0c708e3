"""A FakeDOCR on a manual clock, a client on it, and a writer that changes it between polls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from docr_async import DOCRClient, RateLimiter
from docr_async.testing import FakeDOCR, GCConfig, ManualClock, SeedSpec

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator, Callable

    from docr_async.watch import WatchEvent

REGISTRY = "example"
INTERVAL = 60.0
SPEC = SeedSpec(repos=4, tags=16, untagged=4, shared_tag_ratio=0.0, days=10)


class Done(Exception):
    """Raised by the scripted sleep once the script has run."""


@pytest.fixture
async def fake() -> AsyncIterator[FakeDOCR]:
    async with FakeDOCR(seed=7, seed_spec=SPEC, clock=ManualClock(), gc=GCConfig(step_seconds=40)) as fake:
        yield fake


@pytest.fixture
async def client(fake: FakeDOCR) -> AsyncIterator[DOCRClient]:
    limiter = RateLimiter(clock=fake.clock)
    async with DOCRClient(fake.token, base_url=fake.url, rate_limiter=limiter) as client:
        yield client


class Script:
    """An injectable ``sleep``: each call is one interval; it advances the fake and runs the next change."""

    def __init__(
        self, fake: FakeDOCR, changes: list[Callable[[], Any] | None], *, extra_polls: int = 0
    ) -> None:
        self.fake = fake
        self.changes = changes
        self.extra_polls = extra_polls
        self.polls = 1  # the poll running now (the first starts before any sleep)
        self.sleeps: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.fake.advance_clock(seconds)
        index = self.polls - 1
        if index < len(self.changes):
            change = self.changes[index]
            if change is not None:
                change()
        elif index >= len(self.changes) + self.extra_polls:
            raise Done
        self.polls += 1


async def drain(
    events: AsyncIterable[WatchEvent], script: Script, seen: list[tuple[int, WatchEvent]]
) -> None:
    """Append every event, with the number of the poll that reported it, until the script ends."""
    async for event in events:
        seen.append((script.polls, event))


def repos(fake: FakeDOCR) -> dict[str, Any]:
    """The fake registry's repositories, by name."""
    return fake.state.registries[REGISTRY].repositories
