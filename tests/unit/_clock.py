"""Virtual time for tests: a clock and an async ``sleep`` that never really sleeps.

``FakeClock.sleep(d)`` parks the caller until virtual time reaches ``now + d``. Time advances only
when the event loop has run every ready task (the parked ones cannot run), and then jumps straight
to the earliest wake-up, waking every sleeper due by then. So many concurrent sleepers see
consistent times, as with a real clock, but a test that "waits" an hour takes a few milliseconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

__all__ = ["FakeClock"]

START = 1_700_000_000.0
"""2023-11-14T22:13:20Z: a whole number, so sums of whole seconds stay exact."""


class FakeClock:
    """A virtual clock in Unix epoch seconds.

    Attributes:
        now: The current virtual time.
        sleeps: Every delay passed to :meth:`sleep`, in call order.
    """

    def __init__(self, start: float = START, *, settle_rounds: int = 20) -> None:
        """Create a clock at ``start``; ``settle_rounds`` loop iterations run before each time jump."""
        self.now = start
        self.sleeps: list[float] = []
        self._settle_rounds = settle_rounds
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def time(self) -> float:
        """Return the virtual time (pass as ``clock=``)."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward by hand (does not wake sleepers before the next time jump)."""
        self.now += seconds

    @property
    def sleeping(self) -> int:
        """How many tasks are parked in :meth:`sleep`."""
        return sum(1 for _, _, fut in self._timers if not fut.done())

    async def sleep(self, delay: float) -> None:
        """Park the caller until virtual time reaches ``now + delay`` (pass as ``sleep=``)."""
        self.sleeps.append(delay)
        if delay <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._timers, (self.now + delay, next(self._seq), fut))
        if self._driver is None or self._driver.done():
            self._driver = loop.create_task(self._drive())
        await fut  # cancelling the caller cancels fut; the driver skips it

    async def _drive(self) -> None:
        while True:
            for _ in range(self._settle_rounds):
                await asyncio.sleep(0)
            timers = self._timers
            while timers and timers[0][2].done():
                heapq.heappop(timers)
            if not timers:
                return
            self.now = max(self.now, timers[0][0])
            while timers and timers[0][0] <= self.now:
                fut = heapq.heappop(timers)[2]
                if not fut.done():
                    fut.set_result(None)
