"""bench.windows: the fallback windows, re-dating, and the threshold rule it re-applies."""

from __future__ import annotations

from datetime import date, timedelta

from bench.windows import ANSWERABLE_DAYS, Asked, fallbacks, redated, rule


def test_fallback_windows_lie_before_the_questions_own_window() -> None:
    windows = fallbacks(date(2023, 6, 16), date(2023, 6, 23))
    assert windows["30 days before"] == (date(2023, 5, 17), date(2023, 6, 15))
    assert windows["all before"] == (None, date(2023, 6, 15))
    assert windows["up to the asking day"] == (None, date(2023, 6, 23))
    assert set(fallbacks(None, date(2023, 6, 23))) == {"up to the asking day"}  # "before 2023": no start


def test_redated_days_keep_their_weekday_and_land_in_the_answerable_range() -> None:
    for day in (date(2021, 1, 8), date(2021, 7, 2), date(2021, 12, 31)):
        moved = redated(day)
        assert moved.weekday() == day.weekday()
        assert ANSWERABLE_DAYS[0] <= moved <= ANSWERABLE_DAYS[1] + timedelta(days=6)


def test_a_fallback_stands_in_only_when_the_window_is_refused() -> None:
    sure = Asked("judged", "this week", (0.6, True), {"all before": (0.9, False)})
    assert sure.answered("all before", 0.5) == (True, True)
    unsure = Asked("judged", "this week", (0.1, True), {"all before": (0.4, True)})
    assert unsure.answered(None, 0.3) == (False, False)
    assert unsure.answered("all before", 0.3) == (True, True)
    assert unsure.answered("all before", 0.5) == (False, False)


def test_the_rule_is_the_least_threshold_refusing_85_percent_of_the_unanswerable() -> None:
    asked = [Asked("unanswerable", "", (c / 100, False)) for c in range(1, 21)]  # .01 .. .20
    assert rule(asked, None, "unanswerable") == 0.171  # 17 of 20 (.01 .. .17) below it
