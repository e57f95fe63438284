"""Search hits for answer tests: cut from the bundled seed articles (real news text), or one
passage holding a test's own text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from retrieval.models import Passage, SearchHit
from retrieval.splitting import sentence_spans

SEEDS = Path(__file__).resolve().parents[2] / "corpus" / "seeds"


def seed_hit(
    prefix: str, first: str, last: str, *, published: date | None = None, score: float = 0.8
) -> SearchHit:
    """The passage of seed article ``prefix*`` from the text ``first`` through ``last``."""
    [path] = SEEDS.glob(f"{prefix}_*.txt")
    text = path.read_text(encoding="utf-8")
    start = text.index(first)
    end = text.index(last, start) + len(last)
    passage = Passage(
        key=f"{path.stem}:{start}",
        doc_id=path.stem,
        title=text.splitlines()[0],
        text=text[start:end],
        start=start,
        end=end,
        outlet="Seed outlet",
        published=published,
        sentences=tuple(sentence_spans(text[start:end])),
    )
    return SearchHit(passage, score, dense_score=score)


def text_hit(text: str, *, doc: str, outlet: str, published: date | None, score: float) -> SearchHit:
    """A one-passage hit holding all of ``text`` (its first line is the headline)."""
    passage = Passage(
        key=f"{doc}:0",
        doc_id=doc,
        title=text.split("\n")[0],
        text=text,
        start=0,
        end=len(text),
        outlet=outlet,
        published=published,
        sentences=tuple(sentence_spans(text)),
    )
    return SearchHit(passage, score, dense_score=score)


def article_text(prefix: str) -> str:
    [path] = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


#: Kremlin adviser Ushakov announces the "new era" joint statement (RT, Feb 2022).
USHAKOV = ("000", "Speaking to reporters", "security issues.”")
#: Xi's March 2023 visit to Moscow and the ICC warrant (El Comercio, Mar 2023).
XI_VISIT = ("001", "The Chinese leader will be in Russia", "peace talks. “as soon as possible”.")
