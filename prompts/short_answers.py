"""The direct answer line: a span of a cited sentence that is the answer ("14 April", "Igor
Sechin, the head of Rosneft"), verbatim, with its offsets in the article.

The span is of the kind the question asks for (:mod:`prompts.answer_kinds`): a date for "when"
(with its clock time when one follows: "Sunday, Nov. 5 at 2 a.m."), a number for "how many"
(with the unit the question does not name: "3.13 seconds" for "in what time?"), a person or
body for "who" (not a venue: "Allegiant Stadium" does not perform), a place for "where" (one the
sentence puts something *in* or *at*, or a country or US state), a country for "which country"
and a US state for "which state" (not one the question names). For "which X ..." / "what X
..." only a name the sentence ties to the noun X (:func:`prompts.answer_kinds.asked_noun`):
"the Burning Man festival", "pharmacy chains in the country, Rite Aid", "Rite Aid, the pharmacy
chain", "a festival called Burning Man", or an appositive of a name the question gives
("Commander, a German Shepherd" for "Which breed of dog is Commander?") -- any name of the
sentence was wrong 14 times in 16 on the tuning half, a name by the noun right 3 times in 3.
None for other "what" questions and "why": they want more than a span. A line is of the kind
asked (:data:`TYPE_CHECKS`): a "which X" line asked as "who" is not a country or US state by
itself (but "Spain" is a team), an "in what time" line carries a time unit ("3.13 seconds", not
"21"; "how long": a time or a length), a "where" line is a place; "when" lines are dates by
construction. Each of the answer's (at most three) sentences offers one (:func:`short_lines`):
the lead's date can answer another question ("Standard time will be in effect until Sunday,
March 12 ..." for when daylight saving time ends) while the third's stands right by the
question's words.

One is given only when the evidence ties it to what was asked (:func:`direct_answer`): the
lead-most line with most of the question's words right around it when the refusal is sure
(:func:`tied`, set by hand), else the line a fitted gate (:data:`prompts.answer_weights.SHORT_WEIGHTS`)
finds likeliest to be right, when likely enough -- over the refusal's confidence, the chance that
its sentence carries the answer, how many spans of the kind asked that sentence holds (one is
unambiguous; "Texas Rangers manager ... with the San Francisco Giants" is not), the share of the
question's words near the span, and whether it is the thing by the noun a "which X" question asks
by (:func:`by_the_noun`: "Team USA" for "Which team ...", not its goalkeeper). Before the gate,
the line was right 30 times in 66 on the tuning half (wrong on every unanswerable question it was
given for); a wrong line tells the user something the cited sentence does not say about the
question, and the sentences stand without it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from prompts.answer_kinds import Span, asked_noun, asking_sentence, question_words
from prompts.answer_weights import (
    MIN_SHORT,
    SHORT_FEATURES,
    SHORT_WEIGHTS,
    TIED_CONFIDENCE,
    TIED_NEAR,
    probability,
)
from prompts.places import ASKS_FOR_COUNTRY, ASKS_FOR_STATE, countries_in, states_in
from prompts.sentence_scoring import Candidate, Question
from prompts.terms import key_terms

#: "Igor Sechin, the head of Rosneft": an appositive after a name, kept when it names the role.
_APPOSITIVE = re.compile(r",\s+(?:the|a|an|its|his|her|their)\s+[^,.;:()“”\"]{2,60}?(?=[,.;:]|$)")
_MAX_CHARS = 90
#: "Who is Igor Sechin?" asks for a description, not a name.
_ASKS_WHO_SOMEONE_IS = re.compile(r"^\s*[Ww]ho\s+(?:is|was|are|were)\s+[A-Z]")
#: Names that are places people gather, not people or bodies ("who performed ...").
_VENUE = re.compile(
    r"\s(?:Stadium|Arena|Center|Centre|Square|Avenue|Airport|Gardens|Theater|Theatre|Hotel|Coliseum|"
    r"Dome|Bowl|Speedway|Raceway|Ballpark|Racecourse)$"
)
#: Words before a span that put something in a place: "in downtown Miami", "at Oxford".
_LOCATIVE = re.compile(
    r"\b(?:in|at|from|near|outside|inside|across|throughout)\s+(?:(?:the|downtown|central|northern|"
    r"southern|eastern|western|north|south|east|west|nearby)\s+)?$",
    re.I,
)
#: A clock time right after a date ("Sunday, Nov. 5 at 2 a.m.").
_CLOCK = re.compile(r"(?:,?\s+at)\s+\d{1,2}(?::\d{2})?\s*(?:a\.m\.|p\.m\.|am|pm)(?!\w)", re.I)
#: The unit or noun counted after a number ("3.13 seconds", "55 whales").
_UNIT = re.compile(
    r"\s+(?!(?:was|were|has|have|is|are|its|this|his|hers|was|as|plus|less)\b)([a-z]{3,}s|years?|"
    r"hours?|minutes?|seconds?|days?|weeks?|months?|miles?|feet|foot|metres?|meters?|"
    r"kilometres?|kilometers?|km|kg|tonnes?|tons?|people|children|percent)\b"
)


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


def _extended(sentence: str, span: Span, pattern: re.Pattern[str]) -> Span:
    m = pattern.match(sentence, span.end)
    return Span(span.start, m.end(), sentence[span.start : m.end()]) if m else span


def _a_place(sentence: str, span: Span) -> bool:
    """The sentence puts something in or at ``span``, or it is a country or a US state."""
    return bool(_LOCATIVE.search(sentence, 0, span.start) or countries_in(span.text) or states_in(span.text))


_US = frozenset({"US", "U.S.", "United States", "America"})


def _named_by(question: Question, place: str) -> bool:
    """The question already names ``place`` ("the US" names "United States" too)."""
    names = _US if place in _US else (place,)
    return any(question_words(name) <= question.words for name in names)


def _within(question: Question, spans: Sequence[Span], find: Callable[[str], tuple[str, ...]]) -> list[Span]:
    """Each place ``find`` sees in ``spans`` that the question does not name, as a span of its own."""
    found = []
    for span in spans:
        at = 0
        for place in find(span.text):
            at = span.text.index(place, at)
            if not _named_by(question, place):
                found.append(Span(span.start + at, span.start + at + len(place), place))
            at += len(place)
    return found


#: Type checks of a line against the kind asked (:func:`_of_the_kind`), each measured on its own on
#: the tuning half (BENCHMARKS.md section 2, session 9 ans13m); ``bench.fit_short --checks`` sets
#: them for a measurement.
TYPE_CHECKS: frozenset[str] = frozenset({"who-not-country", "duration", "where-place"})
#: Every check that can be measured: "who-not-country" (a "which X" line asked as "who" is not a
#: country or US state by itself), "who-not-in" (nor a name the sentence puts something in),
#: "duration" (an "in what time" line carries a time unit; a "how long" one a time or a length),
#: "measure" (a "how many X" line is not a number of another measure: "four years" for "how many
#: titles"), "count" (nor a number of another thing: "39 hospitals" for "how many employees"),
#: "where-place" (a "where" line is a place the sentence puts something in or at, a country or a
#: US state).
ALL_CHECKS = ("who-not-country", "who-not-in", "duration", "measure", "count", "where-place")

#: Words before a span that put it as where something is ("in Simi Valley", "near Seoul"); not
#: "at" or "from", which also open bodies ("workers at Kaiser Permanente", "a letter from Google").
_IN_PLACE = re.compile(
    r"\b(?:in|near|outside|inside|throughout)\s+(?:(?:the|downtown|central|northern|southern|eastern|"
    r"western|nearby)\s+)?$",
    re.I,
)
#: Nouns of a "which X" question whose answer may be named by a country ("Spain" for "which team").
_NATIONAL = frozenset("team teams side sides squad squads host hosts power powers ally allies".split())
#: "How long ...?", "in what time ...?", "how many seconds ...?": the answer is a duration.
_ASKS_DURATION = re.compile(
    r"\bhow\s+long\b|\b(?:in|within)\s+what\s+(?:time|period)\b|"
    r"\bhow\s+many\s+(?:more\s+)?(?:seconds|minutes|hours|days|weeks|months|years|decades)\b",
    re.I,
)
_TIME_UNIT = re.compile(
    r"\b(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries|century)\b", re.I
)
#: "How long is the bridge?" asks a length: for "how long" a length passes the duration check too.
_LENGTH_UNIT = re.compile(
    r"\b(?:miles?|feet|foot|inch(?:es)?|yards?|metres?|meters?|kilometres?|kilometers?|km)\b", re.I
)
_HOW_LONG = re.compile(r"\bhow\s+long\b", re.I)
#: Units that measure rather than count: a number of these is not a count of anything else.
_MEASURES = frozenset(
    """second seconds minute minutes hour hours day days week weeks month months year years mile
    miles feet foot metre metres meter meters kilometre kilometres kilometer kilometers km kg tonne
    tonnes ton tons percent""".split()
)
#: "how many hospital employees ...": the counted noun, the first plural after "how many".
_COUNTED = re.compile(r"\b(?i:how\s+many)\s+(?:[\w'’-]+\s+){0,3}?([a-z]+s|people|children|men|women)\b")


def _a_place_for_who(question: Question, sentence: str, span: Span, checks: frozenset[str]) -> bool:
    """``span`` names where something is, not who: for a "which X" question, a country or US
    state by itself ("South Korea" for "which airline"; check "who-not-country") -- not for a
    plain "who" (a country hosts, wins, sanctions) nor "which team" (a country names a team) --
    or a name the sentence puts something *in* ("in Simi Valley"; check "who-not-in")."""
    noun = asked_noun(question.text)
    whole = span.text in countries_in(span.text) or span.text in states_in(span.text)
    if "who-not-country" in checks and whole and noun and noun not in _NATIONAL:
        return True
    return "who-not-in" in checks and bool(_IN_PLACE.search(sentence, 0, span.start))


def _unit_after(sentence: str, span: Span) -> str:
    m = _UNIT.match(sentence, span.end)
    return m.group(1).lower() if m else ""


def _of_the_kind(question: Question, sentence: str, span: Span, checks: frozenset[str]) -> bool:
    """Whether ``span`` passes the type checks of the kind asked (:data:`TYPE_CHECKS`)."""
    if question.kind == "who":
        return not _a_place_for_who(question, sentence, span, checks)
    if question.kind == "where" and "where-place" in checks:
        return _a_place(sentence, span)
    if question.kind != "number":
        return True
    unit = _unit_after(sentence, span)
    if "duration" in checks and _ASKS_DURATION.search(question.text):
        units = (_TIME_UNIT, _LENGTH_UNIT) if _HOW_LONG.search(question.text) else (_TIME_UNIT,)
        return any(u.search(span.text) or u.fullmatch(unit) for u in units)
    counted = _COUNTED.search(asking_sentence(question.text))
    if not unit or unit in question.words or counted is None:
        return True
    if "measure" in checks and unit in _MEASURES:
        return False
    return not ("count" in checks and unit not in _forms(counted.group(1)))


def _fitting(question: Question, sentence: str, spans: Sequence[Span]) -> list[Span]:
    """The spans of ``sentence`` that could be the answer's kind."""
    spans = [s for s in spans if len(s.text) <= _MAX_CHARS]
    if ASKS_FOR_COUNTRY.search(question.text):  # "which country": a country, not any name
        return _within(question, spans, countries_in)
    if ASKS_FOR_STATE.search(question.text):  # "which state": a US state ("California", not
        return _within(question, spans, states_in)  # "California Governor Gavin Newsom")
    if question.kind == "who":  # a person or body, not where it happened
        spans = [s for s in spans if not _VENUE.search(s.text)]
    return [s for s in spans if _of_the_kind(question, sentence, s, TYPE_CHECKS)]


