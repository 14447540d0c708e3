"""Adapting the burst window to what the server actually allows: pure, clock-free logic.

DigitalOcean's burst limit (250 requests per sliding minute) is per token, never reported in a
header, and shared by every process that uses the token. A client that assumes it owns the whole
window collects 429s when others spend it too. :class:`BurstController` estimates the share this
client really gets and paces it there:

* **Decrease (estimate).** A burst 429 (one with ``Retry-After``) means the server's window is full.
  The sends this client has in its own window at that moment are what it got out of the server's
  window, so the effective limit becomes ``floor(decrease x sends in the window)`` (``decrease`` is
  0.95: the processes sharing the token settle just under its limit): at least one less than the
  current limit, but at most a quarter of it by one 429 (a client that had only just started sending
  has no estimate yet; a quarter, not a half, so eight processes starting together on one token
  converge in two rounds of 429s rather than four), and never below ``min_limit``. The 429s of
  requests that were already in flight when the first one arrived say nothing new: while the shared
  pause set by that 429 lasts, further 429s do not lower the limit again.
* **Measure.** DigitalOcean's ``ratelimit-remaining`` is the hourly budget every user of the
  token spends (the account's, in fact: other tokens of the account spend it too): while the
  hour's oldest request has not expired (the reported reset stays put), its drop over the last
  window, less this client's own counted requests, is what the others sent
  (:class:`~docr_async._token_usage.TokenUsage`), give or take the budget's **spread** (how far
  reports sat above the newest count: overtaken responses, replicas that disagree). So the
  controller knows how full the token's window is without waiting for a 429. With it, a burst 429
  also tells what the token's window holds (this client's sends plus the others'), the
  **carried** ceiling: the configured limit at first; after a measured 429, what the window held
  then; after a 429 without a measurement, unknown until a window without a 429 shows what the
  token carried; and raised by any window the token carried without a 429. A drop of more than
  two configured windows in one window is not a count of requests (a proxy, or a server that
  weighs them), nor is one of less than half of this client's own counted responses (a header
  replayed by a proxy): either is ignored, as if there were no headers.
* **Increase (refill).** With a measurement, while the limit held a send back and no 429 came for
  a window, and the token's sends fall short of the carried ceiling by more than twice the spread,
  the limit becomes this client's sends times ``carried / the token's sends`` in the last window:
  when others send less (a process finished), each remaining process takes up the freed room in
  proportion to its share, as the others' sends leave the window, so together they never claim it
  twice; a process left alone is back at the carried ceiling about one window after the others
  stopped. Noise within the spread never raises the limit (it would ratchet it up).
* **Increase (probe).** Each window of ``window`` seconds without a 429 in which the limit held a
  send back raises the limit by ``step`` of itself, unless the refill has room to take up; after
  three such probes in a row the step doubles with every further one, up to the configured limit.
  A 429 resets the count. With a measurement, the step is times this client's share of the
  token's sends, so processes sharing a token together raise its total by about one step; and a
  token full at the configured limit is not probed for eight windows in a row: processes that
  fill the token stop drawing 429s, while a budget that counts more than this token's window
  (another token of the account) cannot keep a client below its limit for good. Without a
  measurement (no headers; or the hour's oldest request expires all the time, as for a token busy
  for more than an hour) every such window probes, so a client left alone returns to the full
  limit within a few windows once the 429s have stopped.
* **Pacing.** When a shared pause ends, the server frees its window one expired request at a time,
  so the waiting sends are not released all at once (which would draw another round of 429s):
  consecutive sends are at least ``window / (4 x limit)`` apart, for one window after the pause
  and for as long as the limit stays below the configured one. The window's share is then spread
  over at least a quarter of the window instead of going out in one burst that the sliding window
  would repeat every window: an overflow of the shared window then costs each process about one
  429 and a short ``Retry-After`` (until the next expiry), not a pause until the next burst.

A client that is alone at the configured limit never sees a burst 429: the limit never moves and
nothing is paced (pacing needs a pause or a lowered limit), so it loses no throughput. Every method
takes ``now`` (seconds on any monotonic or epoch clock); nothing here sleeps, reads a clock or does
I/O.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ._token_usage import TokenUsage

__all__ = ["BurstController"]


class _Measured(NamedTuple):
    """What the token sent in the last window, per window, and how exact that is."""

    mine: float
    total: float
    spread: int


_GENTLE_WINDOWS = 3
"""Clean windows in a row that raise the limit by ``step`` only; the step doubles after them."""
_MAX_CUT = 4
"""One burst 429 lowers the limit to no less than a quarter of it."""
_IMPOSSIBLE = 2
"""A budget that dropped by more than this many configured windows in one window is not a count."""
_QUIET_WINDOWS = 8
"""Windows with the token full at the configured limit before probing past it all the same."""
_PACE_SPREAD = 4
"""While pacing, consecutive sends are at least ``window / (_PACE_SPREAD x limit)`` apart."""


class BurstController:
    """The effective burst limit of one client, adapted from its 429s (see the module docstring)."""

    def __init__(
        self,
        configured: int,
        window: float,
        *,
        decrease: float = 0.95,
        step: float = 0.02,
        min_limit: int = 1,
    ) -> None:
        """Create a controller at the configured limit.

        Args:
            configured: The burst limit the client was configured with (the ceiling).
            window: The burst window, in seconds.
            decrease: The fraction of the sends in the window kept after a burst 429.
            step: The first increase, as a fraction of the current limit, after a clean window.
            min_limit: The lowest effective limit.

        Raises:
            ValueError: A parameter is out of range.
        """
        if configured < 1 or not window > 0 or not 0 < decrease < 1 or not step > 0 or min_limit < 1:
            msg = "BurstController needs configured >= 1, window > 0, 0 < decrease < 1, step > 0, min >= 1"
            raise ValueError(msg)
        self.configured = configured
        self.window = float(window)
        self._decrease = decrease
        self._first_step = step
        self._clean = 0
        self._level = float(configured)
        self._min = min(min_limit, configured)
        self.limit = configured
        """The effective limit: sends allowed per window now."""
        self._period_start: float | None = None
        self._period_binding = False
        self._period_429 = False
        self._pause_end = 0.0
        self._pace_until = 0.0
        self._next_release = 0.0
        self.usage = TokenUsage(self.window)
        """What the token sent in the last window, from the reported hourly budget (:meth:`report`)."""
        self._carried: float | None = float(configured)
        """What the token's window holds: the configured limit until a 429 with a measurement
        shows less, then the most the token carried in a window without a 429 here (``None``:
        unknown, after a 429 that came without a measurement)."""
        self._quiet = 0
        """Windows in a row the budget showed the token full, with no 429 and no probe."""
        self._last_429 = -math.inf
        self._why = "no burst 429 for a window"

    # ------------------------------------------------------------------ feedback

    def on_429(self, now: float, *, in_window: int, echo: bool) -> int | None:
        """Record a burst 429; return the new limit when it changed.

        Args:
            now: The current time.
            in_window: The client's sends in its own window now (the 429'd one included).
            echo: The 429 arrived while the pause of an earlier one still holds (a request that
                was already in flight): it does not lower the limit again.
        """
        self._period_429 = True
        self._clean = 0
        self._last_429 = now
        if echo:
            return None
        self._quiet = 0
        usage = self._measure(now)
        if usage is None:
            self._carried = None  # the window is smaller than believed, by an unknown amount
        else:
            # The token's window is full now: it carries no more than this client's sends plus
            # what the others sent in the last window.
            full = max(float(self._min), in_window + usage.total - usage.mine)
            self._carried = full if self._carried is None else min(self._carried, full)
        estimate = math.floor(self._decrease * in_window)
        floor = math.ceil(self.limit / _MAX_CUT)
        new = max(self._min, min(self.limit - 1, max(estimate, floor)))
        if new == self.limit:
            return None
        self.limit = new
        self._level = float(new)
        return new

    def on_pause(self, now: float, until: float) -> None:
        """Record that every send is paused until ``until``; the release after it is paced."""
        if until > self._pause_end:
            self._pause_end = until
            self._pace_until = until + self.window
            self._next_release = until

    def tick(self, now: float, *, binding: bool) -> int | None:
        """Record a send attempt at ``now``; return the new limit when a probe or a refill raised it.

        Args:
            now: The current time.
            binding: The limit held this send back (the client wanted more than it allows).
        """
        if self._period_start is None:
            self._period_start = now
        changed: int | None = None
        if now - self._period_start >= self.window:
            changed = self._probe(now)
        self._period_binding = self._period_binding or binding
        if binding and self.limit < self.configured and now - self._last_429 >= self.window:
            changed = self._refill(now) or changed
        return changed

    @property
    def why(self) -> str:
        """Why the limit last went up: a probe after a clean window, or a refill."""
        return self._why

    def report(self, now: float, remaining: int | None, reset_ts: float | None) -> None:
        """Record a response's ``ratelimit-remaining`` and ``ratelimit-reset`` (epoch seconds)."""
        self.usage.report(now, remaining, reset_ts)

    def _measure(self, now: float) -> _Measured | None:
        """This client's and the token's sends in the last window, per window (``None``: unknown)."""
        usage = self.usage.recent(now)
        if usage is None or usage.span < self.window / 2:
            return None
        if usage.total > _IMPOSSIBLE * self.configured or 2 * usage.total < usage.mine:
            # More than a burst window can hold, or less than half of this client's own counted
            # responses (only its requests in flight at the start can be missing): the budget
            # does not count requests one by one (a proxy replaying a header, a server that
            # weighs them), so it says nothing about the window.
            return None
        per_window = self.window / usage.span
        return _Measured(usage.mine * per_window, usage.total * per_window, usage.spread)

    def _set_level(self, level: float) -> int | None:
        self._level = min(float(self.configured), level)
        new = max(self._min, math.floor(self._level))
        if new == self.limit:
            return None
        self.limit = new
        return new

    def _refill(self, now: float) -> int | None:
        """Take up, in proportion to this client's share, what the token carried before."""
        usage = self._measure(now)
        if usage is None:
            return None
        mine, total, spread = usage
        if not self._period_429:  # a window without a 429 here: the token carried this much
            carried = total if self._carried is None else max(self._carried, total)
            self._carried = min(float(self.configured), carried)
        if self._carried is None or total <= 0 or self._carried - total <= 2 * spread:
            return None  # no room, or none the budget's own spread could not account for
        target = mine * self._carried / total
        if target < self.limit + 1:
            return None
        self._why = f"the token's other users sent {total - mine:.0f} in the last window"
        return self._set_level(target)

    def _step(self) -> float:
        """The probe's step: ``step`` for the first probes in a row, then doubling."""
        return min(self._first_step * 2.0 ** max(0, self._clean - _GENTLE_WINDOWS), 1.0)

    def _probe(self, now: float) -> int | None:
        """Close a window of sends; raise the limit a step when it held sends back without a 429."""
        changed: int | None = None
        if not self._period_429 and self._period_binding and self.limit < self.configured:
            self._why = "no burst 429 for a window"
            usage = self._measure(now)
            share = 1.0
            if usage is not None:
                # A share of the step in proportion to this client's share of the token's
                # sends, so processes sharing a token together raise its total by about one step.
                share = min(usage.mine / usage.total, 1.0) if usage.total > 0 else 1.0
                carried = usage.total if self._carried is None else self._carried
                if usage.total + 2 * usage.spread + 1 < carried:
                    share = 0.0  # room the refill takes up
                elif carried >= self.configured and self._quiet < _QUIET_WINDOWS:
                    # Full at the configured limit: nothing to find, unless the budget counts
                    # more than this token's window (it is the account's, and other tokens spend
                    # it too), which only a probe after a while without a 429 can tell.
                    self._quiet += 1
                    share = 0.0
            if share > 0:
                self._clean += 1
                changed = self._set_level(self._level * (1 + self._step() * share))
        self._period_start = now
        self._period_binding = False
        self._period_429 = False
        return changed

    # ------------------------------------------------------------------ pacing

    def pacing(self, now: float) -> bool:
        """Whether sends are paced at ``now``: for one window after a pause, or while adapted."""
        return now >= self._pause_end and (now < self._pace_until or self.limit < self.configured)

    @property
    def pace_interval(self) -> float:
        """The least time between two paced sends: ``window / (4 x limit)``."""
        return self.window / (_PACE_SPREAD * self.limit)

    def release_wait(self, now: float) -> float:
        """Seconds a send must still wait for its paced release (0: none)."""
        if not self.pacing(now):
            return 0.0
        return max(self._next_release - now, 0.0)

    def released(self, now: float) -> None:
        """Record a send at ``now``: the next paced send is one interval later."""
        if self.pacing(now):
            self._next_release = max(self._next_release, now) + self.pace_interval
