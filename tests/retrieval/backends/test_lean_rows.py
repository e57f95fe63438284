"""Lean rows stamped with the splitter that joined their sentence spans and the key terms stored
for each sentence: read as they are when both are current, joined as read (terms left out)
otherwise, and upgraded in place (crash-safe) on a reindex."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import retrieval.backends.lean_rows as lean_rows
from config import Settings
from prompts.desk import Desk
from retrieval.backends.embedded import KeywordTable
from retrieval.backends.lean_rows import LEAN_ROWS, LeanRows, header, is_current, upgrade
from retrieval.catalog import current_generation
from retrieval.models import Passage
from retrieval.splitting import SPLITTER
from retrieval.terms import TERMS, compute_key_terms

TEXT = "Florida Gov. Ron DeSantis signed the bill on Monday. Then it rained."
#: how a splitter without "Gov." split TEXT, and how the current one reads it
OLD_SPANS = [[0, 12], [13, 52], [53, 68]]
JOINED = ((0, 52), (53, 68))


def _row(key: str = "p-1") -> dict[str, object]:
    return {
        "key": key,
        "doc_id": "a-1",
        "title": "T",
        "text": TEXT,
        "start": 0,
        "end": len(TEXT),
        "outlet": "x.org",
        "published": "2022-02-04",
        "url": None,
        "sentences": OLD_SPANS,
    }


def _old_file(path: Path, rows: int = 3) -> Path:
    """Lean rows as written before the stamp: no header, spans of an older splitter."""
    path.write_text("".join(json.dumps(_row(f"p-{i}")) + "\n" for i in range(rows)), encoding="utf-8")
    return path


def _read(path: Path) -> list[Passage]:
    table = LeanRows.open(path)
    assert table is not None
    try:
        return [table.passage(i) for i in range(table.size)]
    finally:
        table.close()


def test_rows_without_a_stamp_are_joined_as_read(tmp_path: Path) -> None:
    path = _old_file(tmp_path / LEAN_ROWS)
    table = LeanRows.open(path)
    assert table is not None and table.size == 3 and not table.joined
    assert table.passage(0).sentences == JOINED
    table.close()


def test_an_upgrade_stores_the_joined_spans_and_stamps_them(tmp_path: Path) -> None:
    path = _old_file(tmp_path / LEAN_ROWS)
    before = _read(path)
    assert upgrade(path) and is_current(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == header() == {"lean_rows": 2, "splitter": SPLITTER, "terms": TERMS}
    assert [tuple(map(tuple, json.loads(line)["sentences"])) for line in lines[1:]] == [JOINED] * 3
    stored = json.loads(lines[1])["terms"].split("|")
    assert [frozenset(t.split()) for t in stored] == [compute_key_terms(TEXT[a:b]) for a, b in JOINED]
    assert "desanti" in stored[0].split()
    table = LeanRows.open(path)
    assert table is not None and table.joined and table.size == 3
    table.close()
    assert _read(path) == before
    assert not upgrade(path)  # once is enough


def test_stamped_rows_are_read_without_joining(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _old_file(tmp_path / LEAN_ROWS)
    upgrade(path)

    def no_join(*_args: object) -> None:
        raise AssertionError("stamped rows were joined again")

    monkeypatch.setattr(lean_rows, "join_spans", no_join)
    assert [p.sentences for p in _read(path)] == [JOINED] * 3


def test_stored_terms_are_used_only_under_the_current_terms_stamp(tmp_path: Path) -> None:
    path = _old_file(tmp_path / LEAN_ROWS)
    upgrade(path)
    current = _read(path)[0]
    assert len(current.terms.split("|")) == 2
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    stale = json.dumps({**header(), "terms": "another-stemmer"}) + "\n"
    path.write_text(stale + "".join(lines[1:]), encoding="utf-8")
    table = LeanRows.open(path)
    assert table is not None and table.joined and not table.termed
    passage = table.passage(0)
    table.close()
    assert passage.terms == "" and passage == current and not is_current(path)
    assert upgrade(path) and is_current(path)


def test_rows_stamped_by_another_splitter_are_joined_and_upgraded(tmp_path: Path) -> None:
    path = tmp_path / LEAN_ROWS
    rows = "".join(json.dumps(_row(f"p-{i}")) + "\n" for i in range(2))
    path.write_text(json.dumps({"lean_rows": 2, "splitter": "older"}) + "\n" + rows, encoding="utf-8")
    table = LeanRows.open(path)
    assert table is not None and table.size == 2 and not table.joined
    assert table.passage(1).sentences == JOINED and table.passage(1).terms == ""
    table.close()
    assert upgrade(path) and len(path.read_text(encoding="utf-8").splitlines()) == 3


def test_an_upgrade_killed_part_way_leaves_the_old_rows_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _old_file(tmp_path / LEAN_ROWS, rows=5)
    original = path.read_bytes()
    before = _read(path)
    real_join = lean_rows.join_spans
    calls = 0

    def dies_on_the_third(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt  # the process stops here: nothing after this line runs
        return real_join(text, spans)

    monkeypatch.setattr(lean_rows, "join_spans", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        upgrade(path)
    assert path.read_bytes() == original and not is_current(path)
    assert (tmp_path / f"{LEAN_ROWS}.partial").is_file()  # what the killed run was writing
    monkeypatch.setattr(lean_rows, "join_spans", real_join)
    assert _read(path) == before
    assert upgrade(path) and _read(path) == before
    assert not (tmp_path / f"{LEAN_ROWS}.partial").exists()


def _passages(bm25: Path) -> list[Passage]:
    table = KeywordTable(bm25)
    try:
        return [table.passage(i) for i in range(table.size)]
    finally:
        table.close()


def test_a_new_index_stores_joined_spans_stamped_with_the_current_splitter(
    built: tuple[Desk, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    desk, generation = built
    desk.close()
    lean = generation / "bm25" / LEAN_ROWS
    assert is_current(lean)
    expected = _passages(generation / "bm25")
    monkeypatch.setattr(lean_rows, "join_spans", lambda *_a: pytest.fail("joined as read"))
    passages = _passages(generation / "bm25")
    assert passages == expected and len(expected) > 5
    for p in passages:  # each sentence's key terms, stored
        stored = p.terms.split("|")
        assert [frozenset(t.split()) for t in stored] == [compute_key_terms(s) for s in p.sentence_texts()]


def test_an_index_with_unstamped_rows_answers_alike_and_is_upgraded_in_place_on_reindex(
    built: tuple[Desk, Path], settings: Settings, corpus_copy: Path
) -> None:
    desk, generation = built
    question = "Who is the head of Rosneft?"
    before = desk.ask_offline(question)
    desk.close()
    bm25 = generation / "bm25"
    new_rows = _passages(bm25)
    lean = bm25 / LEAN_ROWS
    lines = lean.read_text(encoding="utf-8").splitlines(keepends=True)
    lean.write_text("".join(lines[1:]), encoding="utf-8")  # the layout before the stamp
    assert not is_current(lean) and _passages(bm25) == new_rows

    desk = Desk.open(settings, generation.parent.parent, build=False)
    old = desk.ask_offline(question)
    assert (old.text, old.citations, old.short, old.confidence) == (
        before.text,
        before.citations,
        before.short,
        before.confidence,
    )
    report = desk.reindex(corpus_copy)  # nothing changed: the rows are upgraded, nothing rebuilt
    assert (report.unchanged, report.embedded) == (5, 0)
    assert current_generation(desk.index_root) == generation and is_current(lean)
    assert _passages(bm25) == new_rows
    desk.close()
    desk = Desk.open(settings, generation.parent.parent, build=False)
    assert desk.ask_offline(question).text == before.text
    desk.close()
