"""Dates in questions: windows resolved against today, "latest" answered from the newest story."""

from __future__ import annotations

from datetime import date

import pytest

from prompts.citations import CANNOT_ANSWER
from prompts.desk import Desk
from prompts.timeframes import (
    TimeFrame,
    empty_window_notice,
    focus_recent,
    outside_coverage_notice,
    resolve_time,
    stale_notice,
    strip_time,
)
from retrieval.models import Passage, SearchHit

TODAY = date(2024, 5, 15)
LATEST = "003_8ede539651f993fa", "001_f0604eb540a79818"  # Dec 2021, Mar 2023


@pytest.mark.parametrize(
    ("question", "since", "until", "recent"),
    [
        ("What is the latest meeting?", None, None, True),
        ("What happened most recently?", None, None, True),
        ("Is Putin still in power?", None, None, True),
        ("What did they agree in 2022?", date(2022, 1, 1), date(2022, 12, 31), False),
        ("Who met during 2021?", date(2021, 1, 1), date(2021, 12, 31), False),
        ("What happened last year?", date(2023, 1, 1), date(2023, 12, 31), False),
        ("What happened this year?", date(2024, 1, 1), TODAY, False),
        ("Any news this month?", date(2024, 5, 1), TODAY, False),
        ("What happened this week?", date(2024, 5, 8), TODAY, False),  # the last 7 days, not Monday on
        ("What happened in the past week?", date(2024, 5, 8), TODAY, False),
        ("What happened last week?", date(2024, 5, 6), date(2024, 5, 12), False),  # Monday to Sunday
        ("What happened last month?", date(2024, 4, 1), date(2024, 4, 30), False),
        ("What changed in the past 3 months?", date(2024, 2, 15), TODAY, False),
        ("What changed since March 2023?", date(2023, 3, 1), None, False),
        ("What did the Kremlin say in Feb. 2022?", date(2022, 2, 1), date(2022, 2, 28), False),
        ("What happened after 2022?", date(2023, 1, 1), None, False),
        ("What happened before 2023?", None, date(2022, 12, 31), False),
        ("What happened on 2022-02-04?", date(2022, 2, 4), date(2022, 2, 4), False),
        ("from 2021 to 2022", date(2021, 1, 1), date(2022, 12, 31), False),
        ("What about the 2022 Olympics?", None, None, False),
        ("When did Xi last visit Russia?", None, None, False),
    ],
)
def test_resolve_time_reads_windows_against_today(question, since, until, recent):
    frame = resolve_time(question, TODAY)
    assert (frame.since, frame.until, frame.prefer_recent) == (since, until, recent)


def test_a_time_frame_unpacks_as_since_until_prefer_recent():
    since, until, recent = resolve_time("the latest news in 2022", TODAY)
    assert (since, until, recent) == (date(2022, 1, 1), date(2022, 12, 31), True)


def test_explicit_dates_narrow_the_questions_window():
    frame = resolve_time("in 2022", TODAY).within(date(2022, 2, 1), None)
    assert frame.window == (date(2022, 2, 1), date(2022, 12, 31))


def test_window_phrases_are_stripped_before_answering_but_not_recency_words():
    assert strip_time("What did Putin and Xi agree in 2022?") == "What did Putin and Xi agree?"
    assert strip_time("What is the latest meeting?") == "What is the latest meeting?"
    assert strip_time("in 2022") == "in 2022"  # nothing else would be left


def _hit(day: date | None, dense: float, key: str) -> SearchHit:
    return SearchHit(Passage(key, key, key, "text", 0, 4, published=day), dense, dense_score=dense)


def test_focus_recent_keeps_the_newest_relevant_story():
    hits = [
        _hit(date(2021, 12, 15), 0.7, "a"),
        _hit(date(2023, 3, 17), 0.6, "b"),
        _hit(date(2023, 3, 10), 0.5, "c"),
        _hit(date(2024, 1, 1), 0.1, "weak"),
    ]
    kept = focus_recent(hits, top=4, min_dense=0.3)
    assert [h.passage.key for h in kept] == ["b", "c", "weak"]


def test_focus_recent_leaves_undated_evidence_alone():
    hits = [_hit(None, 0.7, "a")]
    assert focus_recent(hits, top=4, min_dense=0.3) == hits


def test_stale_notice_only_when_the_newest_evidence_is_old():
    assert stale_notice(date(2024, 4, 1), TODAY) is None
    notice = stale_notice(date(2023, 3, 17), TODAY)
    assert notice is not None and "17 Mar 2023, 1 year before today (2024-05-15)" in notice


def test_empty_window_notice_names_the_window_and_the_coverage():
    frame = TimeFrame(date(2023, 1, 1), date(2023, 12, 31), phrase="last year")
    notice = empty_window_notice(frame, date(2021, 12, 15), date(2022, 2, 3))
    assert notice == (
        'Read "last year" as 2023-01-01 to 2023-12-31; the coverage runs from 2021-12-15 to 2022-02-03.'
    )


