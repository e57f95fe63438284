"""Sentence-aware passages sized for the embedder, with offsets into the cleaned article.

Sentences come from NLTK's Punkt model for English (bundled with llama-index-core), run per
paragraph so a sentence never spans two paragraphs. Sentences are packed greedily into passages
of at most ``max_tokens`` word pieces (all-MiniLM-L6-v2 sees 256, including the headline that
is embedded with each passage); ``overlap`` sentences are repeated between neighbours.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

_PARAGRAPH = re.compile(r"[^\n]+")

Span = tuple[int, int]


@lru_cache(maxsize=1)
def _punkt() -> Any:
    import importlib.util

    import nltk
    from nltk.tokenize.punkt import PunktTokenizer

    # llama-index-core ships Punkt's data; find it without importing llama-index (1.5 s)
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or spec.origin is None:
        raise ImportError("llama-index-core, which ships the Punkt sentence model, is not installed")
    bundled = Path(spec.origin).parent / "_static" / "nltk_cache"
    if str(bundled) not in nltk.data.path:
        nltk.data.path.append(str(bundled))
    return PunktTokenizer("english")


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