_WORD = r"[A-Za-z][\w'’-]*"
#: "<name>('s) festival": the noun right after the name.
_NOUN_AFTER = re.compile(rf"(?:['’]s)?\s+({_WORD})")
#: A lone word that qualifies a noun rather than names it ("Olympic", "European", "Spanish").
_MODIFIER = re.compile(r"(?:ic|an|ish|ese)$")
#: "festival <name>", "festival called <name>", "chains in the country, <name>": the noun before.
_NOUN_BEFORE = re.compile(
    rf"({_WORD})(?:\s+(?:called|named|known\s+as|such\s+as|like)|(?:\s+(?:in|of)\s+(?:the\s+)?{_WORD}){{0,2}}\s*,)?"
    r"\s+[\"“]?$"
)
#: "<name>, the pharmacy chain,": the noun closing an appositive after the name.
_NOUN_APPOSITIVE = re.compile(rf",\s+(?:a|an|the)\s+(?:{_WORD}\s+){{0,3}}?({_WORD})[,.]")
#: "Commander, a 2-year-old ": a name the question gives, then an appositive opening.
_GIVEN_APPOSITIVE = re.compile(rf"({_WORD}),\s+(?:a|an)\s+(?:[\w-]+\s+){{0,2}}$")


def _forms(noun: str) -> frozenset[str]:
    """ "chain" and "chains", "country" and "countries"."""
    forms = {noun, noun[:-1] if noun.endswith("s") else noun + "s"}
    if noun.endswith("ies"):
        forms.add(noun[:-3] + "y")
    if noun.endswith("y"):
        forms.add(noun[:-1] + "ies")
    return frozenset(forms)


