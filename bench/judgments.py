"""Judged relevance labels for RealTimeQA: a pool of every system's top articles, judged blind.

    .venv/bin/python -m bench.judgments pool --work-dir /tmp/judge14-work [--half report]
    .venv/bin/python -m bench.judgments record --work-dir /tmp/judge14-work VERDICTS.tsv ...
    .venv/bin/python -m bench.judgments agreement
    .venv/bin/python -m bench.judgments second

``pool`` asks every silver-labelled question of one half (or both) of four systems -- newsdesk
as shipped (asked as of the quiz date), BM25 over whole articles, dense alone, the llama-index
default -- and pools, TREC style, the union of their top 10 articles and the silver ones. A
pooled article can only be relevant if it states the answer, so it is a *candidate* only when
it contains the answer (:func:`answer_forms`: the benches' normaliser plus the mechanical
variants listed there); the rest are not relevant without reading. The candidates go to
``<work>/candidates-<half>.md`` grouped by question (questions and candidates shuffled),
showing the question, quiz date, correct answer, the quiz's own evidence sentence, and each
article's headline, date, outlet, lede and the text around each occurrence of the answer:
**never which system retrieved it or whether it was silver**. ``<work>/keys-<half>.json`` maps
each candidate's key to (question, article).

``record`` turns the judge's ``key<TAB>1|0<TAB>reason`` lines into rows of
``bench/judgments.tsv`` (question id, article id, verdict, reason; no article text).
``agreement`` compares the silver labels with the judgements; ``second`` compares the
judgements with a second judge's blind verdicts on a sample of them (``bench/judgments-second.tsv``,
same columns): raw agreement and Cohen's kappa.
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.answers import normalise
from bench.data import REPO, BenchSet, Question
from bench.harness import bench_set, parser, say
from bench.split import half

JUDGMENTS = REPO / "bench" / "judgments.tsv"
SECOND = REPO / "bench" / "judgments-second.tsv"
POOLED = ("newsdesk", "bm25-articles", "dense", "llamaindex-default")
POOL_DEPTH = 10
_SMALL = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen \
sixteen seventeen eighteen nineteen twenty".split()
_TITLES = frozenset(
    "president minister speaker leader lady secretary senator governor mayor chancellor king queen".split()
)


@dataclass(frozen=True, slots=True)
class Judgment:
    question: str
    doc_id: str
    relevant: bool
    reason: str


# -- which articles can state the answer -------------------------------------------------------


def answer_forms(answer: str) -> set[str]:
    """The normalised answer and its mechanical variants, each word-aligned and padded:
    (1) the answer as the benches normalise it (case, accents, punctuation, a/an/the);
    (2) a whole number 0-20 also as its word ("4" / "four"); thousands written without the
    separator ("70,000" / "70000"); a decimal also cut to one digit fewer ("3.134" / "3.13");
    (3) a number followed by one unit word also without it ("3.134 seconds" / "3.134");
    (4) a name after a title word (president, minister, speaker, leader, lady, secretary, ...:
    "House Speaker Kevin McCarthy") also as its last two words ("Kevin McCarthy"); (5) a
    one-word answer, or one whose last word is lower case, also with that word's singular or
    plural ("snails" / "snail", "worm" / "worms")."""
    base = normalise(answer).strip()
    if not base:
        return set()
    forms = {base}
    words = base.split()
    raw = answer.strip().strip("“”\"'")
    if base.isdigit() and int(base) <= 20:
        forms.add(_SMALL[int(base)])
    if m := re.fullmatch(r"(\d{1,3}(?:,\d{3})+)(.*)", raw):
        forms.add(normalise(m.group(1).replace(",", "") + m.group(2)).strip())
    if m := re.fullmatch(r"(\d+)\.(\d{2,})(.*)", raw):
        forms.add(normalise(f"{m.group(1)}.{m.group(2)[:-1]}{m.group(3)}").strip())
    for form in list(forms):
        parts = form.split()
        if len(parts) >= 2 and re.fullmatch(r"\d+", parts[-2]) and parts[-1].isalpha():
            forms.add(" ".join(parts[:-1]))
    if len(words) >= 3 and _TITLES & set(words[:-2]):
        forms.add(" ".join(words[-2:]))
    last = words[-1]
    if last.isalpha() and len(last) > 3 and (len(words) == 1 or raw.split()[-1].islower()):
        stem = " ".join([*words[:-1], last[:-1] if last.endswith("s") else last + "s"])
        forms.add(stem.strip())
    return {f" {f} " for f in forms if f}


def states_answer(answer: str, text: str) -> bool:
    haystack = normalise(text)
    return any(form in haystack for form in answer_forms(answer))


# -- the pool ---------------------------------------------------------------------------------


def pool_for(ranked: dict[str, list[str]], silver: Iterable[str]) -> list[str]:
    """Union of each pooled system's top ``POOL_DEPTH`` articles and the silver ones."""
    docs: dict[str, None] = {}
    for name in POOLED:
        for doc in ranked.get(name, [])[:POOL_DEPTH]:
            docs.setdefault(doc, None)
    for doc in silver:
        docs.setdefault(doc, None)
    return list(docs)


