"""The benchmark's control systems."""

from __future__ import annotations

from datetime import date

from bench.systems import AsOfQuizDate, Bm25Articles
from retrieval.models import Article


def _article(doc_id: str, text: str, day: date) -> Article:
    return Article(doc_id, text, text, "Gazette", day, None, "test")


def test_the_as_of_control_never_returns_an_article_published_after_the_question() -> None:
    articles = [
        _article("old", "harbour bridge repair plan approved", date(2023, 6, 1)),
        _article("new", "harbour bridge repair plan approved again", date(2023, 7, 1)),
        _article("other", "school lunch menu", date(2023, 6, 2)),
    ]
    question = "bridge repair plan"
    control = AsOfQuizDate(Bm25Articles(articles), articles, {question: date(2023, 6, 15)})
    assert control.rank(question) == ["old"]
    assert set(AsOfQuizDate(Bm25Articles(articles), articles, {}).rank(question)) == {"old", "new"}