def _noun_tie(question: Question, sentence: str, span: Span, forms: frozenset[str]) -> bool:
    """Whether ``sentence`` ties ``span`` to the noun (in any of ``forms``) the question asks by."""
    modifier = " " not in span.text and _MODIFIER.search(span.text)  # "Olympic events"
    tied = (
        None if modifier else _NOUN_AFTER.match(sentence, span.end),
        _NOUN_BEFORE.search(sentence, 0, span.start),
        _NOUN_APPOSITIVE.match(sentence, span.end),
    )
    if any(m and m.group(1).lower() in forms for m in tied):
        return True
    given = _GIVEN_APPOSITIVE.search(sentence, 0, span.start)
    return bool(given and given.group(1).lower() in question.words)


def _by_noun(question: Question, sentence: str, spans: Sequence[Span]) -> Span | None:
    """The first name of ``sentence`` it ties to the noun a "which X" question asks by."""
    noun = asked_noun(question.text)
    if not noun:
        return None
    forms = _forms(noun)
    return next(
        (s for s in spans if len(s.text) <= _MAX_CHARS and _noun_tie(question, sentence, s, forms)), None
    )


def by_the_noun(question: Question, sentence: str, span: Span) -> bool:
    """The line names the thing by the noun a "which X" question asks by: ``sentence`` ties it
    to X (:func:`_by_noun`'s ties: "the Burning Man festival", "Commander, a German Shepherd"),
    or the name holds X ("Team USA" for "Which team ...?"). Of the tuning half's lines tied so,
    every one on a question the answerer was sure of (confidence >= .8) was right (5 of 5)."""
    noun = asked_noun(question.text)
    if not noun:
        return False
    forms = _forms(noun)
    words = span.text.split()
    return (len(words) > 1 and any(w.lower() in forms for w in words)) or _noun_tie(
        question, sentence, span, forms
    )