START, END = date(2021, 12, 15), date(2023, 3, 17)


@pytest.mark.parametrize(
    ("since", "until", "notice"),
    [
        (
            date(2030, 1, 1),
            None,
            "The coverage has nothing from 2030-01-01 on; it runs from 2021-12-15 to 2023-03-17.",
        ),
        (
            None,
            date(2001, 1, 1),
            "The coverage has nothing up to 2001-01-01; it runs from 2021-12-15 to 2023-03-17.",
        ),
        (
            date(2020, 1, 1),
            date(2021, 12, 14),
            "The coverage has nothing from 2020-01-01 to 2021-12-14; it runs from 2021-12-15 to 2023-03-17.",
        ),
        (date(2023, 3, 17), None, None),  # the newest day is in the coverage
        (None, date(2021, 12, 15), None),  # and the oldest
        (date(2022, 5, 1), date(2022, 5, 2), None),  # inside: nothing to answer, not nothing to search
        (None, None, None),
    ],
)
def test_a_window_outside_the_coverage_says_so_and_gives_its_dates(
    since: date | None, until: date | None, notice: str | None
) -> None:
    assert outside_coverage_notice(since, until, START, END) == notice


def test_a_window_over_undated_coverage_says_none_is_dated() -> None:
    assert outside_coverage_notice(date(2030, 1, 1), None, None, None) == (
        "The coverage has nothing from 2030-01-01 on: none of its articles is dated."
    )


@pytest.fixture
def desk_in_2024(seed_desk: Desk) -> Desk:
    return Desk.compose(seed_desk.index, lambda: TODAY)  # the same index, on another clock


def test_the_latest_meeting_is_the_march_2023_visit(desk_in_2024: Desk):
    answer = desk_in_2024.ask_offline("What is the latest meeting?")
    assert answer.question == "What is the latest meeting?"
    assert {c.doc_id for c in answer.citations} == {LATEST[1]}
    assert "Moscow" in answer.text
    assert answer.coverage.describe() == "based on 1 article, Mar 2023"
    assert answer.notice is not None and "later developments are not in the coverage" in answer.notice


def test_a_year_in_the_question_keeps_only_that_years_articles(desk_in_2024: Desk):
    answer = desk_in_2024.ask_offline("What did Putin and Xi agree in 2022?")
    assert answer.citations
    assert all(c.published and c.published.year == 2022 for c in answer.citations)
    assert answer.question == "What did Putin and Xi agree in 2022?"


def test_last_year_reads_against_today(desk_in_2024: Desk):
    answer = desk_in_2024.ask_offline("What did Putin and Xi agree last year?")
    assert {c.doc_id for c in answer.citations} == {LATEST[1]}  # 2023 is last year in 2024


def test_a_window_with_no_articles_says_what_it_read_and_what_the_coverage_holds(desk_in_2024: Desk):
    answer = desk_in_2024.ask_offline("What did Putin and Xi agree this year?")
    assert answer.text == CANNOT_ANSWER
    assert answer.notice == (
        'Read "this year" as 2024-01-01 to 2024-05-15; the coverage runs from 2021-12-15 to 2023-03-17.'
    )


def test_an_ordinary_question_gets_no_time_notice(desk_in_2024: Desk):
    answer = desk_in_2024.ask_offline("Which court issued an arrest warrant for Putin?")
    assert answer.citations and answer.notice is None


def test_a_question_window_outside_the_users_window_is_empty_not_an_error(seed_desk: Desk) -> None:
    from datetime import date as day

    answer = seed_desk.ask_offline("What happened in 2019?", since=day(2020, 1, 1))
    assert not answer.citations


async def test_since_after_the_newest_article_says_why_the_coverage_is_silent(desk_in_2024: Desk) -> None:
    """Not a bare "the coverage doesn't say": the answer, summary and timeline say why."""
    since = date(2030, 1, 1)
    why = "The coverage has nothing from 2030-01-01 on; it runs from 2021-12-15 to 2023-03-17."
    answer = await desk_in_2024.ask("Who met Putin?", since=since)
    assert (answer.text, answer.notice) == (CANNOT_ANSWER, why)
    assert answer.to_json()["notice"] == why
    summary = await desk_in_2024.summarize("Putin", since=since)
    timeline = await desk_in_2024.summarize("Putin", since=since, timeline=True)
    assert summary.notice == why and timeline.notice == why


async def test_a_window_the_coverage_spans_gets_no_window_notice(desk_in_2024: Desk) -> None:
    answer = await desk_in_2024.ask("How do I bake sourdough bread?", since=date(2022, 1, 1))
    assert answer.text == CANNOT_ANSWER and answer.notice is None
