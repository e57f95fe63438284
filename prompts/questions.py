"""Questions as asked: validation, and offline follow-ups that carry the previous names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from config.errors import UserError

_ENTITY = re.compile(r"\b(?:[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)*|\d{4})\b")
_FOLLOW_UP = re.compile(r"\b(he|she|they|them|it|its|his|her|their|that|this|those|there|then)\b", re.I)


_QUESTION_WORDS = frozenset("What When Who How Why Where Which Did Does Do Is Are Was Were Will Has".split())


_PARTS = re.compile(
    r",?\s+and\s+(?=(?:why|how|what|when|where|who|which|whether|is|are|was|were|did|does|do|has|have)\b)",
    re.I,
)


class QuestionError(UserError, ValueError):
    """A question that cannot be asked as it is (empty, too long)."""


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str


def check_question(question: str, limit: int) -> str:
    """The question with white space folded; QuestionError when empty or over ``limit``."""
    text = " ".join((question or "").split())
    if any("\ud800" <= c <= "\udfff" for c in text):  # bytes that were not UTF-8 (surrogate escapes)
        raise QuestionError("the question is not valid UTF-8 text")
    if not text:
        raise QuestionError("the question is empty; ask something about the coverage")
    if len(text) > limit:
        raise QuestionError(f"the question is {len(text):,} characters; keep it under {limit:,}")
    return text


def standalone_question(question: str, history: Sequence[Turn]) -> str:
    """Offline follow-ups: carry the previous question's names when this one leans on them."""
    if not history:
        return question
    if not (_FOLLOW_UP.search(question) or len(question.split()) <= 5):
        return question
    previous = history[-1].question
    own = {m.lower() for m in _ENTITY.findall(question)}
    carried = [m for m in _ENTITY.findall(previous) if m.lower() not in own and m not in _QUESTION_WORDS]
    return f"{question} ({' '.join(dict.fromkeys(carried))})" if carried else question


def question_parts(question: str) -> list[str]:
    """The parts of a question that asks two things ("How large ..., and why ...?")."""
    parts = [p.strip(" ?,") for p in _PARTS.split(question)]
    return [p for p in parts if p] if len(parts) > 1 else [question.strip()]
