"""Model answers with a real local model (llama.cpp + SmolLM2-135M) beside the offline answer.

    .venv/bin/python -m bench.model_answers --index /tmp/newsdesk-bench/newsdesk-rtqa-full \\
        --sample 50 --half report --unanswerable 20

Starts ``python -m llama_cpp.server`` on 127.0.0.1 (one thread; the runtime from
tests/realmodel/server.py, installed on first use) and asks a sample of RealTimeQA questions
through the unmodified Desk in model mode (streamed, for the time to the first token) and
offline, each as of the quiz's date. Per arm: the share of answers containing the correct
choice's text (exactly, and all its key terms), the share whose citations all verify
(tests/prompts/citation_check.py; must be 1.0), refusals; for the model, the share of written
sentences the verifier removed, cited keys that matched no passage, and fallbacks to offline by
reason. On ``unanswerable.jsonl`` (questions the corpus cannot answer): how often the model was
asked, answered anyway, and what reached the user. The index is opened from a copy (the
benchmark index is shared and read-only).

``--replay RESULT.json`` re-judges the replies recorded in an earlier run's result with the
current code, with no model: a loopback fake server (tests/fakes/llm_server.py) gives each
question the reply recorded for it (a question not asked then fails as an unavailable model),
so a change to verification or to the fallback policy is measured in seconds on the same
replies. Latencies are then the fake's, not the model's.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import prompts.generative as generative
from bench.data import Question, _read_jsonl, data_folder, load_realtimeqa, question_from_row
from bench.harness import RESULTS, LoadSampler, percentiles, say, write_result
from bench.split import half
from bench.systems import bench_settings
from config import Settings
from prompts.citations import CANNOT_ANSWER, Answer
from prompts.extractive import key_terms
from prompts.generative import AnswerDraft
from prompts.verification import Verified
from tests.prompts.citation_check import citations_verify
from tests.realmodel.conftest import model_settings
from tests.realmodel.server import MODEL_ALIAS, LlamaServer, install

DEFAULT_INDEX = Path("/tmp/newsdesk-bench/newsdesk-rtqa-full")  # noqa: S108


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w%$.]+", " ", text.lower().replace("’", "'")).split())


def contains(answer_text: str, wanted: str) -> bool:
    return normalise(wanted) in normalise(re.sub(r"\[\d+\]", "", answer_text))


def has_terms(answer_text: str, wanted: str) -> bool:
    terms = key_terms(wanted)
    return bool(terms) and terms <= key_terms(answer_text)


@dataclass
class VerifierLog:
    """What the verifier did on each model reply (recorded around prompts.generative)."""

    calls: list[Verified] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)


@contextmanager
def recording_verifier() -> Iterator[VerifierLog]:
    log = VerifierLog()
    real = generative.verify_answer

    def record(*args: Any, **kwargs: Any) -> Verified:
        result = real(*args, **kwargs)
        log.calls.append(result)
        log.replies.append(args[0] if args else kwargs.get("reply", ""))
        return result

    generative.verify_answer = record
    try:
        yield log
    finally:
        generative.verify_answer = real


def fallback_reason(answer: Answer) -> str | None:
    if answer.mode == "llm" or answer.text == CANNOT_ANSWER:
        return None
    notice = answer.notice or ""
    for label, template in (
        ("unavailable", generative.MODEL_UNAVAILABLE),
        ("unverified", generative.UNVERIFIED),
        ("thinner", getattr(generative, "THINNER", "\0")),
        ("no_evidence", getattr(generative, "NO_EVIDENCE", "\0")),
    ):
        if notice.startswith(template.split("{")[0][:40]):
            return label
    return "other"


async def ask_model(desk: Any, question: str, log: VerifierLog) -> dict[str, Any]:
    before = len(log.calls)
    started = time.perf_counter()
    first: float | None = None
    final: Answer | None = None
    async for item in desk.ask_stream(question, mode="llm"):
        if isinstance(item, AnswerDraft) and first is None:
            first = (time.perf_counter() - started) * 1000
        if isinstance(item, Answer):
            final = item
    assert final is not None
    total = (time.perf_counter() - started) * 1000
    checked = log.calls[before:] if len(log.calls) > before else []
    verified = checked[0] if checked else None
    return {
        "reply": log.replies[before] if verified else None,
        "checked_text": verified.text if verified else None,
        "answer": final,
        "first_ms": first,
        "total_ms": total,
        "asked_model": first is not None or "model" in final.timings_ms,
        "written": (verified.kept + len(verified.removed)) if verified else 0,
        "removed": len(verified.removed) if verified else 0,
        "unknown_keys": len(verified.unknown_keys) if verified else 0,
        "model_refused": bool(verified and verified.cannot_answer),
    }


def row(q: Question, answer: Answer, articles: dict[str, Any]) -> dict[str, Any]:
    shown = f"{answer.short.text} {answer.text}" if answer.short else answer.text  # what a user reads
    return {
        "id": q.id,
        "mode": answer.mode,
        "refused": answer.text == CANNOT_ANSWER,
        "citations": len(answer.citations),
        "verified": citations_verify(answer, articles) if answer.citations else None,
        "contains": contains(shown, q.answer_text),
        "terms": has_terms(shown, q.answer_text),
        "notice": answer.notice,
        "short": answer.short.text if answer.short else None,
        "text": answer.text[:1200],
    }


def share(rows: list[dict[str, Any]], key: str, of: list[dict[str, Any]] | None = None) -> float | None:
    pool = rows if of is None else of
    return round(sum(bool(r[key]) for r in pool) / len(pool), 3) if pool else None


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    cited = [r for r in rows if r["citations"]]
    return {
        "n": len(rows),
        "contains_answer": share(rows, "contains"),
        "has_answer_terms": share(rows, "terms"),
        "refused": share(rows, "refused"),
        "citations_all_verify": share(cited, "verified"),
        "answers_with_citations": len(cited),
    }


def model_figures(extra: list[dict[str, Any]]) -> dict[str, Any]:
    written = sum(e["written"] for e in extra)
    asked = [e for e in extra if e["asked_model"]]
    reasons = Counter(e["fallback"] for e in extra if e["fallback"])
    return {
        "asked_model": len(asked),
        "sentences_written": written,
        "sentences_removed_share": round(sum(e["removed"] for e in extra) / written, 3) if written else None,
        "invented_keys_written": sum(e["unknown_keys"] for e in extra),
        "fell_back_share": round(sum(bool(e["fallback"]) for e in asked) / len(asked), 3) if asked else None,
        "fallbacks_by_reason": dict(reasons),
        "model_said_cannot_answer": sum(e["model_refused"] for e in extra),
        "first_token": percentiles([e["first_ms"] for e in extra if e["first_ms"] is not None]),
        "full_answer": percentiles([e["total_ms"] for e in asked]),
    }


def sample(questions: list[Question], which: str, n: int) -> list[Question]:
    """``n`` labelled questions (an article of the corpus holds the answer) of one half, spread
    evenly over it (sorted by id, every k-th)."""
    pool = sorted((q for q in questions if q.silver and half(q) == which), key=lambda q: q.id)
    step = max(1, len(pool) // n) if n else 1
    return pool[::step][:n]


class AsOf:
    """The desk's clock: the quiz's date of the question being asked (else today)."""

    def __init__(self) -> None:
        self.day: date | None = None

    def __call__(self) -> date:
        from prompts.timeframes import local_today

        return self.day or local_today()


async def run_questions(
    desk: Any, clock: AsOf, questions: list[Question], articles: dict[str, Any]
) -> dict[str, Any]:
    model_rows: list[dict[str, Any]] = []
    offline_rows: list[dict[str, Any]] = []
    extra: list[dict[str, Any]] = []
    offline_ms: list[float] = []
    with recording_verifier() as log:
        for i, q in enumerate(questions, 1):
            clock.day = q.date
            result = await ask_model(desk, q.question, log)
            answer = result.pop("answer")
            result["fallback"] = fallback_reason(answer) if result["asked_model"] else None
            model_rows.append(row(q, answer, articles) | result)
            extra.append(result)
            started = time.perf_counter()
            offline = desk.ask_offline(q.question)
            offline_ms.append((time.perf_counter() - started) * 1000)
            offline_rows.append(row(q, offline, articles))
            say(
                f"{i}/{len(questions)} {q.id} model={answer.mode} fallback={result['fallback']}"
                f" contains={model_rows[-1]['contains']} offline_contains={offline_rows[-1]['contains']}"
                f" total={result['total_ms'] / 1000:.1f}s"
            )
    written = [r for r in model_rows if r["mode"] == "llm" and r["citations"]]
    return {
        "model": summarise(model_rows)
        | model_figures(extra)
        | {
            "model_written_answers_shown": len(written),
            "model_written_citations_all_verify": share(written, "verified"),
        },
        "offline": summarise(offline_rows) | {"full_answer": percentiles(offline_ms)},
        "per_question": {"model": model_rows, "offline": offline_rows},
    }


def unanswerable(folder: Path | None, n: int) -> list[Question]:
    rows = _read_jsonl(data_folder(folder) / "unanswerable.jsonl")
    questions = []
    for r in rows:
        choices = r["choices"]
        r = r | {"answer": choices.index(r["answer_text"]) if r["answer_text"] in choices else 0}
        questions.append(question_from_row(r))
    step = max(1, len(questions) // n) if n else 1
    return sorted(questions, key=lambda q: q.id)[::step][:n]


def unanswerable_figures(result: dict[str, Any]) -> dict[str, Any]:
    model = result["per_question"]["model"]
    asked = [r for r in model if r["asked_model"]]
    wrote = [r for r in asked if not r["model_refused"] and r["written"]]
    return {
        "n": len(model),
        "model_asked": len(asked),
        "model_answered_anyway": len(wrote),
        "of_those_every_sentence_removed": sum(r["removed"] == r["written"] for r in wrote),
        "user_saw_refusal": sum(r["refused"] for r in model),
        "user_saw_model_sentences": sum(r["mode"] == "llm" and not r["refused"] for r in model),
        "user_saw_offline_answer": sum(r["mode"] == "extractive" and not r["refused"] for r in model),
        "offline_refused": sum(r["refused"] for r in result["per_question"]["offline"]),
        "citations_all_verify": result["model"]["citations_all_verify"],
    }


#: How alike (shared key terms) a prompt's question and a recorded one must be to replay its reply.
REPLAY_MATCH_MIN = 0.6
_PROMPT_QUESTION = re.compile(r"<question>\s*(.*?)\s*</question>", re.S)


def recorded_replies(result: Path) -> dict[str, str]:
    """Question text -> the model's reply, from a result this benchmark wrote."""
    payload = json.loads(result.read_text(encoding="utf-8"))
    rows = payload["answerable"]["per_question"]["model"] + payload["unanswerable"]["per_question"]["model"]
    by_id = {r["id"]: r["reply"] for r in rows if r.get("reply")}
    return {q.question: by_id[q.id] for q in _questions_by_id(by_id) if q.id in by_id}


