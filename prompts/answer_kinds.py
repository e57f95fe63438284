"""The kind of answer a question asks for, and the spans of a sentence that could be it.

"When" wants a date or time, "how many/much" a number or amount, "who" a person or body,
"where" a place, "why" a reason. Plain patterns, no model: a span of the right kind that the
question does not already name is the best sign that a sentence answers rather than repeats.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Kind = Literal["when", "number", "who", "where", "why", "what"]

_MONTH_NAMES = [m for m in calendar.month_name if m] + [m for m in calendar.month_abbr if m] + ["Sept"]
_MONTH = r"(?:" + "|".join(sorted(_MONTH_NAMES, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
_YEAR = r"(?:19|20)\d{2}"
_DATE = re.compile(
    rf"\b(?:(?:on\s+)?{_WEEKDAY}(?:,?\s+\d{{1,2}}\s+{_MONTH}|,?\s+{_MONTH}\s+\d{{1,2}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+{_YEAR})?"
    rf"|(?:(?:early|mid|late|last|next|this)[-\s])?{_MONTH}(?:\s+{_YEAR})?"
    rf"|(?:the\s+)?(?:spring|summer|autumn|fall|winter)\s+of\s+{_YEAR}"
    rf"|{_YEAR}-\d{{2}}-\d{{2}}|(?:in\s+)?{_YEAR}"
    r"|\d{1,2}(?::\d{2})?\s*(?:a\.m\.|p\.m\.|am|pm)"
    r"|(?:yesterday|today|tomorrow|tonight)"
    r"|(?:next|last|this)\s+(?:week|month|year|spring|summer|autumn|fall|winter|weekend)"
    r"|(?:later|earlier)\s+this\s+(?:week|month|year))\b",
    re.I,
)
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundred|dozen|dozens|hundreds|thousands|millions|half)\b"
)
"""A number in words, whole: the boundary keeps "four" from matching the start of "fourteen"
(the alternation tries "four" first) and "dozen" that of "dozens"."""
_SCALE = r"(?:\s*(?:hundred|thousand|million|billion|trillion|bn|m|k)\b)?"
_NUMBER = re.compile(
    rf"(?:[$£€¥]\s?)?\b(?:\d[\d,.]*(?:\s?(?:-|–|to)\s?\d[\d,.]*)?{_SCALE}"
    rf"(?:\s?(?:%|percent|per cent|percentage points?))?|{_NUMBER_WORD}(?:[-\s]{_NUMBER_WORD})*{_SCALE})",
    re.I,
)
_UNIT = r"(?:day|week|fortnight|month|year|hour|minute|season|decade)"
#: How often: "twice a day", "three times a year", "every two weeks", "weekly". The answer to
#: "how often ...?", of the "number" kind though it holds no digit.
_FREQUENCY = re.compile(
    rf"\b(?:(?:once|twice|thrice|(?:\d+|{_NUMBER_WORD})\s+times)\s+(?:a|an|per|each|every)\s+{_UNIT}"
    rf"|every\s+(?:(?:other|few|\d+|{_NUMBER_WORD})\s+)?{_UNIT}s?"
    r"|(?:hourly|daily|nightly|weekly|fortnightly|monthly|quarterly|annually|yearly|biannually|biennially))\b",
    re.I,
)
_NAME = re.compile(
    r"\b(?:[A-Z][\w'’.-]*[a-z0-9][\w'’.-]*|[A-Z]{2,}|[A-Z]\.(?:[A-Z]\.)+)"
    r"(?:\s+(?:(?:of|the|de|von|van|al|bin|and|for|&)\s+)*(?:[A-Z][\w'’.-]*|[A-Z]{2,}))*"
)
_REASON = re.compile(
    r"\b(?:because|due\s+to|owing\s+to|as\s+a\s+result|in\s+order\s+to|so\s+that|citing|amid|over|"
    r"for\s+fear|to\s+protest|in\s+response|blamed|caused\s+by|reason)\b",
    re.I,
)
_PLACE_NOUNS = frozenset(
    """country countries nation nations city cities state states capital town towns region island
    islands province county continent place places port area village border territory""".split()
)
_WHO_NOUNS = frozenset(
    """person people man woman men women leader leaders president minister official officials actor
    actress singer star player athlete author writer host company companies firm firms team teams
    organisation organization group party agency body bank network brand club billionaire celebrity
    politician senator governor ceo chief executive founder manufacturer retailer airline band rapper
    musician artist director judge lawmaker candidate royal monarch king queen prince princess chef
    comedian broadcaster newspaper magazine giant carmaker automaker""".split()
)
_WHEN_NOUNS = frozenset("date day year month time week season decade century".split())
#: The words after "how" that ask for a number or amount ("how many", "how long", "how often").
HOW_NUMBER_WORDS = ("many", "much", "long", "old", "far", "big", "large", "tall", "high", "often", "fast")
_NUMBER_HEADS = re.compile(
    rf"^\s*(?:how\s+(?:{'|'.join(HOW_NUMBER_WORDS)})|"
    r"what\s+(?:percentage|percent|share|proportion|number|amount|sum|price|age|total|fraction)|"
    r"by\s+how\s+much)\b",
    re.I,
)
#: "In what time did she solve it?", "within what time": a duration, a number of seconds.
_TAKEN = re.compile(r"\b(?:in|within)\s+what\s+(?:time|period)\b", re.I)
_AUXILIARIES = frozenset("did does do is was were are has have had will would can could should".split())
_QUESTION_HEAD = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)


@dataclass(frozen=True, slots=True)
class Span:
    """A span of a sentence, offsets relative to the sentence."""

    start: int
    end: int
    text: str


#: A sentence end: "." "!" "?" then a capital or a quote opens the next sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’')]?\s+(?=[\"“‘(]?[A-Z])")
#: What a period may end without ending the sentence: "Sen. Butler", "U.S. Army", "J. Smith".
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Sen|Rep|Gov|Gen|Lt|Col|Capt|Sgt|Prof|Jr|Sr|Rev|Pres|Mt|No|Vol|vs|"
    r"Jan|Feb|Mar|Apr|Aug|Sept|Sep|Oct|Nov|Dec|Inc|Corp|Co|Ltd|Ave|Blvd)|\b[A-Z]|[A-Za-z]\.[A-Za-z])\.$"
)


def asking_sentence(question: str) -> str:
    """The sentence of ``question`` that asks: the last one ending in "?" (the context before it
    -- "Sen. Butler made history when she ... Which state does she represent?" -- says nothing of
    the kind asked for); all of it when there is no "?" or the asking sentence has no question
    word ("... nicknamed what?" keeps its own)."""
    q = " ".join(question.split())
    end = q.rfind("?")
    if end < 0:
        return q
    start = 0
    for m in _SENTENCE_END.finditer(q, 0, end):
        if not _ABBREVIATION.search(q, 0, m.start()):
            start = m.end()
    asking = q[start : end + 1]
    return asking if start and _QUESTION_HEAD.search(asking) else q


def kind_of(question: str) -> Kind:
    """The kind of answer ``question`` asks for (read from its asking sentence); "what" when it
    is none of the others."""
    q = asking_sentence(question)
    if _NUMBER_HEADS.search(q) or re.search(r"\bhow\s+(?:many|much)\b", q, re.I):
        return "number"
    if _TAKEN.search(q):  # "in what time?" asks how long it took, not when
        return "number"
    head = _QUESTION_HEAD.search(q)
    if head is None:
        return "what"
    word = head.group(0).lower()
    if word in {"who", "whom", "whose"}:
        return "who"
    if word == "when":
        return "when"
    if word == "where":
        return "where"
    if word == "why":
        return "why"
    if word in {"what", "which"}:
        following = q[head.end() :].split()[:5]
        if following and following[0].lower() in _AUXILIARIES:  # "what did ... say": no noun
            return "what"
        for token in following:
            if token.lower() in _AUXILIARIES:  # the noun phrase ended: "what conditions can ..."
                break
            noun = re.sub(r"[^a-z]", "", token.lower())
            noun = noun[:-1] if noun.endswith("s") and noun[:-1] in _PLACE_NOUNS | _WHO_NOUNS else noun
            if noun in _PLACE_NOUNS:
                return "where"
            if noun in _WHO_NOUNS:
                return "who"
            if noun in _WHEN_NOUNS:
                return "when"
    return "what"


def asks_which(question: str) -> bool:
    """ "Which breed ...", "which airline ...": the question asks for a thing it names by its noun
    (an answer a span can give), not "what did X say ..." or "under what conditions ..." (a
    statement)."""
    q = asking_sentence(question)
    head = _QUESTION_HEAD.search(q)
    if head is None or head.group(0).lower() != "which":
        return False
    following = q[head.end() :].split()[:1]
    return bool(following) and re.sub(r"[^a-z]", "", following[0].lower()) not in _AUXILIARIES


#: "Which type of pet ...": the noun after "type of" is the one asked for.
_GENERIC_HEADS = frozenset("type kind sort form".split())
#: Words that end the noun phrase after "which"/"what" ("which festival in ...", "what team that ...").
_PHRASE_ENDS = frozenset(
    """in at on to for from with by that whose of as into after before over under during near the a
    an its his her their won made took became set hit broke held led left lost got gave ran sold
    bought built brought came went saw said told paid met kept beat fell rose spent sent shot struck
    stole wore wrote began drew flew grew threw will""".split()
)


@lru_cache(maxsize=4096)
def asked_noun(question: str) -> str:
    """The noun a "which X ..." / "what X ..." question names its answer by, lower-cased:
    "festival" in "... stranded at which festival?", "breed" in "Which breed of dog is
    Commander?", "pet" in "Which type of pet ...", "chain" in "Which major pharmacy chain filed
    ..."; "" when it names none ("what did X say ...", "... rebranded as what?")."""
    q = asking_sentence(question)
    head = _QUESTION_HEAD.search(q)
    if head is None or head.group(0).lower() not in {"what", "which"}:
        return ""
    noun = ""
    for token in q[head.end() :].split()[:6]:
        word = re.sub(r"[^a-z0-9]", "", token.lower())
        if word == "of" and noun in _GENERIC_HEADS:
            noun = ""
            continue
        if (
            not word
            or word in _AUXILIARIES
            or word in _PHRASE_ENDS
            or (noun and word.endswith(("ed", "ing", "ly")))  # "artist recently retired"
        ):
            break
        noun = word
        if token.endswith((",", "?", ";", ":")):
            break
    return "" if noun in _GENERIC_HEADS else noun


