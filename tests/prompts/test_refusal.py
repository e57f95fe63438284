"""The refusal on a small coverage: a fact one article states is answered, not refused for lack
of other reports; a question the folder knows nothing about is still refused (a real index of
``tests/data/small_coverage``: three short articles, one of them undated)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from config import Settings
from prompts.citations import CANNOT_ANSWER
from prompts.desk import Desk
from prompts.extractive import answer_extractively
from tests.prompts.seed_hits import text_hit

SMALL_COVERAGE = Path(__file__).resolve().parents[1] / "data" / "small_coverage"


@pytest.fixture(scope="module")
def small_desk(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[Desk]:
    desk = Desk.open(settings, tmp_path_factory.mktemp("small-coverage"), build=False)
    report = desk.reindex(SMALL_COVERAGE)
    assert report.added == 3
    yield desk
    desk.close()


@pytest.mark.parametrize(
    ("question", "sentence", "short"),
    [
        (
            "How many visitors did the jazz festival draw?",
            "The Eastbay jazz festival drew a record 30,000 visitors over the weekend, organisers said.",
            "30,000",
        ),
        (
            "How long did the dock strike last?",
            "The dock workers' strike at the port of Eastbay ended on Tuesday after eleven days, union"
            " leader Maria Kovacs said.",
            "eleven days",
        ),
        (
            "Who is the union leader?",
            "The dock workers' strike at the port of Eastbay ended on Tuesday after eleven days, union"
            " leader Maria Kovacs said.",
            "Maria Kovacs",
        ),
    ],
)
def test_a_fact_one_article_reports_is_answered_with_its_sentence(
    small_desk: Desk, question: str, sentence: str, short: str
) -> None:
    answer = small_desk.ask_offline(question)
    assert answer.grounded, answer.confidence
    assert answer.citations[0].quote == sentence
    assert short in sentence
    # the direct line only when its gate vouches for it (one report, confidence .3-.7: it does not)
    assert answer.short is None or answer.short.text == short


@pytest.mark.parametrize(
    "question",
    ["Who won the Nobel Prize in physics?", "What is the capital of Peru?", "When did the airport open?"],
)
def test_a_question_the_folder_knows_nothing_about_is_refused(small_desk: Desk, question: str) -> None:
    assert small_desk.ask_offline(question).text == CANNOT_ANSWER


def test_low_similarity_alone_does_not_refuse_when_keyword_search_matched() -> None:
    hit = text_hit(
        "Strike over\n\nThe strike is over, union leader Maria Kovacs said on Tuesday.",
        doc="harbor",
        outlet="Harbor Times",
        published=None,
        score=0.5,
    )
    matched = replace(hit, dense_score=0.1, keyword_rank=0)
    answer = answer_extractively("Who is the union leader?", [matched], min_relevance=0.25, max_sentences=4)
    assert answer.grounded and "union leader Maria Kovacs" in answer.citations[0].quote
    unmatched = replace(hit, dense_score=0.1, keyword_rank=None)
    answer = answer_extractively("Who is the union leader?", [unmatched], min_relevance=0.25, max_sentences=4)
    assert answer.text == CANNOT_ANSWER and answer.confidence == 0.0