def _questions_by_id(ids: dict[str, str]) -> list[Question]:
    return [q for q in load_realtimeqa(None, None).questions + unanswerable(None, 10**6) if q.id in ids]


def replay_script(replies: dict[str, str]) -> Any:
    """A fake-server script giving each question (as the prompt shows it) its recorded reply."""
    from tests.fakes.llm_server import Fail, Reply

    recorded = [(set(key_terms(q)), reply) for q, reply in replies.items()]

    def closest(question: str) -> str | None:
        # the prompt shows the question as searched ("this week" may be resolved away)
        terms = set(key_terms(question))
        scored = ((len(terms & t) / max(1, len(terms | t)), r) for t, r in recorded)
        overlap, reply = max(scored, default=(0.0, None))
        return reply if overlap >= REPLAY_MATCH_MIN else None

    def script(body: dict[str, Any]) -> Any:
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        asked = _PROMPT_QUESTION.findall(prompt)  # the last: the instructions name the tag too
        reply = closest(asked[-1]) if asked else None
        return Reply(reply) if reply is not None else Fail(400, message="no recorded reply for this question")

    return script


def open_copy(index: Path, work: Path) -> Path:
    target = work / index.name
    if not target.exists():
        shutil.copytree(index, target, symlinks=True)
    return target


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=None, help="RealTimeQA folder (default ../shared/...)")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="a built newsdesk data dir (copied)")
    p.add_argument("--limit", type=int, default=None, help="the RealTimeQA slice the index holds")
    p.add_argument("--sample", type=int, default=50, help="questions asked")
    p.add_argument("--half", choices=["report", "tune"], default="report")
    p.add_argument("--unanswerable", type=int, default=20, help="unanswerable questions asked")
    p.add_argument("--n-ctx", type=int, default=2048)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work-dir", type=Path, default=None, help="where the index copy goes")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--replay", type=Path, default=None, help="re-judge the replies of this result")
    args = p.parse_args(argv)
    if args.replay is not None and not args.replay.is_file():
        p.error(f"--replay: no such result file: {args.replay}")

    bset = load_realtimeqa(args.data, args.limit)
    articles = {a.doc_id: a for a in bset.articles}
    questions = sample(bset.questions, args.half, args.sample)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="newsdesk-model-bench-"))
    data_dir = open_copy(args.index, work)
    refusable = unanswerable(args.data, args.unanswerable)

    async def run_both(base_url: str) -> tuple[Settings, dict[str, Any], dict[str, Any]]:
        from prompts.desk import Desk

        settings = model_settings(bench_settings(data_dir), base_url, context_tokens=args.n_ctx)
        clock = AsOf()
        desk = Desk.open(settings, data_dir, build=False, today=clock)
        try:
            answered = await run_questions(desk, clock, questions, articles)
            return settings, answered, await run_questions(desk, clock, refusable, articles)
        finally:
            await desk.aclose()

    async def replayed(replies: dict[str, str]) -> tuple[Settings, dict[str, Any], dict[str, Any]]:
        from tests.fakes.llm_server import FakeLLMServer

        async with FakeLLMServer(model=MODEL_ALIAS) as fake:
            fake.script = replay_script(replies)
            return await run_both(fake.base_url)

    with LoadSampler() as load:
        if args.replay is not None:
            settings, answered, refused = asyncio.run(replayed(recorded_replies(args.replay)))
        else:
            log = work / "llama-server.log"
            with LlamaServer(install(), n_ctx=args.n_ctx, threads=args.threads, log=log) as server:
                settings, answered, refused = asyncio.run(run_both(server.base_url))
    bset.questions = questions
    bset.notes.append(f"{len(questions)} labelled questions of the '{args.half}' half, every k-th by id")
    payload = {
        "model": {
            "name": "SmolLM2-135M-Instruct Q4_1",
            "alias": MODEL_ALIAS,
            "runtime": "llama-cpp-python 0.3.36",
            "threads": args.threads,
            "n_ctx": args.n_ctx,
            "llm_settings": settings.llm.model_dump(),
        },
        "half": args.half,
        "replayed_from": str(args.replay) if args.replay else None,
        "answerable": answered,
        "unanswerable": unanswerable_figures(refused) | {"per_question": refused["per_question"]},
        "load": load.summary(),
    }
    for arm in ("model", "offline"):
        say(arm, {k: v for k, v in answered[arm].items()})
    say("unanswerable", {k: v for k, v in payload["unanswerable"].items() if k != "per_question"})
    name = f"model_answers-{args.half}" + ("-replay" if args.replay else "")
    say("wrote", write_result(name, bset, payload, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