def _asks_for_span(question: Question) -> bool:
    """ "What ..." and "why ..." want more than a span; "who is X?" wants a description."""
    return question.kind not in ("what", "why") and not _ASKS_WHO_SOMEONE_IS.match(question.text)


def _best(question: Question, sentence: str, spans: list[Span]) -> Span:
    anchors = _anchors(question, sentence)
    if question.kind == "who":  # a person's full name before a lone word ("Russian")
        best = min(spans, key=lambda s: (" " not in s.text, _distance(s, anchors)))
        return _with_appositive(question, sentence, best)
    if question.kind == "where":  # a place something is in or at before any other name
        return min(spans, key=lambda s: (not _a_place(sentence, s), _distance(s, anchors), -len(s.text)))
    best = min(spans, key=lambda s: (_distance(s, anchors), -len(s.text)))
    if question.kind == "when":
        return _extended(sentence, best, _CLOCK)
    if question.kind == "number":  # "3.13 seconds" for "in what time?", "300" for "how many passengers?"
        unit = _UNIT.match(sentence, best.end)
        return (
            best
            if unit is None or unit.group(1).lower() in question.words
            else _extended(sentence, best, _UNIT)
        )
    return best


def _trimmed(question: Question, span: Span) -> Span:
    text = span.text.strip()
    if text.lower().startswith("on "):
        return Span(span.start + 3, span.end, text[3:])
    if text.lower().startswith("in ") and question.kind == "when":
        return Span(span.start + 3, span.end, text[3:])
    return span