def _spans(pattern: re.Pattern[str], sentence: str) -> list[Span]:
    return [Span(m.start(), m.end(), m.group(0)) for m in pattern.finditer(sentence) if m.group(0).strip()]


_COMMON = frozenset(
    """a an the this that these those it its it's he she they we i you his her their our my your
    there here since but and or if when while after before as at in on of for by from to with
    what which who why how where however meanwhile also still yet so then now according
    despite although though under over during earlier later last next mr mrs ms dr""".split()
)
_POSSESSIVE = re.compile(r"['’]s$")


def _names(sentence: str) -> list[Span]:
    spans = []
    for m in _NAME.finditer(sentence):
        start, words = m.start(), m.group(0).split(" ")
        while words and words[0].lower().strip("“‘\"'") in _COMMON:  # "He and Xi", "Since"
            start += len(words[0]) + 1
            words = words[1:]
        text = _POSSESSIVE.sub("", " ".join(words).rstrip(".,"))
        if not text or text.lower() in _COMMON or all(TIME_WORD.match(w) for w in text.split()):
            continue
        if start == 0 and " " not in text:  # a lone capital opening the sentence
            continue
        spans.append(Span(start, start + len(text), text))
    return spans


def candidate_spans(sentence: str, kind: Kind) -> list[Span]:
    """Spans of ``sentence`` of the ``kind`` asked for (any names for "what")."""
    return list(_candidate_spans(sentence, kind))


