"""The embedded backend's passage table: passages are shown from lean rows, and a generation
written before lean rows existed keeps answering and gets them on the next reindex."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from config import Settings
from prompts.desk import Desk
from retrieval.backends.embedded import EmbeddedSource, KeywordTable, RowRef, date_window
from retrieval.backends.lean_rows import LEAN_ROWS, lean_row, passage_from_lean
from retrieval.catalog import current_generation
from retrieval.store import passage_from_payload


def _row(text: str, **metadata: object) -> dict[str, object]:
    from llama_index.core.schema import TextNode
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    node = TextNode(text=text, metadata=metadata, start_char_idx=12, end_char_idx=12 + len(text))
    return node_to_metadata_dict(node) | {"node_id": node.node_id}


@pytest.mark.parametrize(
    "row",
    [
        _row(
            "Sechin — «the head» of Rosneft\nsaid 14 April.\u2028Next line",
            title="Talks in Beijing",
            outlet="rt.com",
            published="2022-02-04",
            url="https://example.org/a",
            article_id="a-1",
            sentences=[[0, 30], [31, 45]],
        ),
        _row("No date, no outlet.", title="", sentences=[]),
        _row("A bad date.", title="T", published="4 Feb 2022", article_id="a-2"),
    ],
)
def test_a_lean_row_makes_the_same_passage_as_the_full_row(row: dict[str, object]) -> None:
    full = passage_from_payload(str(row["node_id"]), row)
    lean = passage_from_lean(json.loads(json.dumps(lean_row(row), ensure_ascii=False)))
    assert lean == full


def _table_passages(table: KeywordTable) -> list[object]:
    return [table.passage(i) for i in range(table.size)]


def test_every_passage_shown_from_its_lean_row_equals_the_one_from_the_corpus(
    built: tuple[Desk, Path],
) -> None:
    desk, generation = built
    desk.close()
    bm25 = generation / "bm25"
    lean = KeywordTable(bm25)
    assert lean._lean is not None
    from_lean = _table_passages(lean)
    lean.close()
    (bm25 / LEAN_ROWS).rename(bm25 / "aside.jsonl")
    full = KeywordTable(bm25)
    assert full._lean is None
    assert _table_passages(full) == from_lean and len(from_lean) > 5
    full.close()


def test_a_row_as_a_candidate_carries_its_passages_key_article_outlet_and_date(
    built: tuple[Desk, Path],
) -> None:
    desk, generation = built
    desk.close()
    table = KeywordTable(generation / "bm25")
    for i in range(table.size):
        ref = table.candidate(i)
        assert isinstance(ref, RowRef)
        passage = ref.full()
        assert (ref.key, ref.doc_id, ref.outlet, ref.published) == (
            passage.key,
            passage.doc_id,
            passage.outlet,
            passage.published,
        )
        assert table.candidate(i) is passage  # decoded once, then handed as it is
    table.close()


def test_a_search_decodes_only_the_passages_it_shows(built: tuple[Desk, Path]) -> None:
    desk, _generation = built
    source = desk.searcher.source
    assert isinstance(source, EmbeddedSource) and source.passages is not None
    ranking = desk.searcher.ranking("election results and the vote count")
    decoded = [p for p in source.passages.passages if p is not None]
    assert not decoded and len(ranking.order) > 3  # ranked from the columns alone
    hits = desk.search("election results and the vote count", k=1)
    decoded = [p for p in source.passages.passages if p is not None]
    assert len(hits) == 1 and hits[0].passage in decoded and len(decoded) < len(ranking.order)
    desk.close()


def test_a_lean_file_that_does_not_match_its_corpus_is_not_used(
    built: tuple[Desk, Path], caplog: pytest.LogCaptureFixture
) -> None:
    desk, generation = built
    desk.close()
    lean = generation / "bm25" / LEAN_ROWS
    lines = lean.read_text(encoding="utf-8").splitlines(keepends=True)
    lean.write_text("".join(lines[:-1]), encoding="utf-8")  # a row short
    with caplog.at_level(logging.WARNING):
        table = KeywordTable(generation / "bm25")
    assert table._lean is None and "does not match its corpus" in caplog.text
    assert table.passage(table.size - 1).text
    table.close()


def test_an_index_without_lean_rows_keeps_answering_and_gets_them_on_the_next_reindex(
    built: tuple[Desk, Path], settings: Settings, corpus_copy: Path
) -> None:
    desk, old = built
    question = "Who is the head of Rosneft?"
    before = desk.ask_offline(question)
    desk.close()
    (old / "bm25" / LEAN_ROWS).unlink()  # the layout before lean rows

    desk = Desk.open(settings, old.parent.parent, build=False)
    answer = desk.ask_offline(question)
    assert answer.grounded and (answer.text, answer.citations) == (before.text, before.citations)
    report = desk.reindex(corpus_copy)  # nothing changed in the corpus
    assert (report.unchanged, report.embedded) == (5, 0)
    new = current_generation(desk.index_root)
    assert new is not None and new != old and (new / "bm25" / LEAN_ROWS).is_file()
    assert desk.ask_offline(question).text == before.text
    again = desk.reindex(corpus_copy)
    assert current_generation(desk.index_root) == new and again.embedded == 0
    desk.close()


@pytest.mark.parametrize(
    ("since", "until"),
    [("2022-02-04", None), (None, "2022-02-04"), ("2022-02-01", "2022-02-28"), ("2023-01-01", "2022-01-01")],
)
def test_a_date_window_admits_what_comparing_the_date_strings_admits(
    since: str | None, until: str | None
) -> None:
    dates = np.array(
        ["2022-02-04", "", "2022-02-03", "4 Feb 2022", "2022-02-28", "2022-03-01", "2022-02-04", "1999"]
    )
    values, place = np.unique(dates, return_inverse=True)
    start = date.fromisoformat(since) if since else None
    end = date.fromisoformat(until) if until else None
    expected = dates != ""
    if since:
        expected &= dates >= since
    if until:
        expected &= dates <= until
    assert date_window(values, place, start, end).tolist() == expected.tolist()


def test_an_index_without_article_ranks_says_so_once_and_the_next_reindex_adds_them(
    built: tuple[Desk, Path], settings: Settings, corpus_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import shutil

    from retrieval.catalog import ARTICLE_BM25

    desk, old = built
    question = "Who is the head of Rosneft?"
    before = desk.ask_offline(question)
    desk.close()
    shutil.rmtree(old / ARTICLE_BM25)  # the layout before whole-article keyword ranks

    with caplog.at_level(logging.WARNING):
        desk = Desk.open(settings, old.parent.parent, build=False)
        assert desk.ask_offline(question).grounded  # still answers
    [warning] = [r.getMessage() for r in caplog.records if ARTICLE_BM25 in r.getMessage()]
    assert "run 'newsdesk index'" in warning and "\n" not in warning
    caplog.clear()
    report = desk.reindex(corpus_copy)  # nothing changed in the corpus
    assert (report.unchanged, report.embedded) == (5, 0)
    new = current_generation(desk.index_root)
    assert new is not None and (new / ARTICLE_BM25).is_dir()
    assert desk.ask_offline(question).text == before.text
    assert not [r for r in caplog.records if ARTICLE_BM25 in r.getMessage()]
    desk.close()
