"""Answer quality of the offline (extractive) answer: multiple-choice accuracy and citations.

    .venv/bin/python -m bench.answers            # all 500 questions over the full corpus
    .venv/bin/python -m bench.answers --small    # 40 articles

Each question is asked as it is written (the choices are not shown to newsdesk). The answer's
choice is the one whose key terms its cited quotes contain most (ties share the credit; a
refusal or no overlap scores nothing); chance is 0.25. For reference the same rule is applied
to all the retrieved passages (what the answerer had to choose from). A citation verifies when
its quote is the article's text at its offsets and the cited sentence is supported there
(tests/prompts/citation_check.py).
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.data import BenchSet, Question
from bench.harness import LoadSampler, bench_set, parser, percentiles, say, write_result
from bench.systems import Newsdesk, ensure_newsdesk
from prompts.extractive import key_terms
from tests.prompts.citation_check import citations_verify


def choice_credit(question: Question, evidence: str) -> tuple[float, int | None]:
    """Credit for the choice best supported by ``evidence`` and that choice (None: no pick)."""
    if not evidence:
        return 0.0, None
    terms = key_terms(evidence)
    support = []
    for choice in question.choices:
        wanted = key_terms(choice)
        support.append(len(wanted & terms) / len(wanted) if wanted else 0.0)
    best = max(support)
    if best == 0:
        return 0.0, None
    tied = [i for i, s in enumerate(support) if s == best]
    pick = tied[0] if len(tied) == 1 else None
    return (1.0 / len(tied) if question.answer in tied else 0.0), pick


def judge(bset: BenchSet, system: Newsdesk) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    articles = {a.doc_id: a for a in bset.articles}
    rows: list[dict[str, Any]] = []
    timings: dict[str, list[float]] = {"retrieval": [], "answer": [], "total": []}
    for q in bset.questions:
        answer = system.answer(q.question)
        for key in timings:
            timings[key].append(answer.timings_ms.get(key, 0.0))
        quotes = " ".join(c.quote for c in answer.citations)
        credit, pick = choice_credit(q, quotes)
        hits = system.retrieve(q.question)
        pool_credit, _ = choice_credit(q, " ".join(h.passage.text for h in hits))
        cited_docs = {c.doc_id for c in answer.citations}
        rows.append({
            "id": q.id,
            "labelled": bool(q.silver),
            "grounded": answer.grounded,
            "citations": len(answer.citations),
            "verified": citations_verify(answer, articles) if answer.citations else None,
            "credit": credit,
            "pick": pick,
            "retrieved_credit": pool_credit,
            "cites_silver": bool(cited_docs & set(q.silver)) if q.silver else None,
        })
    return rows, timings


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:
        return {"n": 0}
    cited = [r for r in rows if r["citations"]]
    labelled = [r for r in rows if r["cites_silver"] is not None and r["citations"]]
    return {
        "n": len(rows),
        "accuracy": round(statistics.fmean(r["credit"] for r in rows), 3),
        "accuracy_answered": round(statistics.fmean(r["credit"] for r in cited), 3) if cited else None,
        "retrieved_passages_accuracy": round(statistics.fmean(r["retrieved_credit"] for r in rows), 3),
        "answered_share": round(len(cited) / len(rows), 3),
        "refused_share": round(1 - len(cited) / len(rows), 3),
        "citations_all_verify_share": (
            round(sum(bool(r["verified"]) for r in cited) / len(cited), 3) if cited else None
        ),
        "cites_a_silver_article_share": (
            round(sum(bool(r["cites_silver"]) for r in labelled) / len(labelled), 3) if labelled else None
        ),
        "chance": 0.25,
    }


def run(bset: BenchSet, work: Any) -> dict[str, Any]:
    data_dir = ensure_newsdesk(work, bset)
    out: dict[str, Any] = {}
    # "this week" in a quiz question means the quiz's week: ask as of its date; then as of today
    for label, asked_on in (("as_of_quiz_date", {q.question: q.date for q in bset.questions}),
                            ("as_of_today", {})):
        system = Newsdesk(data_dir, asked_on)
        try:
            system.answer(bset.questions[0].question)  # warm
            with LoadSampler() as load:
                rows, timings = judge(bset, system)
        finally:
            system.close()
        out[label] = {
            "all": summarise(rows),
            "labelled": summarise([r for r in rows if r["labelled"]]),
            "timings": {k: percentiles(v) for k, v in timings.items()},
            "per_question": rows,
            "load": load.summary(),
        }
    out["method"] = ("choice = most key terms (stemmed content words) found in the cited quotes; "
                     "ties share the credit; refusals score 0")
    return out


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    bset = bench_set(args)
    result = run(bset, args.work_dir)
    for label in ("as_of_quiz_date", "as_of_today"):
        say(label, "all:", result[label]["all"])
        say(label, "labelled:", result[label]["labelled"])
    say("wrote", write_result("answers", bset, result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
