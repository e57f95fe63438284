"""Checks a model's answer against the passages it was shown; citations are checked, not trusted.

The model cites prompt keys (``[P3]``, ``[P1][P2]``, ``[P1, P2]``). Here:

1. keys that match no passage are dropped, and so are bare numbers like ``[4]``;
2. each sentence is checked against each passage it cites, one passage sentence at a time (the
   anchor) with the sentences within ``SUPPORT_WINDOW_CHARS`` of it: it must be close in
   meaning (MiniLM cosine) to one of them, its content words must mostly occur in them, every
   number in it must occur there, at most ``NEW_WORDS_MAX`` of its content words may be in
   neither the anchor, the sentences right before and after it, nor the question, and it must
   not deny what the anchor says or say "not" where the anchor does not: each thing it denies
   ("not Nevada", "didn't attend") must be denied there too (thresholds below).
   A cited passage with no anchor that holds is
   dropped from that sentence; a sentence left with no supporting passage is removed. A
   sentence with no citation is checked against every passage and cites the one that supports
   it best, or is removed;
3. sentences in passages that read as instructions to a model ("ignore previous
   instructions ...") never count as support, so an injected article cannot vouch for itself;
4. each surviving (passage, anchor) pair becomes a reference ``[1]..[n]`` in order of first
   use, quoting its anchor verbatim, so that what supports a sentence is always near the quote
   its marker points at (two sentences drawing on different parts of one passage get two
   references to it).

The rule for grounding: every sentence left in the answer is supported by each source it cites,
within ``SUPPORT_WINDOW_CHARS`` of that source's quote. A "cannot answer" sentence beside
supported ones is dropped (it would stand uncited); a question is never a supported claim.
If sentences were removed the answer says so (see :mod:`prompts.generative`); if nothing is
left, the caller falls back to the offline answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from prompts.citations import CANNOT_ANSWER, Citation
from retrieval.models import SearchHit
from retrieval.splitting import sentence_spans

#: A sentence is supported when its content words occur in the passage (share of them) and it
#: is close in meaning to a passage sentence; strong evidence of one kind relaxes the other.
#: Calibrated with MiniLM on the seed corpus in tests/prompts/test_verification.py.
LEXICAL_MIN = 0.5
COSINE_MIN = 0.6
LEXICAL_STRONG = 0.9
COSINE_FLOOR = 0.45
COSINE_STRONG = 0.8
#: At least half of a claim's content words must be near its quote, however close in meaning:
#: the independent citation check (tests/prompts/citation_check.py) asks the same.
LEXICAL_FLOOR = 0.5
#: How far (characters) from its anchor sentence a claim's words and numbers may be found: the
#: anchor's neighbours, not the far end of a long passage. It must stay within the citation
#: check's CONTEXT_CHARS for a kept citation to pass that check by construction.
SUPPORT_WINDOW_CHARS = 400
#: How many of a claim's content words may be new: in neither its anchor nor the sentences
#: right before and after it, nor the question asked. Words near the quote are not meaning: a
#: small model joins them into a sentence the passage does not say ("2020 was a year where
#: Donald Trump had to make his way around the world ..." on "the year 2020 feels as present
#: as ever"); what it adds beyond the anchor's own sentence and the user's question is what it
#: invented. Set on the tuning half's recorded SmolLM2 replies (BENCHMARKS.md §10).
NEW_WORDS_MAX = 2

_KEY = r"(?:(?:passage|source|key)\s*:?\s*)?p(?:assage)?\s*\d+"
#: Small models also write ``(P1)``, ``[Passage P2]``, ``[Source: P1]`` and ranges ``[P1-P3]``.
KEY_MARKER = re.compile(rf"[\[【(]\s*({_KEY}(?:\s*(?:,|;|&|and|-|–|to)\s*{_KEY})*)\s*[\]】)]", re.I)
_RANGE = re.compile(rf"({_KEY})\s*(?:-|–|to)\s*({_KEY})", re.I)
#: A range wider than this is read as its two ends.
MAX_RANGE = 10
_NUMERIC_MARKER = re.compile(r"\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]")
_MARKERS_AFTER_STOP = re.compile(
    rf"([.!?][\"'”’)]*)((?:\s*(?:{KEY_MARKER.pattern}|{_NUMERIC_MARKER.pattern}))+)", re.I
)
_WORD = re.compile(r"[^\W_]+(?:[’'][^\W_]+)?")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.]{0,60}\b(?:previous|prior|above|earlier|all|"
    r"your)\b[^.]{0,40}\b(?:instructions?|rules|prompts?|directions)\b"
    r"|\byou are now\b|\bsystem prompt\b|\bnew instructions?\b",
    re.I,
)
#: Words that deny: "not", "never", "n't"; "no" but not "No. 3".
_NEGATION = re.compile(
    r"\b(?:not|never|none|nobody|nothing|neither|nor|without|cannot)\b|n[’']t\b|\bno\b(?!\.?\s*\d)", re.I
)
#: What a denial is about: the content words among the next NEGATION_SCOPE words of its clause
#: ("not Nevada" -> nevada; "did not attend the event" -> attend, event).
NEGATION_SCOPE = 4
_CLAUSE_END = re.compile(r"[.,;:!?—–()\[\]]")
_STOPWORDS = frozenset(
    """a an the and or but if then than so of in on at to for from by with without about into
    over after before under between during through against as is are was were be been being
    has have had do does did will would shall should can could may might must not no nor it
    its it's this that these those there here their they them he him his she her we our us you
    your i me my who whom whose which what when where why how also just only very more most
    such own same other any all both each few some said says say according reported report
    reports according""".split()
)


class BatchEmbedder(Protocol):
    """A llama-index ``BaseEmbedding`` (e.g. ``retrieval.embedding.MiniLMEmbedding``)."""

    def get_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[list[float]]: ...


class SentenceEncoder(Protocol):
    """A bare encoder (e.g. ``retrieval.minilm.MiniLMEncoder``): no llama-index on the path."""

    def encode(self, texts: list[str]) -> Any: ...


#: The thresholds below are calibrated for all-MiniLM-L6-v2; pass that model in either form.
SentenceEmbedder = BatchEmbedder | SentenceEncoder


@dataclass(frozen=True, slots=True)
class Claim:
    """One sentence of the model's answer with the keys it cited, in order."""

    paragraph: int
    text: str
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Verified:
    """The checked answer: ``text`` carries ``[n]`` markers resolving to ``citations``."""

    text: str
    citations: tuple[Citation, ...]
    removed: tuple[str, ...] = ()
    unknown_keys: tuple[str, ...] = ()
    cannot_answer: bool = False
    kept: int = 0


