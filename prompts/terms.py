"""Key terms of a text: its stemmed content words, and the names and numbers a question gives."""

from __future__ import annotations

import re
from collections.abc import Iterable

from retrieval.models import Passage
from retrieval.terms import SENTENCE_BREAK, compute_key_terms

_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b([A-Z][\w'-]*|\d{2,4})")
#: Texts' key terms, kept as passages recur across questions (and filled from the terms stored
#: with a passage's sentences, :func:`learn_terms`); emptied when it grows past this.
_CACHE_SIZE = 50_000
_CACHE: dict[str, frozenset[str]] = {}


def _key_terms(text: str) -> frozenset[str]:
    found = _CACHE.get(text)
    if found is None:
        found = compute_key_terms(text)
        _remember(text, found)
    return found


def _remember(text: str, terms: frozenset[str]) -> None:
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    _CACHE[text] = terms


def learn_terms(passages: Iterable[Passage]) -> None:
    """Take the key terms stored with each passage's sentences when it was indexed (the same
    :func:`retrieval.terms.compute_key_terms`), so its sentences are not tokenised again."""
    for passage in passages:
        if not passage.terms:
            continue
        text = passage.text
        for (a, b), terms in zip(passage.sentences, passage.terms.split(SENTENCE_BREAK), strict=False):
            sentence = text[a:b]
            if sentence not in _CACHE:
                _remember(sentence, frozenset(terms.split()))


def key_terms(text: str) -> set[str]:
    """Stemmed content words of ``text`` (cached: passages recur across questions)."""
    return set(_key_terms(text))


def named_terms(question: str) -> set[str]:
    """Stemmed names and numbers in the question (capitalised words after the first)."""
    return key_terms(" ".join(_NAME.findall(question.strip())))


def names_in(question: str) -> list[str]:
    """The capitalised words and numbers of ``question`` after its first word, as written."""
    return _NAME.findall(question.strip())


__all__ = ["key_terms", "learn_terms", "named_terms", "names_in"]