def _unaccented(text: str) -> str:
    """``text`` with each accented letter replaced by its base letter, same length."""
    return "".join((unicodedata.normalize("NFKD", c)[:1] or c) for c in text)


def _windows(answer: str, text: str, question: str, width: int = 160, most: int = 2) -> list[str]:
    """Raw text around the occurrences of any answer form (its words separated by anything not
    a letter or digit), the ``most`` that share the most words with the question first."""
    spans: list[tuple[int, int]] = []
    plain = _unaccented(text)
    for form in sorted(answer_forms(answer), key=len, reverse=True):
        sep = r"[^A-Za-z0-9]+"
        pattern = r"(?<![A-Za-z0-9])" + sep.join(re.escape(w) for w in form.split()) + r"(?![A-Za-z0-9])"
        for m in re.finditer(pattern, plain, flags=re.IGNORECASE):
            if not any(s <= m.start() < e for s, e in spans):
                spans.append((max(0, m.start() - width), m.end() + width))
    asked = {w for w in normalise(question).split() if len(w) > 3}

    def overlap(span: tuple[int, int]) -> int:
        return -len(asked & set(normalise(text[span[0] : span[1]]).split()))

    best = sorted(sorted(spans), key=overlap)[:most]
    return [" ".join(text[s:e].split()) for s, e in sorted(best)]


def candidate_block(key: str, article: Any, q: Question) -> str:
    age = (q.date - article.published).days if q.date and article.published else None
    lines = [f"#### {key} [{age} d before quiz] {article.title} | {article.published} | {article.outlet}"]
    body = article.text[len(article.title) :].strip() if article.title else article.text
    lines.append("LEDE: " + " ".join(body[:200].split()))
    windows = _windows(q.answer_text, article.text, q.question)
    lines += [f"  ...{w}..." for w in windows] or ["  (answer only after normalising)"]
    return "\n".join(lines)


def pools_of(ranked: dict[str, list[list[str]]], questions: list[Question]) -> dict[str, list[str]]:
    return {
        q.id: pool_for({s: rows[i] for s, rows in ranked.items()}, q.silver) for i, q in enumerate(questions)
    }


def write_pool(
    bset: BenchSet,
    pools: dict[str, list[str]],
    questions: list[Question],
    work: Path,
    name: str,
    seed: int = 14,
) -> dict[str, Any]:
    """The blind candidate file and its key map (and the pools); returns the counts."""
    by_id = {a.doc_id: a for a in bset.articles}
    evidence = _evidence(bset)
    rng = random.Random(seed)
    order = list(questions)
    rng.shuffle(order)
    keys: dict[str, list[str]] = {}
    blocks: list[str] = []
    counts = {"questions": len(questions), "pooled": 0, "candidates": 0, "not_relevant_unread": 0}
    for q in order:
        pool = pools[q.id]
        cands = [d for d in pool if d in by_id and states_answer(q.answer_text, by_id[d].text)]
        counts["pooled"] += len(pool)
        counts["candidates"] += len(cands)
        counts["not_relevant_unread"] += len(pool) - len(cands)
        rng.shuffle(cands)
        blocks.append(
            f"## {q.id} (quiz {q.date})\nQ: {q.question}\nA: {q.answer_text}\n"
            f"QUIZ EVIDENCE: {evidence.get(q.id, '')}\n({len(cands)} candidates of {len(pool)} pooled)"
        )
        for doc in cands:
            key = f"{name[0]}{len(keys):03d}"
            keys[key] = [q.id, doc]
            blocks.append(candidate_block(key, by_id[doc], q))
    (work / f"candidates-{name}.md").write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    (work / f"keys-{name}.json").write_text(json.dumps(keys))
    (work / f"pool-{name}.json").write_text(json.dumps(pools))
    return counts


def _evidence(bset: BenchSet) -> dict[str, str]:
    path = Path(bset.source) / "questions.jsonl"
    if not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["id"]: r.get("evidence") or "" for r in rows}


# -- the judgements ---------------------------------------------------------------------------


def load_judgments(path: Path = JUDGMENTS) -> list[Judgment]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.reader(fh, delimiter="\t") if r and not r[0].startswith("#")]
    return [Judgment(q, d, v == "relevant", reason) for q, d, v, reason in rows[1:]]


def judged_labels(judgments: list[Judgment]) -> dict[str, tuple[str, ...]]:
    """Each judged question's relevant articles (possibly none)."""
    out: dict[str, list[str]] = {}
    for j in judgments:
        out.setdefault(j.question, [])
        if j.relevant:
            out[j.question].append(j.doc_id)
    return {q: tuple(docs) for q, docs in out.items()}