@dataclass(slots=True)
class _Evidence:
    """The sentences of one passage that may support claims, with their vectors."""

    hit: SearchHit
    spans: list[tuple[int, int]]
    words: list[set[str]]
    #: Per anchor sentence: the sentences, content words and numbers within SUPPORT_WINDOW_CHARS.
    near: list[list[int]]
    near_words: list[set[str]]
    near_numbers: list[set[str]]
    #: Per anchor sentence: the content words of it and of the sentences next door (_next_door).
    own_words: list[set[str]]
    negated: list[bool]
    #: Per anchor sentence: the denials (:func:`denials`) of it and of the sentences next door.
    own_denials: list[list[set[str]]]
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


def normalise_key(raw: str) -> str:
    """``p 3`` / ``Passage 3`` -> ``P3``."""
    return "P" + re.sub(r"\D", "", raw)


def marker_keys(inner: str) -> list[str]:
    """The keys inside one marker's brackets, ranges (``P1-P3``) spelled out."""

    def spell(match: re.Match[str]) -> str:
        first, last = (int(normalise_key(k)[1:]) for k in match.groups())
        if not 0 < last - first <= MAX_RANGE:
            return f"{match.group(1)}, {match.group(2)}"
        return ", ".join(f"P{n}" for n in range(first, last + 1))

    return [normalise_key(k) for k in re.findall(_KEY, _RANGE.sub(spell, inner), re.I)]


def parse_keys(text: str) -> list[str]:
    """Every passage key cited in ``text``, in order, repeats included."""
    keys: list[str] = []
    for marker in KEY_MARKER.finditer(text):
        keys.extend(marker_keys(marker.group(1)))
    return keys


def strip_markers(text: str) -> str:
    """``text`` without key or numeric citation markers, spacing tidied."""
    text = _NUMERIC_MARKER.sub("", KEY_MARKER.sub("", text))
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def is_cannot_answer(text: str) -> bool:
    """Whether ``text`` is the fixed "cannot answer" phrase (case and punctuation aside)."""

    def squash(s: str) -> str:
        return re.sub(r"[\W_]+", " ", s.replace("’", "'")).strip().lower()

    return squash(strip_markers(text)) == squash(CANNOT_ANSWER)