@lru_cache(maxsize=50_000)  # sentences recur: passages are retrieved again and again
def _candidate_spans(sentence: str, kind: Kind) -> tuple[Span, ...]:
    return tuple(_find_spans(sentence, kind))


def _find_spans(sentence: str, kind: Kind) -> list[Span]:
    if kind == "when":
        return _spans(_DATE, sentence)
    if kind == "number":
        often = _spans(_FREQUENCY, sentence)
        numbers = [
            s
            for s in _spans(_NUMBER, sentence)
            if not re.fullmatch(_YEAR, s.text) and not any(f.start <= s.start < f.end for f in often)
        ]
        return sorted([*often, *numbers], key=lambda s: s.start)
    if kind in {"who", "where", "what"}:
        return _names(sentence)
    if kind == "why":
        return _spans(_REASON, sentence)
    return []


_AHEAD = re.compile(r"\b(?:will|is|are|going\s+to|due|scheduled|expected)\b", re.I)
_SAID = re.compile(r"\b(?:said|says|told\s+\w+|announced|added|reported)\s+(?:on\s+)?$", re.I)
_PAST_TIME = re.compile(r"^(?:last|yesterday|earlier)\b", re.I)
_NEXT_TIME = re.compile(r"^(?:next|tomorrow|later)\b", re.I)


def tense_of(question: str) -> str:
    """ "ahead" for "when will/is ...", "past" for "when did/was ...", "" otherwise."""
    m = re.search(r"\bwhen\s+(\w+)", question, re.I)
    if not m:
        return ""
    verb = m.group(1).lower()
    if verb in {"did", "was", "were", "had", "has", "have"}:
        return "past"
    return "ahead" if _AHEAD.match(verb) else ""


def new_spans(sentence: str, kind: Kind, question_words: set[str], tense: str = "") -> list[Span]:
    """Candidate spans that say something the question does not already say (for "when", in
    the question's tense: "when will" is not answered by "last year")."""
    found = []
    for span in candidate_spans(sentence, kind):
        if (tense == "ahead" and _PAST_TIME.match(span.text)) or (
            tense == "past" and _NEXT_TIME.match(span.text)
        ):
            continue
        if kind == "when" and _SAID.search(sentence, 0, span.start):  # when it was said, not done
            continue
        words = {w.lower() for w in re.findall(r"[A-Za-z0-9]+", span.text.replace(".", ""))}
        if kind == "why" or not words <= question_words:
            found.append(span)
    return found


def question_words(question: str) -> set[str]:
    """The question's words, lower-cased (to tell new information from repetition)."""
    return {w.lower() for w in re.findall(r"[A-Za-z0-9]+", question.replace(".", ""))}


#: Words of a question naming a time: matched against article dates, not required in the text.
TIME_WORD = re.compile(
    rf"^(?:{_MONTH}|{_WEEKDAY}|{_YEAR}|today|yesterday|tomorrow|week|month|year|weekend|latest|"
    r"recent|recently|newest|current|currently|now|lately)$",
    re.I,
)

__all__ = [
    "HOW_NUMBER_WORDS",
    "TIME_WORD",
    "Kind",
    "Span",
    "asked_noun",
    "asking_sentence",
    "asks_which",
    "candidate_spans",
    "kind_of",
    "new_spans",
    "question_words",
    "tense_of",
]