def record(verdict_files: list[Path], work: Path, path: Path = JUDGMENTS) -> int:
    """Merge the judge's ``key<TAB>1|0<TAB>reason`` lines into ``path`` (by question, article)."""
    keys: dict[str, list[str]] = {}
    for f in work.glob("keys-*.json"):
        keys |= json.loads(f.read_text())
    rows = {(j.question, j.doc_id): j for j in load_judgments(path)}
    for vf in verdict_files:
        for line in vf.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            key, verdict, reason = line.split("\t", 2)
            qid, doc = keys[key.strip()]
            rows[(qid, doc)] = Judgment(qid, doc, verdict.strip() == "1", reason.strip())
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter="\t", lineterminator="\n")
        out.writerow(["question", "article", "verdict", "reason"])
        for (qid, doc), j in sorted(rows.items()):
            out.writerow([qid, doc, "relevant" if j.relevant else "not", j.reason])
    return len(rows)


def agreement(questions: list[Question], judgments: list[Judgment]) -> dict[str, Any]:
    """Silver labels against the judgements, per half, over the judged questions."""
    verdict = {(j.question, j.doc_id): j.relevant for j in judgments}
    labels = judged_labels(judgments)
    out: dict[str, Any] = {}
    for which in ("tune", "report"):
        chosen = [q for q in questions if q.id in labels and half(q) == which]
        silver = [(q.id, d) for q in chosen for d in q.silver]
        out[which] = {
            "questions": len(chosen),
            "silver_articles": len(silver),
            "silver_judged_relevant": sum(verdict.get(p) is True for p in silver),
            "silver_judged_not": sum(verdict.get(p) is not True for p in silver),
            "relevant_articles": sum(len(labels[q.id]) for q in chosen),
            "relevant_not_silver": sum(d not in q.silver for q in chosen for d in labels[q.id]),
            "questions_with_no_relevant": sum(not labels[q.id] for q in chosen),
            "questions_no_silver_relevant": sum(not set(q.silver) & set(labels[q.id]) for q in chosen),
        }
    return out


def judges_agree(first: list[Judgment], second: list[Judgment]) -> dict[str, Any]:
    """The second judge's verdicts against the first's on the pairs both judged: counts,
    raw agreement and Cohen's kappa, and the pairs they disagree on."""
    mine = {(j.question, j.doc_id): j.relevant for j in first}
    pairs = [(mine[(j.question, j.doc_id)], j.relevant, j) for j in second if (j.question, j.doc_id) in mine]
    n = len(pairs)
    if not n:
        return {"pairs": 0}
    agree = sum(a == b for a, b, _ in pairs) / n
    p_first, p_second = sum(a for a, _, _ in pairs) / n, sum(b for _, b, _ in pairs) / n
    chance = p_first * p_second + (1 - p_first) * (1 - p_second)
    return {
        "pairs": n,
        "both_relevant": sum(a and b for a, b, _ in pairs),
        "both_not": sum(not a and not b for a, b, _ in pairs),
        "first_only": sum(a and not b for a, b, _ in pairs),
        "second_only": sum(b and not a for a, b, _ in pairs),
        "agreement": round(agree, 3),
        "kappa": round((agree - chance) / (1 - chance), 3) if chance < 1 else 1.0,
        "disagreements": [
            {"question": j.question, "article": j.doc_id, "first": a, "second_reason": j.reason}
            for a, b, j in pairs
            if a != b
        ],
    }


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("step", choices=("pool", "render", "record", "agreement", "second"))
    p.add_argument("verdicts", nargs="*", type=Path, help="record: the judge's key/verdict/reason files")
    p.add_argument("--half", choices=("tune", "report", "both"), default="report")
    args = p.parse_args(argv)
    if args.step == "record":
        if not args.verdicts:
            say("record needs at least one verdicts file")
            return 2
        say(f"{record(args.verdicts, args.work_dir)} judgements in {JUDGMENTS}")
        return 0
    if args.step == "second":
        json.dump(judges_agree(load_judgments(), load_judgments(SECOND)), sys.stdout, indent=1)
        print()
        return 0
    bset = bench_set(args)
    if args.step == "agreement":
        json.dump(agreement(bset.labelled, load_judgments()), sys.stdout, indent=1)
        print()
        return 0
    if args.step == "render":  # the candidate files again from the saved pools
        for which in ("tune", "report") if args.half == "both" else (args.half,):
            pools = json.loads((args.work_dir / f"pool-{which}.json").read_text())
            chosen = [q for q in bset.labelled if q.id in pools]
            say(which, json.dumps(write_pool(bset, pools, chosen, args.work_dir, which)))
        return 0
    from bench.retrieval_quality import open_systems, rank_all

    questions = [q for q in bset.labelled if args.half in ("both", half(q))]
    systems, _ = open_systems(bset, args.work_dir)
    ranked, _ = rank_all({n: s for n, s in systems.items() if n in POOLED}, questions)
    systems["newsdesk"].close()
    systems["newsdesk-undated"].close()
    for which in ("tune", "report"):
        mine = [i for i, q in enumerate(questions) if half(q) == which]
        if mine:
            chosen = [questions[i] for i in mine]
            pools = pools_of({n: [rows[i] for i in mine] for n, rows in ranked.items()}, chosen)
            counts = write_pool(bset, pools, chosen, args.work_dir, which)
            say(which, json.dumps(counts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
