"""bot.terminal_text: what the CLI prints for people never carries terminal control characters,
even from an index built before ingest removed them."""

from __future__ import annotations

import json

from bot.json_output import dumps, hits_json
from bot.terminal_text import hits_text, printable
from retrieval.models import Passage, SearchHit


def old_hit() -> SearchHit:
    """A passage as an index built before control characters were cleaned at ingest holds it."""
    text = "Putin \x1b]0;pwned\x07visits \x1b[2JMoscow\tfor talks."
    passage = Passage("k1", "a/b", "Putin visits", text, 0, len(text))
    return SearchHit(passage, 0.5, dense_score=0.4, keyword_rank=1)


def test_printable_keeps_newlines_and_tabs_and_drops_the_rest() -> None:
    assert printable("a\x1b[31mb\x07\nc\td\x9b") == "a[31mb\nc\td"


def test_passages_of_an_old_index_print_without_control_characters() -> None:
    out = hits_text([old_hit()])
    assert out.splitlines()[0] == " 1. 0.5000 (dense 0.400, keyword #1) a/b [0:44]"
    assert "\x1b" not in out and "\x07" not in out
    assert "Moscow for talks." in out  # whitespace folded, words kept


def test_json_keeps_the_text_and_escapes_control_characters() -> None:
    line = dumps(hits_json([old_hit()]))
    assert "\x1b" not in line and "\\u001b" in line
    assert json.loads(line)[0]["text"] == old_hit().passage.text


def test_a_doc_id_from_a_file_named_with_controls_is_shown_escaped_on_its_line() -> None:
    passage = Passage("k2", "bad\nname \x1b[31mred", "Title", "Some text.", 0, 10)
    out = hits_text([SearchHit(passage, 0.5, dense_score=0.4, keyword_rank=1)])
    assert out.splitlines()[0].endswith(" bad\\x0aname \\x1b[31mred [0:10]")
    assert "\x1b" not in out and len(out.splitlines()) == 2


def test_a_copy_in_the_same_folder_is_no_other_outlet() -> None:
    from datetime import date

    from bot.terminal_text import answer_text
    from prompts.citations import Answer, Citation, Coverage

    def answer(*citations: Citation) -> Answer:
        return Answer("Q?", "Tolls rise [1].", citations, True, "extractive", Coverage(2, date(2026, 11, 1)))

    copies = Citation(1, "notes/tunnel.md", "Tolls", "q", 0, 1, also_in=("notes/tolls.md",))
    assert '"Tolls" (undated)\n' in answer_text(answer(copies)) + "\n"  # was '+1 outlet' ('+2 outlets')
    wire = Citation(
        1, "w/1", "Tolls", "q", 0, 1, outlet="Wire", also_in=("c/1", "c/2"), also_outlets=("Courier",)
    )
    assert '"Tolls" (undated) +1 outlet\n' in answer_text(answer(wire)) + "\n"
