"""Key terms of a text: its stemmed content words (English Snowball stems, stop words out).

Computed for every sentence when a passage is indexed and stored with it (the lean rows of
:mod:`retrieval.backends.lean_rows`), so answering a question about a passage seen for the first
time reads its sentences' terms instead of tokenising and stemming them
(:mod:`prompts.terms` takes them in). :data:`TERMS` names this function: stored terms made
under another name are not used.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib.metadata import version
from typing import Any

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+")
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being between both but by can could did do does doing down during each few for from further
    had has have having he her here hers him his how i if in into is it its itself just me more
    most my no nor not now of off on once only or other our out over own same she should so some
    such than that the their them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your say said
    says tell told happen happened according news coverage article articles report reported""".split()
)
#: Which key terms a passage's stored ones are: the tokens, the stop words, the stemmer (and
#: the stored form, :func:`sentence_terms`).
_RECIPE = repr((_TOKEN.pattern, sorted(STOP_WORDS), version("PyStemmer")))
TERMS = "snowball-en-2-" + hashlib.sha256(_RECIPE.encode()).hexdigest()[:10]


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def compute_key_terms(text: str) -> frozenset[str]:
    """The stemmed content words of ``text`` (computed every time; callers cache)."""
    words = [w.lower().strip("'-") for w in _TOKEN.findall(text)]
    return frozenset(_stemmer().stemWords([w for w in words if w and w not in STOP_WORDS]))


#: Between two sentences' terms in their stored form (no term holds one).
SENTENCE_BREAK = "|"


def sentence_terms(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Each sentence's key terms, space-separated and sorted, the sentences in the order of
    ``spans`` separated by :data:`SENTENCE_BREAK`: one string, so that a row decodes as fast
    with them as without (most rows decoded are never answered from)."""
    return SENTENCE_BREAK.join(" ".join(sorted(compute_key_terms(text[a:b]))) for a, b in spans)