def short_span(question: Question, lead: Candidate) -> Span | None:
    """The span of ``lead`` that answers ``question`` directly, or None when none stands out."""
    if question.kind == "what":
        return _by_noun(question, lead.text, lead.spans)
    if not _asks_for_span(question):
        return None
    spans = _fitting(question, lead.text, lead.spans)
    return _trimmed(question, _best(question, lead.text, spans)) if spans else None


#: The direct answer line may come from any of this many of the answer's sentences.
LINE_SENTENCES = 3


def short_lines(question: Question, picked: Sequence[Candidate]) -> list[tuple[int, Span]]:
    """Each candidate direct answer: (index into ``picked``, span of that sentence), one for each
    of the first :data:`LINE_SENTENCES` picked sentences that holds a span of the kind asked."""
    found = []
    for i, cand in enumerate(picked[:LINE_SENTENCES]):
        span = short_span(question, cand)
        if span is not None:
            found.append((i, span))
    return found


def short_answer(question: Question, picked: Sequence[Candidate]) -> tuple[int, Span] | None:
    """The lead-most candidate direct answer (:func:`short_lines`), before the gate."""
    found = short_lines(question, picked)
    return found[0] if found else None


#: The question's words within this many words either side of the span tie it to the question.
NEAR_WORDS = 8
#: A sentence holding more spans of the kind asked than this counts as this many.
_MANY_SPANS = 4
_A_WORD = re.compile(r"[A-Za-z0-9][\w'-]*")


def _near(question: Question, sentence: str, span: Span) -> float:
    """The share of the question's words within NEAR_WORDS words of ``span`` (its own included)."""
    if not question.terms:
        return 0.0
    words = list(_A_WORD.finditer(sentence))
    inside = [k for k, m in enumerate(words) if m.end() > span.start and m.start() < span.end]
    if not inside:
        return 0.0
    near: set[str] = set()
    for m in words[max(0, inside[0] - NEAR_WORDS) : inside[-1] + NEAR_WORDS + 1]:
        near |= key_terms(m.group(0)) & question.terms
    return len(near) / len(question.terms)


def short_features(question: Question, cand: Candidate, span: Span, confidence: float) -> tuple[float, ...]:
    """The gate's features of the line ``span`` of ``cand`` (:data:`SHORT_FEATURES`). A line by
    the noun asked (:func:`by_the_noun`) counts only the sentence's spans by that noun: "Commander,
    a German Shepherd who was gifted to the Bidens ... another dog, Major" names three, one a breed."""
    fitting = _fitting(question, cand.text, cand.spans)
    noun = by_the_noun(question, cand.text, span)
    spans = max(1, sum(by_the_noun(question, cand.text, s) for s in fitting)) if noun else len(fitting)
    return (
        confidence,
        cand.score,
        min(spans, _MANY_SPANS) / _MANY_SPANS,
        _near(question, cand.text, span),
        float(noun),
    )


def tied(features: Sequence[float]) -> bool:
    """Most of the question's words stand right around the line, and the refusal is sure."""
    confidence = features[SHORT_FEATURES.index("confidence")]
    near = features[SHORT_FEATURES.index("near")]
    return near >= TIED_NEAR and confidence >= TIED_CONFIDENCE


def direct_answer(
    question: Question, picked: Sequence[Candidate], confidence: float
) -> tuple[int, Span] | None:
    """Of :func:`short_lines`, the lead-most one :func:`tied` to the question (``confidence``:
    the refusal's), else the one the gate finds likeliest to be right (the lead-most of equals)
    when its chance is at least :data:`MIN_SHORT`; else None -- the sentences stand without it."""
    best: tuple[float, tuple[int, Span]] | None = None
    for i, span in short_lines(question, picked):
        features = short_features(question, picked[i], span, confidence)
        if tied(features):
            return i, span
        chance = probability(SHORT_WEIGHTS, features, SHORT_FEATURES)
        if best is None or chance > best[0]:
            best = (chance, (i, span))
    return best[1] if best is not None and best[0] >= MIN_SHORT else None


__all__ = [
    "LINE_SENTENCES",
    "NEAR_WORDS",
    "by_the_noun",
    "direct_answer",
    "short_answer",
    "short_features",
    "short_lines",
    "short_span",
    "tied",
]
