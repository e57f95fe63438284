"""Offline topic and article summaries over the seed coverage: stories, dates, citations, outlets."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from corpus import SAMPLE_CORPUS
from prompts.citations import CANNOT_ANSWER, Answer, Citation
from prompts.desk import Desk
from prompts.stories import SummaryOptions, cluster_stories, is_relevant
from prompts.summaries import Summary, describe_when, summarize_article, summarize_offline
from prompts.terms import key_terms
from retrieval.models import Passage, SearchHit
from retrieval.sources import read_folder
from tests.prompts.citation_check import citations_verify

ARTICLES = {a.doc_id: a for a in read_folder(SAMPLE_CORPUS)[0]}
TOPIC = "Putin and Xi meetings"
VIDEO_SUMMIT, MOSCOW_VISIT = "003_8ede539651f993fa", "001_f0604eb540a79818"
BEIJING_VISIT = {"000_5f72ae501e33b219", "002_34079f22cab0dbd2", "004_b7190532bde7290f"}
TODAY = date(2023, 4, 1)


def cited(text: str, citations: tuple[Citation, ...]) -> Answer:
    return Answer("q", text, citations, grounded=True, mode="extractive")


@pytest.fixture(scope="module")
def summary(seed_desk: Desk) -> Summary:
    return summarize_offline(seed_desk, TOPIC, today=TODAY)


def test_the_summary_covers_the_three_meetings_in_date_order(summary: Summary):
    starts = [s.start for s in summary.stories]
    assert starts == [date(2021, 12, 15), date(2022, 2, 2), date(2023, 3, 17)]
    video, beijing, moscow = summary.stories
    assert "video meeting" in video.text
    assert "Beijing" in beijing.text
    assert "Moscow" in moscow.text
    assert {c.doc_id for c in video.citations} == {VIDEO_SUMMIT}
    assert {c.doc_id for c in beijing.citations} <= BEIJING_VISIT
    assert {c.doc_id for c in moscow.citations} == {MOSCOW_VISIT}


def test_every_sentence_of_every_story_is_cited_and_its_quote_holds(summary: Summary):
    for story in summary.stories:
        assert story.citations
        assert citations_verify(cited(story.text, story.citations), ARTICLES)
    overall = tuple(c for c in summary.citations if f"[{c.n}]" in summary.text)
    assert citations_verify(cited(summary.text, overall), ARTICLES)


def test_the_overall_summary_is_each_storys_lead_in_date_order(summary: Summary):
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", summary.text)]
    assert len(numbers) == 3
    docs = [summary.citations[n - 1].doc_id for n in numbers]
    assert docs[0] == VIDEO_SUMMIT and docs[1] in BEIJING_VISIT and docs[2] == MOSCOW_VISIT


def test_citations_are_numbered_in_reading_order(summary: Summary):
    numbers = [int(n) for s in summary.stories for n in re.findall(r"\[(\d+)\]", s.text)]
    assert numbers == list(range(1, len(summary.citations) + 1))


def test_no_sentence_is_quoted_twice(summary: Summary):
    quotes = [c.quote for c in summary.citations]
    assert len(quotes) == len(set(quotes))


def test_the_summary_states_its_coverage_window(summary: Summary):
    assert re.fullmatch(r"based on [45] articles, Dec 2021 to Mar 2023", summary.coverage.describe())


def test_outlet_notes_say_who_covered_each_story(summary: Summary):
    notes = {n.story: n.text for n in summary.outlet_notes}
    assert notes[0] == "15 Dec 2021: only Al Jazeera covered this."
    assert notes[1].startswith("2–3 Feb 2022: covered by RT and South China Morning Post")
    assert "only" in notes[1]  # names one outlet mentions and the other doesn't


def test_since_keeps_only_the_2023_article(seed_desk: Desk):
    summary = summarize_offline(seed_desk, TOPIC, since=date(2023, 1, 1), today=TODAY)
    assert len(summary.stories) == 1
    assert {c.doc_id for c in summary.citations} == {MOSCOW_VISIT}
    assert summary.coverage.describe() == "based on 1 article, Mar 2023"


def test_a_window_named_in_the_topic_filters_like_since(seed_desk: Desk):
    summary = summarize_offline(seed_desk, f"{TOPIC} since 2023", today=TODAY)
    assert summary.topic == f"{TOPIC} since 2023"
    assert summary.filters.since == date(2023, 1, 1)
    assert {c.doc_id for c in summary.citations} == {MOSCOW_VISIT}


def test_outlet_filter_keeps_only_that_outlet(seed_desk: Desk):
    summary = summarize_offline(seed_desk, TOPIC, outlet="South China Morning Post", today=TODAY)
    assert summary.citations
    assert {c.outlet for c in summary.citations} == {"South China Morning Post"}


def test_old_evidence_is_flagged_relative_to_today(seed_desk: Desk, summary: Summary):
    assert summary.notice is None  # 2023-04-01 is two weeks after the newest article
    later = summarize_offline(seed_desk, TOPIC, today=date(2026, 1, 1))
    assert later.notice is not None
    assert "17 Mar 2023, 2 years before today (2026-01-01)" in later.notice


def test_a_topic_the_coverage_lacks_is_not_summarised(seed_desk: Desk):
    summary = summarize_offline(seed_desk, "sourdough bread baking", today=TODAY)
    assert summary.text == CANNOT_ANSWER and not summary.grounded and summary.stories == ()


def test_to_json_and_as_answer_carry_the_same_summary(summary: Summary):
    data = summary.to_json()
    assert set(data) >= {"topic", "mode", "summary", "coverage", "stories", "outlet_notes", "citations"}
    assert [s["from"] for s in data["stories"]] == ["2021-12-15", "2022-02-02", "2023-03-17"]
    answer = summary.as_answer()
    assert answer.citations == summary.citations and answer.coverage == summary.coverage
    where = [answer.text.index(when) for when in ("15 Dec 2021", "2–3 Feb 2022", "17 Mar 2023")]
    assert where == sorted(where)


@pytest.mark.parametrize("ref", [VIDEO_SUMMIT, "Russia and China hail ties amid tensions with West"])
def test_an_article_summary_quotes_that_article_only(seed_desk: Desk, ref: str):
    summary = summarize_article(seed_desk, ref, today=TODAY)
    assert {c.doc_id for c in summary.citations} == {VIDEO_SUMMIT}
    assert 2 <= len(summary.citations) <= 4
    assert citations_verify(cited(summary.text, summary.citations), ARTICLES)
    assert summary.coverage.describe() == "based on 1 article, Dec 2021"


def test_an_unknown_article_is_not_summarised(seed_desk: Desk):
    summary = summarize_article(seed_desk, "sourdough bread baking", today=TODAY)
    assert summary.text == CANNOT_ANSWER and summary.notice


def _hit(doc: str, day: date, text: str) -> SearchHit:
    return SearchHit(Passage(f"{doc}-p", doc, doc, text, 0, len(text), published=day), 1.0, dense_score=0.6)


def test_articles_days_apart_on_the_same_event_form_one_story_and_distant_ones_do_not():
    day = date(2022, 2, 2)
    hits = [
        _hit("a", day, "Putin and Xi will meet in Beijing at the Winter Olympics opening."),
        _hit("b", day + timedelta(days=1), "Putin arrives in Beijing to meet Xi before the Olympics."),
        _hit("c", day + timedelta(days=60), "Putin and Xi talk by video about trade."),
    ]
    stories = cluster_stories(hits, SummaryOptions())
    assert [[a.doc_id for a in s.articles] for s in stories] == [["a", "b"], ["c"]]


@pytest.mark.parametrize(
    ("text", "dense", "best", "kept"),
    [
        # a name the embedder does not know: low in meaning, but the passage names it
        ("The Eastbay jazz festival drew a record 30,000 visitors.", 0.26, 0.29, True),
        ("The Eastbay jazz festival drew a record 30,000 visitors.", 0.14, 0.29, False),
        # named, but far below the best passage: the relative floor still holds
        ("The Eastbay jazz festival drew a record 30,000 visitors.", 0.26, 0.8, False),
        # close in meaning without the name: the absolute floor holds
        ("A jazz festival drew a record 30,000 visitors.", 0.26, 0.29, False),
        ("A jazz festival drew a record 30,000 visitors.", 0.31, 0.33, False),
    ],
)
def test_a_passage_naming_every_word_of_the_topic_needs_less_meaning(
    text: str, dense: float, best: float, kept: bool
):
    hit = SearchHit(Passage("d-p", "d", "Jazz", text, 0, len(text)), 1.0, dense_score=dense)
    assert is_relevant(hit, best, key_terms("Eastbay"), SummaryOptions()) is kept


def test_same_day_articles_on_unrelated_events_stay_apart():
    day = date(2022, 2, 2)
    hits = [
        _hit("a", day, "Putin and Xi will meet in Beijing at the Winter Olympics opening."),
        _hit("b", day, "Floods closed schools across Queensland as rivers rose overnight."),
    ]
    assert len(cluster_stories(hits, SummaryOptions())) == 2


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        (date(2021, 12, 15), date(2021, 12, 15), "15 Dec 2021"),
        (date(2022, 2, 2), date(2022, 2, 3), "2–3 Feb 2022"),
        (date(2022, 2, 28), date(2022, 3, 2), "28 Feb – 2 Mar 2022"),
        (date(2022, 12, 30), date(2023, 1, 2), "30 Dec 2022 – 2 Jan 2023"),
        (None, None, "undated"),
    ],
)
def test_describe_when(start, end, text):
    assert describe_when(start, end) == text
