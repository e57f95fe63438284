"""Answer quality of the offline (extractive) answer: does it contain the correct answer?

    .venv/bin/python -m bench.answers                      # the full RealTimeQA set
    .venv/bin/python -m bench.answers --limit 300          # a slice (its own small index)

Each question is asked as it is written (the choices are not shown), as of its quiz date. For
the silver-labelled questions (the correct answer string appears verbatim in some article), per
half of the agreed split (:mod:`bench.split`: even ISO week = tuning, odd = held-back
reporting): the share whose answer contains the correct answer string (normalised: case,
punctuation and articles folded), the share whose first sentence or short answer does, and
the share refused. In the same run, two baselines -- BM25's three best sentences over all the
corpus's sentences, and the first three sentences of BM25's best article -- and the ceiling:
the answer string in newsdesk's top 3 / top 5 passages (plain search, no date window). For
``unanswerable.jsonl`` (answers in no article): the share refused. Warm latency of a full
offline answer (retrieval + answer). With answers that carry a confidence, the trade-off of
the refusal threshold (answerable answered vs unanswerable refused) per half.
"""

from __future__ import annotations

import json
import re
import statistics
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench.data import BenchSet, Question, data_folder, question_from_row
from bench.harness import LoadSampler, bench_set, parser, percentiles, say, write_result
from bench.split import half
from bench.systems import Bm25Articles, Newsdesk, ensure_newsdesk

_ARTICLES = frozenset({"a", "an", "the"})


def normalise(text: str) -> str:
    """Lower case, no accents, punctuation or articles; padded so containment is word-aligned."""
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()
    words = [w for w in re.sub(r"[^a-z0-9]+", " ", text).split() if w not in _ARTICLES]
    return f" {' '.join(words)} "


def contains(answer: str, text: str) -> bool:
    wanted = normalise(answer)
    return bool(wanted.strip()) and wanted in normalise(text)


# -- the baselines ---------------------------------------------------------------------------


def _body_sentences(text: str) -> list[str]:
    from retrieval.splitting import sentence_spans

    spans = sentence_spans(text)
    return [text[s:e] for s, e in spans[1:]] if "\n\n" in text[:400] else [text[s:e] for s, e in spans]


