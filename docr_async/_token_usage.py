"""What the rest of a token's users send, read from the hourly budget: pure, clock-free logic.

DigitalOcean's ``ratelimit-remaining`` is the token's hourly budget, shared by every process and
program that uses the token. While the oldest request of the sliding hour has not expired (the
reported ``ratelimit-reset`` stays the same), nothing is added back to it, so the drop of the
lowest ``remaining`` reported between two moments is exactly what the token sent in between, by
anyone. Take away what this client sent in between and the rest is what the others sent.
:class:`TokenUsage` makes that measurement for the adaptive burst limiter
(:class:`~docr_async._adaptive.BurstController`) over the last burst window, so it knows how
full the token's window is instead of having to learn it from 429s alone.

What counts as "this client sent" is the responses it saw with a ``remaining`` above zero: a burst
429 reports ``remaining: 0`` and (on FakeDOCR, and probably on DigitalOcean) is not counted. If
the server did count 429s, they would show as the others' sends: the estimate errs towards a
fuller window, the safe side. A request whose response never came back (a dropped connection)
errs the same way. Requests in flight at either end of the window make the split between "mine" and
"others" uncertain by at most the client's concurrency, on a server that counts exactly; a budget
read from replicas that disagree is less exact, and :attr:`WindowUsage.spread` says by how much
(the furthest a report of the window sat above the newest count). The budget is the account's,
though (docs/real-world.md): another token of the same account reads as this token's other
users, so the estimate errs towards a fuller window; the controller therefore still probes, now
and then, past a token the budget shows full.

When the measurement is impossible (no ``ratelimit-*`` headers; the oldest request expired during
the window, as it does all the time for a token busy for more than an hour), :meth:`recent`
returns ``None`` and the limiter falls back to what 429s tell it. A response without the headers
may still have been counted (an endpoint or a proxy that drops them): it would pass for another
user's send, so the measurement starts again after it.
"""

from __future__ import annotations

from collections import deque

import attrs

__all__ = ["TokenUsage", "WindowUsage"]


@attrs.frozen
class WindowUsage:
    """What the token sent in the last window, as far as the reports reach back.

    Attributes:
        total: Requests the server counted against the token in the span, by anyone.
        mine: This client's counted requests among them.
        span: The seconds the measurement covers (at most the window).
        spread: How far above the newest count a report in the window sat, at most: responses
            overtaken by newer ones, or a budget that jitters (replicas that disagree). The
            measurement is no more exact than that.
    """

    total: int
    mine: int
    span: float
    spread: int = 0

    @property
    def others(self) -> int:
        """Requests the rest of the token's users sent in the span (never below zero)."""
        return max(0, self.total - self.mine)


class TokenUsage:
    """Measures, over a sliding window, the token's requests and this client's share of them."""

    __slots__ = ("_above", "_low", "_mine", "_reset", "_samples", "window")

    def __init__(self, window: float) -> None:
        self.window = window
        """The span measured: the burst window, in seconds."""
        self._reset: float | None = None
        """The ``ratelimit-reset`` (epoch seconds) the current run of reports shares."""
        self._low: int | None = None
        """The lowest ``remaining`` reported under ``_reset``: the server's newest count."""
        self._mine = 0
        """This client's counted responses so far."""
        self._samples: deque[tuple[float, int, int]] = deque()
        """``(time, low, mine)`` at each report under ``_reset`` in the last window, oldest first."""
        self._above: deque[tuple[float, int]] = deque()
        """``(time, remaining - low)`` of the reports in the last window, a sliding maximum."""

    def report(self, now: float, remaining: int | None, reset_ts: float | None) -> None:
        """Record one response's ``ratelimit-remaining`` and ``ratelimit-reset`` (epoch seconds).

        A response with ``remaining`` 0 (a 429, or an exhausted hour) was not counted; it is
        ignored. A response without both headers may have been counted without this client
        knowing it: the measurement starts again after it. A report with an earlier reset than
        the current one was overtaken by a newer response; only its count is kept.
        """
        if remaining is None or reset_ts is None:
            # A counted response that says nothing (a proxy, an endpoint without the headers):
            # it is in the budget's drop but not in this client's count, so it would pass for
            # another user's send. No drop can be split across it.
            self._low = None
            self._restart()
            return
        if remaining <= 0:
            return
        self._mine += 1
        if self._reset is not None and reset_ts < self._reset:
            return
        if reset_ts != self._reset or self._low is None:
            # The oldest request expired (or this is the first report): the budget grew back by
            # an unknown amount, so no drop can be measured across this point.
            self._reset = reset_ts
            self._low = remaining
            self._restart()
        else:
            self._low = min(self._low, remaining)
        self._samples.append((now, self._low, self._mine))
        above = self._above
        value = remaining - self._low
        while above and above[-1][1] <= value:
            above.pop()
        above.append((now, value))
        self._forget(now)

    def _restart(self) -> None:
        """Drop every report: no drop can be measured across this point."""
        self._samples.clear()
        self._above.clear()

    def _forget(self, now: float) -> None:
        """Drop the reports older than the last window."""
        cutoff = now - self.window
        for reports in (self._samples, self._above):
            while reports and reports[0][0] < cutoff:
                reports.popleft()

    def recent(self, now: float) -> WindowUsage | None:
        """What the token sent from the oldest report of the last window until now.

        ``None`` when nothing can be measured: fewer than two reports in the window since the
        oldest request of the hour last expired.
        """
        self._forget(now)
        if len(self._samples) < 2 or self._low is None:
            return None
        start, low, mine = self._samples[0]
        spread = self._above[0][1] if self._above else 0
        return WindowUsage(
            total=max(0, low - self._low), mine=self._mine - mine, span=now - start, spread=spread
        )
