"""The direct answer line: a span of the lead sentence that is the answer ("14 April", "Igor
Sechin, the head of Rosneft"), verbatim, with its offsets in the article."""

from __future__ import annotations

import re

from prompts.answer_kinds import Span
from prompts.places import ASKS_FOR_COUNTRY, countries_in
from prompts.sentence_scoring import Candidate, Question
from prompts.terms import key_terms

#: "Igor Sechin, the head of Rosneft": an appositive after a name, kept when it names the role.
_APPOSITIVE = re.compile(r",\s+(?:the|a|an|its|his|her|their)\s+[^,.;:()“”\"]{2,60}?(?=[,.;:]|$)")
_MAX_CHARS = 90
#: "Who is Igor Sechin?" asks for a description, not a name.
_ASKS_WHO_SOMEONE_IS = re.compile(r"^\s*[Ww]ho\s+(?:is|was|are|were)\s+[A-Z]")


def _anchors(question: Question, sentence: str) -> list[int]:
    """Where the question's own words stand in the sentence."""
    spots = []
    for m in re.finditer(r"[A-Za-z0-9][\w'-]*", sentence):
        if key_terms(m.group(0)) & question.terms:
            spots.append(m.start())
    return spots


def _distance(span: Span, anchors: list[int]) -> int:
    if not anchors:
        return span.start
    return min(min(abs(a - span.start), abs(a - span.end)) for a in anchors)


def _with_appositive(question: Question, sentence: str, span: Span) -> Span:
    m = _APPOSITIVE.match(sentence, span.end)
    if m and key_terms(m.group(0)) & question.terms:
        return Span(span.start, m.end(), sentence[span.start : m.end()])
    return span


def short_span(question: Question, lead: Candidate) -> Span | None:
    """The span of ``lead`` that answers ``question`` directly, or None when none stands out."""
    spans = [s for s in lead.spans if len(s.text) <= _MAX_CHARS]
    if question.kind in ("why", "what") or not spans or _ASKS_WHO_SOMEONE_IS.match(question.text):
        return None
    if ASKS_FOR_COUNTRY.search(question.text):  # "which country": a country, not any name
        spans = [s for s in spans if countries_in(s.text)]
        if not spans:
            return None
    anchors = _anchors(question, lead.text)
    if question.kind == "who":  # a person's full name before a lone word ("Russian")
        best = min(spans, key=lambda s: (" " not in s.text, _distance(s, anchors)))
    else:
        best = min(spans, key=lambda s: (_distance(s, anchors), -len(s.text)))
    if question.kind == "who":
        best = _with_appositive(question, lead.text, best)
    text = best.text.strip()
    if text.lower().startswith("on "):
        return Span(best.start + 3, best.end, text[3:])
    if text.lower().startswith("in ") and question.kind == "when":
        return Span(best.start + 3, best.end, text[3:])
    return best


__all__ = ["short_span"]
