"""Key terms of a text: its stemmed content words, and the names and numbers a question gives."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+")
_STOP = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being between both but by can could did do does doing down during each few for from further
    had has have having he her here hers him his how i if in into is it its itself just me more
    most my no nor not now of off on once only or other our out over own same she should so some
    such than that the their them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your say said
    says tell told happen happened according news coverage article articles report reported""".split()
)
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b([A-Z][\w'-]*|\d{2,4})")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=50_000)
def _key_terms(text: str) -> frozenset[str]:
    words = [w.lower().strip("'-") for w in _TOKEN.findall(text)]
    return frozenset(_stemmer().stemWords([w for w in words if w and w not in _STOP]))


def key_terms(text: str) -> set[str]:
    """Stemmed content words of ``text`` (cached: passages recur across questions)."""
    return set(_key_terms(text))


def named_terms(question: str) -> set[str]:
    """Stemmed names and numbers in the question (capitalised words after the first)."""
    return key_terms(" ".join(_NAME.findall(question.strip())))


def names_in(question: str) -> list[str]:
    """The capitalised words and numbers of ``question`` after its first word, as written."""
    return _NAME.findall(question.strip())


__all__ = ["key_terms", "named_terms", "names_in"]