def split_claims(reply: str) -> list[Claim]:
    """The sentences of a reply with their cited keys; markers after a full stop count for the
    sentence before it."""
    moved = _MARKERS_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", reply)
    claims: list[Claim] = []
    for number, paragraph in enumerate(p for p in re.split(r"\n\s*\n?", moved) if p.strip()):
        paragraph = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", paragraph)
        for start, end in sentence_spans(paragraph):
            sentence = paragraph[start:end]
            body = strip_markers(sentence)
            if re.search(r"\w", body):
                claims.append(Claim(number, body, tuple(parse_keys(sentence))))
    return claims


def content_words(text: str) -> set[str]:
    """Lower-cased, lightly stemmed words that carry meaning (no stopwords)."""
    words = set()
    for word in _WORD.findall(text.lower().replace("’", "'")):
        word = word.split("'")[0]
        if word in _STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        words.add(_stem(word))
    return words


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word[:6]


def numbers_in(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def is_question(text: str) -> bool:
    """Whether ``text`` asks rather than states (a small model may answer with the question)."""
    return re.search(r"\?[\"'”’)]*$", text.strip()) is not None


def negated(text: str) -> bool:
    """Whether ``text`` denies something ("not", "never", "no one", "didn't")."""
    return _NEGATION.search(text) is not None


def denials(text: str) -> list[set[str]]:
    """What each denial in ``text`` is about: the content words of the next NEGATION_SCOPE
    words of its clause (empty when nothing follows: "He did not.")."""
    out = []
    for match in _NEGATION.finditer(text):
        rest = _CLAUSE_END.split(text[match.end() :], maxsplit=1)[0]
        out.append(content_words(" ".join(_WORD.findall(rest)[:NEGATION_SCOPE])))
    return out


def denials_hold(claimed: Sequence[set[str]], found: Sequence[set[str]]) -> bool:
    """Whether every denial ``claimed`` (:func:`denials` of a claim) is made in ``found`` (the
    denials near its anchor): one about a word it is about, or, for a denial about nothing in
    particular, any. A small model moves a "not" onto what the passage does not deny ("sold in
    California, not Nevada" on "... ending a long stretch without a winner")."""
    return all(any(scope & other for other in found) if scope else bool(found) for scope in claimed)


def _near(spans: Sequence[tuple[int, int]], j: int) -> list[int]:
    """The sentences lying wholly within SUPPORT_WINDOW_CHARS of sentence ``j`` (it included)."""
    lo, hi = spans[j][0] - SUPPORT_WINDOW_CHARS, spans[j][1] + SUPPORT_WINDOW_CHARS
    return [i for i, (a, b) in enumerate(spans) if i == j or (a >= lo and b <= hi)]


#: A passage "sentence" with fewer content words than this ("ET.", "Pt.") is a fragment: it
#: quotes nothing, so it is no anchor, and it does not stand between an anchor and the
#: sentence next door.
ANCHOR_MIN_WORDS = 2


def _next_door(words: Sequence[set[str]], j: int) -> list[int]:
    """Sentence ``j`` and the nearest sentence before and after it, fragments passed over."""
    out = [j]
    for step in (-1, 1):
        i = j + step
        while 0 <= i < len(words) and len(words[i]) < ANCHOR_MIN_WORDS:
            out.append(i)
            i += step
        if 0 <= i < len(words):
            out.append(i)
    return out


def _evidence(hit: SearchHit) -> _Evidence:
    text = hit.passage.text
    spans = list(hit.passage.sentences) or sentence_spans(text)
    spans = [s for s in spans if not _INSTRUCTION.search(text[s[0] : s[1]])]
    words = [content_words(text[a:b]) for a, b in spans]
    numbers = [numbers_in(text[a:b]) for a, b in spans]
    near = [_near(spans, j) for j in range(len(spans))]
    sentence_denials = [denials(text[a:b]) for a, b in spans]
    return _Evidence(
        hit,
        spans,
        words,
        near,
        [set().union(*(words[i] for i in n)) for n in near],
        [set().union(*(numbers[i] for i in n)) for n in near],
        [set().union(*(words[i] for i in _next_door(words, j))) for j in range(len(spans))],
        [negated(text[a:b]) for a, b in spans],
        [[d for i in _next_door(words, j) for d in sentence_denials[i]] for j in range(len(spans))],
    )


def _embed(texts: list[str], embedder: SentenceEmbedder) -> np.ndarray:
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    if hasattr(embedder, "encode"):
        raw = embedder.encode(texts)
    else:
        raw = embedder.get_text_embedding_batch(texts)
    matrix = np.asarray(raw, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


@dataclass(frozen=True, slots=True)
class Support:
    """How well a passage supports a claim; ``sentence`` indexes the anchor (the best passage
    sentence that supports it, or the best one when none does); ``lexical`` is the share of the
    claim's words near the anchor, ``cosine`` its closeness to the anchor."""

    supported: bool
    score: float
    sentence: int
    lexical: float
    cosine: float


def judge(lexical: float, cosine: float) -> bool:
    """The support rule, on the claim's word share found in the passage and the best cosine."""
    return (
        (lexical >= LEXICAL_MIN and cosine >= COSINE_MIN)
        or (lexical >= LEXICAL_STRONG and cosine >= COSINE_FLOOR)
        or (cosine >= COSINE_STRONG and lexical >= LEXICAL_FLOOR)
    )


def support(
    words: set[str],
    numbers: set[str],
    vector: np.ndarray,
    ev: _Evidence,
    denies: bool = False,
    asked: set[str] | frozenset[str] = frozenset(),
    claimed: Sequence[set[str]] = (),
) -> Support:
    """Whether the claim (its words, numbers, vector, whether it ``denies`` and what it denies,
    ``claimed``) is supported by passage ``ev``: by some anchor sentence, with what lies near
    it. At most NEW_WORDS_MAX of its words may be in neither the anchor, its next-door
    sentences, nor ``asked`` (the content words of the question it answers); a claim that
    denies needs an anchor that denies, and each of its denials made near it."""
    if not ev.spans or not words:
        return Support(False, 0.0, 0, 0.0, 0.0)
    cosines = ev.vectors @ vector
    # a sentence's meaning leans on its neighbours ("The Chinese leader" is Xi, named next door)
    near_cosines = np.array([cosines[near].max() for near in ev.near])
    lexical = np.array([len(words & near) / len(words) for near in ev.near_words])
    # the quote: the sentence closest to the claim in meaning and in its own words
    score = 0.5 * cosines + 0.5 * np.array([len(words & w) / len(words) for w in ev.words])
    ok = np.array(
        [
            len(ev.words[j]) >= ANCHOR_MIN_WORDS
            and numbers <= ev.near_numbers[j]
            and len(words - ev.own_words[j] - asked) <= NEW_WORDS_MAX
            and denies == ev.negated[j]
            and denials_hold(claimed, ev.own_denials[j])
            and judge(lexical[j], near_cosines[j])
            for j in range(len(ev.spans))
        ]
    )
    pool = np.flatnonzero(ok) if ok.any() else np.arange(len(ev.spans))
    best = int(pool[np.argmax(score[pool])])
    return Support(bool(ok.any()), float(score[best]), best, float(lexical[best]), float(near_cosines[best]))


#: A reference: the prompt key of a passage and the index of the anchor sentence it quotes.
Source = tuple[str, int]


def verify_answer(
    reply: str, passages: Mapping[str, SearchHit], embedder: SentenceEmbedder, question: str = ""
) -> Verified:
    """Check ``reply`` against ``passages`` (prompt key -> hit); see the module docstring. The
    ``question`` it answers may lend a claim words (a sentence may restate what was asked)."""
    if is_cannot_answer(reply):
        return Verified(CANNOT_ANSWER, (), cannot_answer=True)
    claims = split_claims(reply)
    unknown = tuple(dict.fromkeys(k for c in claims for k in c.keys if k not in passages))
    evidence = {key: _evidence(hit) for key, hit in passages.items()}
    vectors = _embed_all(claims, evidence, embedder)
    kept: list[tuple[Claim, tuple[Source, ...]]] = []
    removed: list[str] = []
    refused = False
    asked = content_words(question)
    for claim, vector in zip(claims, vectors, strict=True):
        if is_cannot_answer(claim.text):
            refused = True
            continue
        sources = () if is_question(claim.text) else _supporting_sources(claim, vector, evidence, asked)
        if sources:
            kept.append((claim, sources))
        else:
            removed.append(claim.text)
    if not kept:
        return Verified("", (), tuple(removed), unknown, cannot_answer=refused and not removed)
    order = list(dict.fromkeys(source for _, sources in kept for source in sources))
    numbers = {source: n for n, source in enumerate(order, start=1)}
    citations = tuple(_citation(numbers[(k, j)], evidence[k], j) for k, j in order)
    return Verified(render(kept, numbers), citations, tuple(removed), unknown, kept=len(kept))


def _embed_all(
    claims: Sequence[Claim], evidence: Mapping[str, _Evidence], embedder: SentenceEmbedder
) -> np.ndarray:
    """Claim vectors (returned) and, stored on the evidence, the vectors of the passage
    sentences that share a word with a claim that may use them (the rest stay zero: without a
    shared word a sentence can neither win the quote nor change a verdict). One batch."""
    words = [content_words(c.text) for c in claims]
    users: dict[str, set[str]] = {key: set() for key in evidence}
    for claim, claim_words in zip(claims, words, strict=True):
        cited = [k for k in claim.keys if k in evidence]
        for key in cited or evidence:
            users[key] |= claim_words
    texts = [c.text for c in claims]
    live: list[tuple[_Evidence, int]] = []
    for key, ev in evidence.items():
        for j, (a, b) in enumerate(ev.spans):
            if ev.words[j] & users[key]:
                live.append((ev, j))
                texts.append(ev.hit.passage.text[a:b])
    matrix = _embed(texts, embedder)
    for ev in evidence.values():
        ev.vectors = np.zeros((len(ev.spans), matrix.shape[1]), dtype=np.float32)
    for row, (ev, j) in enumerate(live, start=len(claims)):
        ev.vectors[j] = matrix[row]
    return matrix[: len(claims)]


def _supporting_sources(
    claim: Claim,
    vector: np.ndarray,
    evidence: Mapping[str, _Evidence],
    asked: set[str] | frozenset[str] = frozenset(),
) -> tuple[Source, ...]:
    """The cited passages that support ``claim``, each with its anchor (for an uncited claim,
    the passage that supports it best)."""
    cited = [k for k in dict.fromkeys(claim.keys) if k in evidence]
    candidates = cited or list(evidence)
    words, numbers, denies = content_words(claim.text), numbers_in(claim.text), negated(claim.text)
    claimed = denials(claim.text)
    verdicts = {k: support(words, numbers, vector, evidence[k], denies, asked, claimed) for k in candidates}
    keys = [k for k in candidates if verdicts[k].supported]
    if not cited and keys:
        keys = [max(keys, key=lambda k: verdicts[k].score)]
    return tuple((k, verdicts[k].sentence) for k in keys)


def _citation(n: int, ev: _Evidence, anchor: int) -> Citation:
    start, end = ev.spans[anchor]
    return Citation.of(n, ev.hit, start, end)


def cite(sentence: str, numbers: Sequence[int]) -> str:
    """``sentence`` with ``[n]`` markers placed before its final punctuation."""
    if not numbers:
        return sentence
    markers = "".join(f"[{n}]" for n in numbers)
    match = re.search(r"[.!?][\"'”’)]*$", sentence)
    if match is None:
        return f"{sentence} {markers}"
    return f"{sentence[: match.start()].rstrip()} {markers}{sentence[match.start() :]}"


def render(kept: Sequence[tuple[Claim, tuple[Source, ...]]], numbers: Mapping[Source, int]) -> str:
    """The kept sentences with renumbered markers, paragraphs as the model wrote them."""
    paragraphs: dict[int, list[str]] = {}
    for claim, sources in kept:
        paragraphs.setdefault(claim.paragraph, []).append(cite(claim.text, [numbers[s] for s in sources]))
    return "\n\n".join(" ".join(sentences) for sentences in paragraphs.values())


def renumber_draft(text: str, valid_keys: Sequence[str] | Mapping[str, object]) -> str:
    """A partial answer for display while it streams: known keys numbered by first use,
    unknown keys and bare numbers hidden, an unfinished marker at the end cut off."""
    text = re.sub(r"[\[【][^\]】]*$", "", text)
    numbers: dict[str, int] = {}

    def replace(marker: re.Match[str]) -> str:
        out = []
        for key in marker_keys(marker.group(1)):
            if key in valid_keys:
                out.append(f"[{numbers.setdefault(key, len(numbers) + 1)}]")
        return "".join(out)

    return KEY_MARKER.sub(replace, _NUMERIC_MARKER.sub("", text))


__all__ = [
    "ANCHOR_MIN_WORDS",
    "COSINE_FLOOR",
    "COSINE_MIN",
    "COSINE_STRONG",
    "KEY_MARKER",
    "LEXICAL_FLOOR",
    "LEXICAL_MIN",
    "LEXICAL_STRONG",
    "NEGATION_SCOPE",
    "NEW_WORDS_MAX",
    "SUPPORT_WINDOW_CHARS",
    "BatchEmbedder",
    "Claim",
    "SentenceEmbedder",
    "SentenceEncoder",
    "Support",
    "Verified",
    "cite",
    "content_words",
    "denials",
    "denials_hold",
    "is_cannot_answer",
    "is_question",
    "judge",
    "marker_keys",
    "negated",
    "normalise_key",
    "parse_keys",
    "render",
    "renumber_draft",
    "split_claims",
    "strip_markers",
    "support",
    "verify_answer",
]
