"""A scripted "model" for the fake LLM server: answers from the passages in the prompt.

It behaves like a small, sloppy model: it restates the passage sentences that share most words
with the question and cites their keys, and, deterministically per question, makes the
mistakes real models make: citing the wrong passage, citing a key that does not exist, and
adding a sentence no passage supports. Every sentence it writes is logged with its label so a
test can count what verification caught.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from prompts.citations import CANNOT_ANSWER
from tests.fakes.llm_server import Action, Reply

_PASSAGE = re.compile(r'<passage key="(P\d+)"[^>]*>\n(.*?)\n</passage>', re.S)
_QUESTION = re.compile(r"<question>\n(.*?)\n</question>", re.S)
_WORD = re.compile(r"[a-z0-9]+")
_SKIP = frozenset(
    "a an the of in on at to for from by with and or is are was were be been has have had do "
    "does did will would what who when where why how which that this it its about say said".split()
)
UNSUPPORTED = "Officials on both sides described the talks as a historic breakthrough"


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _SKIP}


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])[”\"’]?\s+", text) if len(s.split()) >= 5]


def _restate(sentence: str) -> str:
    """A light paraphrase: quotes and a trailing attribution dropped, one full stop."""
    text = re.sub(r"[“”\"]", "", sentence)
    text = re.sub(r",? (?:he|she|they|the aide|[A-Z]\w+) (?:said|added|explained)[^.]*\.?$", ".", text)
    return text.rstrip(" .,;:")


@dataclass
class ScriptedModel:
    """Call it with a chat request body; ``log`` records (label, sentence) per answer."""

    log: list[list[tuple[str, str]]] = field(default_factory=list)

    def __call__(self, body: dict[str, Any]) -> Action:
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        if "Standalone question:" in prompt:
            asked = _QUESTION.search(prompt)
            return Reply(asked.group(1) if asked else "")
        passages = dict(_PASSAGE.findall(prompt))
        match = _QUESTION.search(prompt)
        question = match.group(1) if match else ""
        sentences = self._answer(question, passages)
        self.log.append(sentences)
        text = " ".join(s for _, s in sentences) if sentences else CANNOT_ANSWER
        return Reply(text)

    def _answer(self, question: str, passages: dict[str, str]) -> list[tuple[str, str]]:
        asked = _words(question)
        ranked = sorted(
            ((len(asked & _words(s)), key, s) for key, text in passages.items() for s in _sentences(text)),
            key=lambda item: -item[0],
        )
        picked = [(key, s) for score, key, s in ranked[:2] if score >= 2]
        if not picked:
            return []
        roll = int(hashlib.sha256(question.encode()).hexdigest(), 16) % 10
        keys = list(passages)
        out: list[tuple[str, str]] = []
        for i, (key, sentence) in enumerate(picked):
            label, cited = "correct", key
            if i == 0 and roll in (1, 2) and len(keys) > 1:
                label, cited = "wrong_key", next(k for k in reversed(keys) if k != key)
            elif i == 0 and roll == 3:
                label, cited = "missing_key", "P9"
            out.append((label, f"{_restate(sentence)} [{cited}]."))
        if roll in (4, 5):
            out.append(("unsupported", f"{UNSUPPORTED} [{keys[0]}]."))
        return out


__all__ = ["UNSUPPORTED", "ScriptedModel"]
