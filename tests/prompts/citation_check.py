"""An independent check that an answer's citations hold, for tests and the benchmark."""

from __future__ import annotations

import re

from prompts.citations import Answer
from prompts.verification import content_words, numbers_in, split_claims
from retrieval.models import Article

#: Characters of article text around a quote that a cited sentence may draw on.
CONTEXT_CHARS = 600


def citations_verify(answer: Answer, articles: dict[str, Article]) -> bool:
    """Every marker resolves, every source is used, every quote is the article's text at its
    offsets, and every cited sentence shares its content words and numbers with its quotes'
    article text (within CONTEXT_CHARS of the quote)."""
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    if markers != {c.n for c in answer.citations}:
        return False
    for c in answer.citations:
        if articles[c.doc_id].text[c.start : c.end] != c.quote:
            return False
    by_n = {c.n: c for c in answer.citations}
    for claim in split_claims(re.sub(r"\[(\d+)\]", r"[P\1]", answer.text)):
        cited = [by_n[int(k[1:])] for k in claim.keys]
        if not cited:
            return False
        for c in cited:
            text = articles[c.doc_id].text
            context = text[max(0, c.start - CONTEXT_CHARS) : c.end + CONTEXT_CHARS]
            words = content_words(claim.text)
            if len(words & content_words(context)) < 0.5 * len(words):
                return False
            if not numbers_in(claim.text) <= numbers_in(context):
                return False
    return True
