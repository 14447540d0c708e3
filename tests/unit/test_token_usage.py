"""TokenUsage: what the token's other users send, measured from the hourly ``ratelimit-remaining``."""

from __future__ import annotations

import pytest

from docr_async._token_usage import TokenUsage, WindowUsage

WINDOW = 60.0
RESET = 1_700_003_600.0


def test_the_drop_of_the_budget_less_my_own_requests_is_what_the_others_sent() -> None:
    usage = TokenUsage(WINDOW)
    usage.report(0.0, 1000, RESET)
    assert usage.recent(0.0) is None  # one report: nothing to compare yet
    usage.report(10.0, 990, RESET)  # 10 counted since, one of them mine
    usage.report(20.0, 975, RESET)  # 15 more, one of them mine
    assert usage.recent(20.0) == WindowUsage(total=25, mine=2, span=20.0)
    assert WindowUsage(total=25, mine=2, span=20.0).others == 23


def test_only_the_last_window_counts() -> None:
    usage = TokenUsage(WINDOW)
    for i in range(10):  # one report every 10 s, 20 requests by the token between any two
        usage.report(10.0 * i, 1000 - 20 * i, RESET)
    recent = usage.recent(90.0)
    assert recent == WindowUsage(total=120, mine=6, span=60.0)  # the reports at 30 s .. 90 s
    assert usage.recent(150.0 - 1) is None  # one report left in the window


def test_a_response_overtaken_by_a_newer_one_does_not_raise_the_count_back() -> None:
    usage = TokenUsage(WINDOW)
    usage.report(0.0, 1000, RESET)
    usage.report(1.0, 980, RESET)
    usage.report(2.0, 990, RESET)  # sent earlier, answered later: mine, but the server has moved on
    assert usage.recent(2.0) == WindowUsage(total=20, mine=2, span=2.0, spread=10)


def test_the_spread_is_the_furthest_a_report_of_the_last_window_sat_above_the_count() -> None:
    # Overtaken responses, or replicas that disagree: the measurement is no more exact than that.
    usage = TokenUsage(WINDOW)
    usage.report(0.0, 1000, RESET)
    usage.report(10.0, 900, RESET)
    usage.report(20.0, 930, RESET)  # 30 above the count
    usage.report(30.0, 880, RESET)
    usage.report(40.0, 885, RESET)  # 5 above
    recent = usage.recent(40.0)
    assert recent is not None
    assert (recent.total, recent.spread) == (120, 30)
    recent = usage.recent(85.0)  # the reports up to 20 s have left the window
    assert recent is not None
    assert (recent.total, recent.spread) == (0, 5)


def test_an_expired_oldest_request_restarts_the_measurement() -> None:
    # The oldest request of the sliding hour left it: the budget grew back by an unknown amount,
    # so no drop is measured across that point; my own count goes on.
    usage = TokenUsage(WINDOW)
    usage.report(0.0, 1000, RESET)
    usage.report(10.0, 980, RESET)
    usage.report(20.0, 985, RESET + 5)
    assert usage.recent(20.0) is None
    usage.report(30.0, 970, RESET + 5)
    assert usage.recent(30.0) == WindowUsage(total=15, mine=1, span=10.0)


def test_a_report_with_an_older_reset_is_stale_and_measures_nothing() -> None:
    usage = TokenUsage(WINDOW)
    usage.report(0.0, 1000, RESET)
    usage.report(10.0, 990, RESET)
    usage.report(11.0, 999, RESET - 1)  # overtaken: before the newer reset was reported
    assert usage.recent(11.0) == WindowUsage(total=10, mine=2, span=11.0)


def test_429s_and_exhausted_budgets_are_not_counted() -> None:
    # A burst 429 reports remaining 0 and is not counted by the server: it is neither a
    # measurement nor one of mine.
    usage = TokenUsage(WINDOW)
    usage.report(0.0, 1000, RESET)
    usage.report(1.0, 0, RESET)
    usage.report(4.0, 990, RESET)
    assert usage.recent(4.0) == WindowUsage(total=10, mine=1, span=4.0)


@pytest.mark.parametrize(("remaining", "reset"), [(None, RESET), (990, None), (None, None)])
def test_a_response_without_the_headers_restarts_the_measurement(
    remaining: int | None, reset: float | None
) -> None:
    # The server may have counted it (an endpoint or a proxy that drops the headers): across it,
    # this client's own send would pass for another user's. With the headers on every other
    # response only, every process alone would see "others" sending as much as itself.
    usage = TokenUsage(WINDOW)
    usage.report(0.0, 1000, RESET)
    usage.report(1.0, 999, RESET)
    usage.report(2.0, remaining, reset)
    usage.report(3.0, 997, RESET)
    assert usage.recent(3.0) is None  # one report since: nothing to measure yet
    usage.report(4.0, 996, RESET)
    assert usage.recent(4.0) == WindowUsage(total=1, mine=1, span=1.0)


def test_others_is_never_negative() -> None:
    # My requests in flight at the start of the window may be counted by the server before it.
    assert WindowUsage(total=3, mine=5, span=1.0).others == 0
