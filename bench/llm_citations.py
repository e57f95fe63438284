"""Model mode against the scripted server: citation verification share and 429 retry latency.

    .venv/bin/python -m bench.llm_citations

Opens an index of the bundled seeds in a temporary folder, answers every seed question in
model mode (the scripted, deliberately sloppy model of tests/fakes/scripted_model.py) and
offline, and prints: the share of answers whose citations all verify, what happened to each
kind of fault the script injected, and the latency the retry layer adds to a 429 with
Retry-After.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

from config import load_settings
from config.settings import LLMSettings
from corpus import SAMPLE_CORPUS
from prompts.chat_model import ChatModel
from prompts.desk import Desk
from prompts.verification import verify_answer
from retrieval.models import Passage, SearchHit
from retrieval.sources import read_folder
from retrieval.splitting import sentence_spans
from tests.fakes.llm_server import Fail, FakeLLMServer, Reply
from tests.fakes.scripted_model import _PASSAGE, ScriptedModel
from tests.prompts.citation_check import citations_verify

QUESTIONS = Path(__file__).parents[1] / "tests" / "data" / "seed_questions.yaml"


def _prompt_passages(prompt: str) -> dict[str, SearchHit]:
    hits = {}
    for key, text in _PASSAGE.findall(prompt):
        spans = tuple(sentence_spans(text))
        hits[key] = SearchHit(Passage(key, key, key, text, 0, len(text), sentences=spans), 1.0)
    return hits


def _fates(server: FakeLLMServer, model: ScriptedModel, encoder: object) -> Counter[str]:
    """Each injected sentence verified on its own: kept as cited, re-cited, or removed."""
    fates: Counter[str] = Counter()
    prompts = [r.prompt for r in server.chat_requests if "Standalone question:" not in r.prompt]
    for prompt, sentences in zip(prompts, model.log, strict=True):
        keyed = _prompt_passages(prompt)
        for label, sentence in sentences:
            result = verify_answer(sentence, keyed, encoder)  # type: ignore[arg-type]
            cited = sentence.rsplit("[", 1)[1].rstrip("].")
            if not result.citations:
                fates[f"{label}: removed"] += 1
            elif result.citations[0].doc_id == cited:
                fates[f"{label}: kept as cited"] += 1
            else:
                fates[f"{label}: re-cited to a passage that supports it"] += 1
    return fates


async def _citations(folder: Path) -> None:
    articles = {a.doc_id: a for a in read_folder(SAMPLE_CORPUS)[0]}
    items = [q for q in yaml.safe_load(QUESTIONS.read_text(encoding="utf-8")) if q["docs"]]
    async with FakeLLMServer() as server:
        model = ScriptedModel()
        server.script = model
        base = load_settings()
        llm = LLMSettings(base_url=server.base_url, api_key_env="NEWSDESK_BENCH_NO_KEY")
        desk = Desk.open(base.model_copy(update={"llm": llm}), folder)
        modes: Counter[str] = Counter()
        llm_ok = llm_n = off_ok = off_n = 0
        for item in items:
            answer = await desk.ask(item["q"], mode="llm")
            modes[answer.mode + (f" ({answer.notice[:40]}…)" if answer.notice else "")] += 1
            if answer.mode == "llm" and answer.citations:
                llm_n += 1
                llm_ok += citations_verify(answer, articles)
            offline = desk.ask_offline(item["q"])
            if offline.citations:
                off_n += 1
                off_ok += citations_verify(offline, articles)
        raw_clean = sum(all(label == "correct" for label, _ in s) for s in model.log if s)
        print(f"seed questions (answerable): {len(items)}; answered by {dict(modes)}")
        print(f"scripted replies with no injected fault: {raw_clean}/{sum(1 for s in model.log if s)}")
        print(f"llm mode: {llm_ok}/{llm_n} answers with citations all verify")
        print(f"offline:  {off_ok}/{off_n} answers with citations all verify")
        for fate, count in sorted(_fates(server, model, desk.encoder).items()):
            print(f"  {fate}: {count}")
        desk.close()


async def _retry_latency(runs: int = 5, retry_after: float = 0.5) -> None:
    async with FakeLLMServer() as server:
        llm = LLMSettings(base_url=server.base_url, api_key_env="NEWSDESK_BENCH_NO_KEY")
        chat = ChatModel.from_settings(llm)
        plain, retried = [], []
        for _ in range(runs):
            server.queue(Reply("ok"))
            started = time.perf_counter()
            await chat.complete([{"role": "user", "content": "hi"}])
            plain.append(time.perf_counter() - started)
            server.queue(Fail(429, {"Retry-After": str(retry_after)}), Reply("ok"))
            started = time.perf_counter()
            await chat.complete([{"role": "user", "content": "hi"}])
            retried.append(time.perf_counter() - started)
        await chat.close()
    added = statistics.median(retried) - statistics.median(plain)
    print(
        f"429 + Retry-After {retry_after}s: call {statistics.median(retried) * 1000:.0f} ms vs "
        f"{statistics.median(plain) * 1000:.0f} ms without; retry layer adds {added * 1000:.0f} ms "
        f"({(added - retry_after) * 1000:.0f} ms beyond the requested wait), median of {runs}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_citations(Path(folder)))
    asyncio.run(_retry_latency())


if __name__ == "__main__":
    main()