class Baselines:
    """BM25 over every sentence of the corpus; and BM25 over articles, first three sentences."""

    def __init__(self, bset: BenchSet) -> None:
        import bm25s
        import Stemmer

        self._bm25s = bm25s
        self.stemmer = Stemmer.Stemmer("english")
        self.articles = Bm25Articles(bset.articles)
        self.by_id = {a.doc_id: a for a in bset.articles}
        self.lead: dict[str, list[str]] = {}
        self.sentences: list[str] = []
        for a in bset.articles:
            body = _body_sentences(a.text)
            self.lead[a.doc_id] = body[:3]
            self.sentences.extend(body)
        tokens = bm25s.tokenize(self.sentences, stopwords="en", stemmer=self.stemmer, show_progress=False)
        self.index = bm25s.BM25()
        self.index.index(tokens, show_progress=False)

    def best_sentences(self, question: str, k: int = 3) -> list[str]:
        tokens = self._bm25s.tokenize(question, stopwords="en", stemmer=self.stemmer, show_progress=False)
        docs, scores = self.index.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [self.sentences[int(d)] for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def lead_of_best_article(self, question: str) -> list[str]:
        ranked = self.articles.rank(question)
        return self.lead[ranked[0]] if ranked else []


# -- newsdesk --------------------------------------------------------------------------------


def _refused(answer: Any) -> bool:
    return not answer.grounded or not answer.citations


def _short(answer: Any) -> str:
    short = getattr(answer, "short", None)
    return short.text if short else ""


def ask_all(
    system: Newsdesk, questions: Sequence[Question], baselines: Baselines | None, articles: dict[str, Any]
) -> list[dict[str, Any]]:
    from tests.prompts.citation_check import citations_verify

    rows = []
    for q in questions:
        answer = system.answer(q.question)
        quotes = [c.quote for c in answer.citations]
        row: dict[str, Any] = {
            "id": q.id,
            "half": half(q),
            "question": q.question,
            "answer_text": q.answer_text,
            "refused": _refused(answer),
            "contains": not _refused(answer)
            and contains(q.answer_text, " ".join(quotes) + " " + _short(answer)),
            "first_or_short": not _refused(answer)
            and contains(q.answer_text, (quotes[0] if quotes else "") + " | " + _short(answer)),
            "short": _short(answer),
            "confidence": getattr(answer, "confidence", None),
            "sentences": len(quotes),
            "verified": citations_verify(answer, articles) if answer.citations else None,
            "text": answer.text,
            "notice": answer.notice,
            "ms": answer.timings_ms.get("total", 0.0),
            "answer_ms": answer.timings_ms.get("answer", 0.0),
        }
        if baselines is not None:
            hits = system.retrieve(q.question)
            row["top3"] = contains(q.answer_text, " ".join(h.passage.text for h in hits[:3]))
            row["top5"] = contains(q.answer_text, " ".join(h.passage.text for h in hits[:5]))
            row["bm25_sentences"] = contains(q.answer_text, " ".join(baselines.best_sentences(q.question)))
            row["bm25_article_lead"] = contains(
                q.answer_text, " ".join(baselines.lead_of_best_article(q.question))
            )
        rows.append(row)
    return rows


def share(rows: list[dict[str, Any]], key: str | Callable[[dict[str, Any]], bool]) -> float | None:
    if not rows:
        return None
    test = key if callable(key) else (lambda r: bool(r[key]))
    return round(sum(bool(test(r)) for r in rows) / len(rows), 3)


def summarise_answerable(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(rows)}
    for key in (
        "contains",
        "first_or_short",
        "refused",
        "top3",
        "top5",
        "bm25_sentences",
        "bm25_article_lead",
    ):
        if rows and key in rows[0]:
            out[key] = share(rows, key)
    out["short_given"] = share(rows, lambda r: bool(r["short"]))
    # the direct answer line alone: right when the answer string is inside it
    out["short_right"] = share(rows, lambda r: bool(r["short"]) and contains(r["answer_text"], r["short"]))
    given = [r for r in rows if r["short"]]
    out["short_right_when_given"] = share(given, lambda r: contains(r["answer_text"], r["short"]))
    answered = [r for r in rows if not r["refused"]]
    out["citations_all_verify"] = share(answered, "verified")
    out["mean_sentences_answered"] = (
        round(statistics.fmean(r["sentences"] for r in rows if not r["refused"]), 2)
        if any(not r["refused"] for r in rows)
        else None
    )
    return out


def _not(test: Callable[[dict[str, Any]], bool], row: dict[str, Any]) -> bool:
    return not test(row)


def tradeoff(answerable: list[dict[str, Any]], unanswerable: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per threshold of the answerability probability: answerable answered and unanswerable
    refused (hard refusals -- nothing retrieved -- score 0 and are refused at every threshold)."""
    if not answerable or answerable[0]["confidence"] is None:
        return []
    from prompts.refusal import MIN_CONFIDENCE

    curve = []
    for t in sorted({*(round(step * 0.05, 2) for step in range(21)), MIN_CONFIDENCE}):

        def answered(r: dict[str, Any], t: float = t) -> bool:
            return (r["confidence"] or 0.0) > 0 and r["confidence"] >= t

        curve.append(
            {
                "threshold": t,
                "chosen": t == MIN_CONFIDENCE,
                "answerable_answered": share(answerable, answered),
                "unanswerable_refused": share(unanswerable, partial(_not, answered)),
            }
        )
    return curve


def judged_subsets(
    rows: list[dict[str, Any]], labels: dict[str, tuple[str, ...]]
) -> dict[str, list[dict[str, Any]]]:
    """The silver-labelled rows split by the judged relevance labels (``bench/judgments.tsv``):
    ``answerable`` -- some article a reader on the quiz date would call relevant states the
    answer; ``no_relevant_article`` -- judged, and none does (the answer string occurs only in
    background, unrelated or later articles). Empty when there are no judgements."""
    if not labels:
        return {}
    return {
        "answerable": [r for r in rows if labels.get(r["id"])],
        "no_relevant_article": [r for r in rows if r["id"] in labels and not labels[r["id"]]],
    }


def unanswerable_questions(folder: Path | None) -> list[Question]:
    path = data_folder(folder) / "unanswerable.jsonl"
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        question_from_row(
            {**r, "answer": r["choices"].index(r["answer_text"]) if r["answer_text"] in r["choices"] else 0}
        )
        for r in rows
    ]


def run(bset: BenchSet, work: Any, data: Path | None = None) -> dict[str, Any]:
    from prompts.timeframes import resolve_time

    data_dir = ensure_newsdesk(work, bset)
    labelled = bset.labelled
    unanswerable = unanswerable_questions(data) if bset.name.startswith("rtqa") else []
    asked_on = {q.question: q.date for q in [*bset.questions, *unanswerable]}
    system = Newsdesk(data_dir, asked_on)
    baselines = Baselines(bset)
    try:
        system.answer(labelled[0].question if labelled else "warm up")  # warm
        with LoadSampler() as load:
            articles = {a.doc_id: a for a in bset.articles}
            rows = ask_all(system, labelled, baselines, articles)
            rows_u = ask_all(system, unanswerable, None, articles)
    finally:
        system.close()
    fallback = bset.questions[0].date or datetime.now(UTC).date()
    for r in rows_u:
        r["time_phrase"] = bool(resolve_time(r["question"], asked_on[r["question"]] or fallback).phrase)
    from bench.judgments import judged_labels, load_judgments

    labels = judged_labels(load_judgments())
    out: dict[str, Any] = {"halves": {}}
    for name in ("tune", "report"):
        mine = [r for r in rows if r["half"] == name]
        mine_u = [r for r in rows_u if r["half"] == name]
        out["halves"][name] = {
            "answerable": summarise_answerable(mine),
            "unanswerable": {
                "n": len(mine_u),
                "refused": share(mine_u, "refused"),
                "refused_without_time_phrase": share([r for r in mine_u if not r["time_phrase"]], "refused"),
                "n_without_time_phrase": sum(not r["time_phrase"] for r in mine_u),
            },
            "tradeoff": tradeoff(mine, mine_u),
        }
        judged = judged_subsets(mine, labels)
        if judged:
            out["halves"][name]["judged"] = {
                **{k: summarise_answerable(v) for k, v in judged.items()},
                "tradeoff": tradeoff(judged["answerable"], mine_u),
            }
    all_ms = [r["ms"] for r in rows + rows_u]
    out["latency"] = {
        "total": percentiles(all_ms),
        "answer_step": percentiles([r["answer_ms"] for r in rows + rows_u]),
    }
    out["load"] = load.summary()
    out["per_question"] = rows
    out["unanswerable_per_question"] = rows_u
    out["method"] = (
        "contains = normalised correct answer string inside the cited quotes (+ short answer); "
        "first_or_short = inside the first quote or the short answer; refusals count as misses; "
        "silver-labelled questions only; asked as of the quiz date"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--label", default="", help="suffix for the result file (e.g. before, after)")
    args = p.parse_args(argv)
    bset = bench_set(args)
    result = run(bset, args.work_dir, args.data)
    for name, figures in result["halves"].items():
        say(name, "answerable:", figures["answerable"])
        say(name, "unanswerable:", figures["unanswerable"])
        for subset in ("answerable", "no_relevant_article"):
            if subset in figures.get("judged", {}):
                say(name, f"judged {subset}:", figures["judged"][subset])
        for point in figures["tradeoff"]:
            say(name, "threshold", point)
    say("latency:", result["latency"])
    name = f"answers-{args.label}" if args.label else "answers"
    say("wrote", write_result(name, bset, result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
