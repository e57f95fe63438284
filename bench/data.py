"""The benchmark sets: the shared RealTimeQA slice (read in place) or a small synthetic one.

The RealTimeQA files live in ``../shared/benchmarks/realtimeqa`` next to the repository (or
``--data`` / ``NEWSDESK_BENCH_DATA``); they are read from there, never copied. The synthetic set
is generated from a seed so CI can run every benchmark without the shared folder.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from retrieval.cleaning import clean_text
from retrieval.models import Article

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "benchmarks" / "realtimeqa"


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    question: str
    choices: tuple[str, ...]
    answer: int
    date: date | None
    silver: tuple[str, ...] = ()
    silver_recent: tuple[str, ...] = ()

    @property
    def answer_text(self) -> str:
        return self.choices[self.answer]


@dataclass(slots=True)
class BenchSet:
    """Articles and the questions asked about them; ``name`` keys the cached indexes."""

    name: str
    articles: list[Article]
    questions: list[Question]
    source: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def labelled(self) -> list[Question]:
        return [q for q in self.questions if q.silver]


def data_folder(given: Path | None = None) -> Path:
    env = os.environ.get("NEWSDESK_BENCH_DATA")
    return given or (Path(env) if env else DEFAULT_DATA)


def has_realtimeqa(folder: Path | None = None) -> bool:
    root = data_folder(folder)
    return (root / "corpus.jsonl").is_file() and (root / "questions.jsonl").is_file()


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def article_from_row(row: dict) -> Article:
    """An Article as newsdesk would hold it: the title, a blank line, the cleaned body."""
    title = row.get("title") or ""
    body = clean_text(row.get("body") or "", title)
    return Article(
        doc_id=row["id"],
        title=title,
        text=f"{title}\n\n{body}" if title else body,
        outlet=row.get("source"),
        published=_date(row.get("published_at")),
        url=row.get("url"),
        source="realtimeqa",
    )


def question_from_row(row: dict) -> Question:
    return Question(
        id=row["id"],
        question=row["question"],
        choices=tuple(row["choices"]),
        answer=int(row["answer"]),
        date=_date(row.get("date")),
        silver=tuple(row.get("silver_doc_ids") or ()),
        silver_recent=tuple(row.get("silver_recent_doc_ids") or ()),
    )


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_realtimeqa(folder: Path | None = None, limit: int | None = None) -> BenchSet:
    """The shared set; with ``limit``, the articles of the first labelled questions' result
    pools (silver first) up to ``limit`` articles, and the questions whose labels all fall in it."""
    root = data_folder(folder)
    rows = _read_jsonl(root / "corpus.jsonl")
    questions = [question_from_row(r) for r in _read_jsonl(root / "questions.jsonl")]
    pools = {r["id"]: r.get("pool_doc_ids") or [] for r in _read_jsonl(root / "questions.jsonl")}
    name = "rtqa-full"
    if limit is not None and limit < len(rows):
        wanted: dict[str, None] = {}
        for q in sorted(questions, key=lambda q: not q.silver):
            for doc in (*q.silver, *pools[q.id]):
                if len(wanted) < limit:
                    wanted.setdefault(doc, None)
        by_id = {r["id"]: r for r in rows}
        rows = [by_id[d] for d in wanted if d in by_id]
        kept = set(wanted)
        questions = [q for q in questions if not q.silver or set(q.silver) <= kept]
        questions = [q for q in questions if q.silver] + [q for q in questions if not q.silver][:limit]
        name = f"rtqa-{limit}"
    articles = [article_from_row(r) for r in rows]
    return BenchSet(name, articles, questions, source=str(root))


# -- the synthetic set ---------------------------------------------------------------------

_CITIES = "Arden Brixley Caldmoor Dunmere Elswick Farrow Galloway Harlow Istead Jarrow Kelburn".split()
_ROLES = ["mayor", "police chief", "school superintendent", "transit director", "health officer"]
_FIRST = "Maria James Aisha Tomas Priya Oliver Hana Diego Fatima Lukas Chen Nora".split()
_LAST = "Okafor Lindqvist Moreau Tanaka Alvarez Novak Haddad Brennan Kowalski Sato Ibarra".split()
_THINGS = [
    ("a new bus line", "transit"),
    ("a ban on plastic bags", "environment"),
    ("a four-day school week", "education"),
    ("a curfew for teenagers", "public safety"),
    ("free swimming lessons", "recreation"),
    ("a bridge repair plan", "infrastructure"),
    ("a rent freeze", "housing"),
    ("a measles vaccination drive", "health"),
]
_FILLER = [
    "Residents packed the council chamber for the evening session.",
    "Critics said the proposal had been rushed through without consultation.",
    "Supporters argued that the change was long overdue.",
    "Local businesses were divided over the likely costs.",
    "The council will review the decision again next spring.",
    "Several speakers asked for more detail about the budget.",
    "A petition against the plan gathered hundreds of signatures.",
]


def synthetic_set(n_articles: int = 36, seed: int = 8) -> BenchSet:
    """``n_articles`` small local-news articles, each with one unique fact, and one
    four-choice question per article whose silver label is that article."""
    rng = random.Random(seed)
    start = date(2023, 6, 1)
    articles: list[Article] = []
    questions: list[Question] = []
    for i in range(n_articles):
        city = _CITIES[i % len(_CITIES)]
        role = _ROLES[(i // len(_CITIES)) % len(_ROLES)]
        person = f"{_FIRST[i % len(_FIRST)]} {_LAST[(i * 7) % len(_LAST)]}"
        thing, topic = _THINGS[(i * 3 + i // len(_CITIES)) % len(_THINGS)]
        day = start + timedelta(days=i * 3)
        amount = 10 * (i + 3)
        title = f"{city} {role} {person} announces {thing}"
        fact = f"The {role} of {city}, {person}, announced {thing} costing {amount} million dollars."
        body = [fact, *rng.sample(_FILLER, 4), f"The {topic} plan takes effect in {day:%B}."]
        text = f"{title}\n\n" + "\n\n".join(body)
        doc_id = f"syn-{i:03d}"
        articles.append(Article(doc_id, title, text, "Synthetic Gazette", day, None, "synthetic"))
        wrong = rng.sample([t for t, _ in _THINGS if t != thing], 3)
        choices = [thing, *wrong]
        rng.shuffle(choices)
        questions.append(
            Question(
                id=f"synq-{i:03d}",
                question=f"What did the {role} of {city}, {person}, announce?",
                choices=tuple(choices),
                answer=choices.index(thing),
                date=day,
                silver=(doc_id,),
                silver_recent=(doc_id,),
            )
        )
    return BenchSet(f"synthetic-{n_articles}", articles, questions, source=f"synthetic seed {seed}")


def load_set(data: Path | None, limit: int | None, synthetic: bool) -> BenchSet:
    """The RealTimeQA set (sliced to ``limit``) or, when asked or when the shared folder is
    missing, the synthetic set of ``limit`` (default 36) articles."""
    if synthetic or not has_realtimeqa(data):
        bset = synthetic_set(limit or 36)
        if not synthetic:
            bset.notes.append(f"{data_folder(data)} not found: synthetic set used")
        return bset
    return load_realtimeqa(data, limit)
