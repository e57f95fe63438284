"""Timelines over the seed coverage: one dated, cited event per story, oldest first."""

from __future__ import annotations

from datetime import date

import pytest

from corpus import SAMPLE_CORPUS
from prompts.citations import CANNOT_ANSWER, Answer
from prompts.desk import Desk
from prompts.timelines import Timeline, build_timeline
from retrieval.sources import read_folder
from tests.prompts.citation_check import citations_verify

ARTICLES = {a.doc_id: a for a in read_folder(SAMPLE_CORPUS)[0]}
TOPIC = "Putin and Xi meetings"
TODAY = date(2023, 4, 1)


@pytest.fixture(scope="module")
def timeline(seed_desk: Desk) -> Timeline:
    return build_timeline(seed_desk, TOPIC, today=TODAY)


def test_the_timeline_lists_the_three_meetings_with_their_dates(timeline: Timeline):
    assert [(e.start, e.end) for e in timeline.events] == [
        (date(2021, 12, 15), date(2021, 12, 15)),
        (date(2022, 2, 2), date(2022, 2, 3)),
        (date(2023, 3, 17), date(2023, 3, 17)),
    ]
    video, beijing, moscow = timeline.events
    assert "video meeting" in video.text and "Beijing" in beijing.text
    assert moscow.citations[0].doc_id == "001_f0604eb540a79818"


def test_each_event_is_one_cited_sentence_with_its_sources(timeline: Timeline):
    for event in timeline.events:
        assert len(event.citations) == 1
        assert citations_verify(Answer("q", event.text, event.citations, True, "extractive"), ARTICLES)
        assert event.outlets and event.articles


def test_the_rendered_timeline_is_a_dated_bullet_list(timeline: Timeline):
    lines = timeline.render_text().splitlines()
    assert [line.split(" — ")[0] for line in lines] == ["- 15 Dec 2021", "- 2–3 Feb 2022", "- 17 Mar 2023"]
    assert lines[0].endswith("[1] (Al Jazeera)")
    assert timeline.as_answer().coverage.describe().endswith("Dec 2021 to Mar 2023")


def test_since_keeps_only_later_events(seed_desk: Desk):
    later = build_timeline(seed_desk, TOPIC, since=date(2023, 1, 1), today=TODAY)
    assert [e.start for e in later.events] == [date(2023, 3, 17)]


def test_an_old_timeline_says_so(seed_desk: Desk, timeline: Timeline):
    assert timeline.notice is None
    later = build_timeline(seed_desk, TOPIC, today=date(2025, 6, 1))
    assert later.notice is not None and "2 years before today" in later.notice


def test_a_topic_the_coverage_lacks_has_no_events(seed_desk: Desk):
    empty = build_timeline(seed_desk, "sourdough bread baking", today=TODAY)
    assert empty.events == () and empty.render_text() == CANNOT_ANSWER


def test_to_json_lists_events_oldest_first(timeline: Timeline):
    data = timeline.to_json()
    assert [e["from"] for e in data["events"]] == ["2021-12-15", "2022-02-02", "2023-03-17"]
    assert data["coverage"]["from"] == "2021-12-15"
