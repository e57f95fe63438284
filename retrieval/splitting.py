"""Sentence-aware passages sized for the embedder, with offsets into the cleaned article.

Sentences come from NLTK's Punkt model for English (bundled with llama-index-core), run per
paragraph so a sentence never spans two paragraphs, and told a few abbreviations its English
model lacks (``ABBREVIATIONS``: "Gov. Ron DeSantis", "No. 1", "Confessions, Pt. II"), which it
otherwise takes for sentence ends. Sentences are packed greedily into passages of at most
``max_tokens`` word pieces (all-MiniLM-L6-v2 sees 256, including the headline that is embedded
with each passage); ``overlap`` sentences are repeated between neighbours.

Passages store their sentence spans when they are indexed; :func:`join_spans` applies the same
abbreviations to spans stored before they were known, so an index built earlier reads as a new
one would split (within each passage) without being rebuilt. Spans stored already joined are
stamped with :data:`SPLITTER` and need no join when read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

_PARAGRAPH = re.compile(r"[^\n]+")

Span = tuple[int, int]

#: Abbreviations missing from Punkt's English model that end a Punkt "sentence" in the
#: RealTimeQA corpus (2,837 articles) before their own continuation, with how often: titles
#: before a name ("Gov." 1,558, "Sgt." 72, "Del." 63, "Rev." 43, "Capt." 34, "Sens." 33, "Cpl."
#: 11, "Govs.", "Cmdr.", "Det.", "Pvt.", "Msgr.", "Hon."), numbering ("Nos." 8, "Vol." 5, "Pt."
#: 3, "Op."), places before their name ("Mt." 28, "Ste." 6) and a list label ("Avg." 125). Left
#: out: words that also end sentences as themselves ("Est." is also the time zone EST, "Md.",
#: "Ind.", "Mass.", "Miss." end sentences as places or words). A known abbreviation still ends
#: a sentence when the next word is one that starts sentences: Punkt's own orthographic rule.
ABBREVIATIONS = frozenset(
    "gov govs sens capt sgt cpl pvt cmdr det rev msgr hon del nos vol pt op mt ste avg".split()
)
#: Word pairs across a full stop that are no sentence end: "No." before a number ("No. 1",
#: 706 times). As an abbreviation "no" would also join "... voted no. Musk said ...".
COLLOCATIONS = frozenset({("no", "##number##")})
#: The word before a stored sentence end, when it may be one of ABBREVIATIONS.
_LAST_WORD = re.compile(r"""(?<![\w.])([A-Za-z]{2,5})\.[)\]"'”’]*$""")
_JOINERS = ABBREVIATIONS | {first for first, _ in COLLOCATIONS}
#: How far back from a sentence's end its last word can start (5 letters, the stop, closers).
_TAIL = 40
#: Which splitter made a set of stored spans: spans :func:`join_spans` has joined under this
#: name are read as they are (retrieval/backends/lean_rows.py). Derived from the lists above,
#: so adding an abbreviation changes it; raise the number when the join's rules change.
SPLITTER = (
    "punkt-en-join1-"
    + hashlib.sha256(repr((sorted(ABBREVIATIONS), sorted(COLLOCATIONS))).encode()).hexdigest()[:10]
)


@lru_cache(maxsize=1)
def _punkt() -> Any:
    import importlib.util

    import nltk
    from nltk.tokenize.punkt import PunktSentenceTokenizer, load_punkt_params

    # llama-index-core ships Punkt's data; find it without importing llama-index (1.5 s)
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or spec.origin is None:
        raise ImportError("llama-index-core, which ships the Punkt sentence model, is not installed")
    bundled = Path(spec.origin).parent / "_static" / "nltk_cache"
    if str(bundled) not in nltk.data.path:
        nltk.data.path.append(str(bundled))
    params = load_punkt_params(nltk.data.find("tokenizers/punkt_tab/english/"))
    params.abbrev_types.update(ABBREVIATIONS)
    params.collocations.update(COLLOCATIONS)
    return PunktSentenceTokenizer(params)


def sentence_spans(text: str) -> list[Span]:
    """(start, end) of every sentence in ``text``, trimmed of surrounding white space."""
    punkt = _punkt()
    spans: list[Span] = []
    for para in _PARAGRAPH.finditer(text):
        base = para.start()
        for start, end in punkt.span_tokenize(para.group()):
            chunk = text[base + start : base + end]
            lead = len(chunk) - len(chunk.lstrip())
            trail = len(chunk) - len(chunk.rstrip())
            if end - start - lead - trail > 0:
                spans.append((base + start + lead, base + end - trail))
    return spans


def join_spans(text: str, spans: Sequence[Span]) -> list[Span]:
    """``spans`` of ``text`` (stored by an earlier splitter) with each pair of neighbours joined
    where :func:`sentence_spans` would not split: the first ends in one of ABBREVIATIONS (or in
    "No."), the two are in one paragraph, and Punkt with those abbreviations reads them as one
    sentence. Spans a current splitter made come back unchanged."""
    out: list[Span] = []
    for span in spans:
        if out and _continues(text, out[-1], span):
            out[-1] = (out[-1][0], span[1])
        else:
            out.append(span)
    return out


def _continues(text: str, first: Span, second: Span) -> bool:
    # the last word is at the span's end: search only its tail (the look-behind still sees the
    # character before it); scanning whole sentences cost ~4 ms of a new question's answer
    match = _LAST_WORD.search(text, max(first[0], first[1] - _TAIL), first[1])
    if match is None or match.group(1).lower() not in _JOINERS:
        return False
    gap = text[first[1] : second[0]]
    if "\n" in gap or gap.strip():
        return False
    return len(sentence_spans(text[first[0] : second[1]])) == 1


def pack_sentences(
    spans: list[Span], sizes: list[int], max_tokens: int, overlap: int
) -> Iterator[tuple[int, int]]:
    """Index ranges ``[i, j)`` of sentences forming each passage."""
    i = 0
    n = len(spans)
    while i < n:
        j = i
        total = 0
        while j < n and (j == i or total + sizes[j] <= max_tokens):
            total += sizes[j]
            j += 1
        yield i, j
        if j >= n:
            break
        i = max(j - overlap, i + 1)


def split_article(
    text: str, count_tokens: Callable[[str], int], max_tokens: int, overlap: int
) -> list[tuple[int, int, list[Span]]]:
    """Passages of ``text`` as (start, end, sentence spans relative to start)."""
    spans = sentence_spans(text)
    sizes = [count_tokens(text[s:e]) for s, e in spans]
    passages = []
    for i, j in pack_sentences(spans, sizes, max_tokens, overlap):
        start, end = spans[i][0], spans[j - 1][1]
        passages.append((start, end, [(s - start, e - start) for s, e in spans[i:j]]))
    return passages
