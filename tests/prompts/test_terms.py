"""Key terms: a passage's stored sentence terms are taken in instead of computed again."""

from __future__ import annotations

import pytest

import prompts.terms as terms
from prompts.terms import key_terms, learn_terms
from retrieval.models import Passage
from retrieval.terms import compute_key_terms, sentence_terms

TEXT = "Igor Sechin heads Rosneft. The talks in Beijing ended on 14 April."
SPANS = ((0, 26), (27, 66))


def _passage(stored: str) -> Passage:
    return Passage("k", "a-1", "T", TEXT, 0, len(TEXT), sentences=SPANS, terms=stored)


def test_stored_terms_are_what_key_terms_computes() -> None:
    stored = sentence_terms(TEXT, SPANS)
    assert [set(t.split()) for t in stored.split("|")] == [key_terms(TEXT[a:b]) for a, b in SPANS]
    assert stored.split("|")[0] == "head igor rosneft sechin"


def test_learned_sentences_are_not_tokenised_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terms, "_CACHE", {})
    stored = sentence_terms(TEXT, SPANS)
    monkeypatch.setattr(terms, "compute_key_terms", lambda _t: pytest.fail("computed again"))
    learn_terms([_passage(stored)])
    assert [key_terms(TEXT[a:b]) for a, b in SPANS] == [set(t.split()) for t in stored.split("|")]


def test_a_passage_without_stored_terms_is_computed_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terms, "_CACHE", {})
    learn_terms([_passage("")])
    assert terms._CACHE == {}
    assert key_terms(TEXT[:26]) == set(compute_key_terms(TEXT[:26]))


def test_terms_stored_with_a_passage_do_not_change_what_it_equals() -> None:
    with_terms = _passage(sentence_terms(TEXT, SPANS))
    assert with_terms == _passage("") and hash(with_terms) == hash(_passage(""))
    assert "terms" not in repr(with_terms)
