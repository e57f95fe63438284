"""Model-mode summaries against the scripted server: map-reduce, citations verified, fallbacks."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from config.settings import LLMSettings
from corpus import SAMPLE_CORPUS
from prompts.citations import Answer
from prompts.desk import Desk
from prompts.summaries import Summary
from prompts.summary_model import load_summary_prompts
from prompts.templates import TEMPLATE_DIR, TemplateError
from prompts.timelines import Timeline
from retrieval.sources import read_folder
from tests.fakes.llm_server import Action, Fail, FakeLLMServer, Reply
from tests.prompts.citation_check import citations_verify

ARTICLES = {a.doc_id: a for a in read_folder(SAMPLE_CORPUS)[0]}
TOPIC = "Putin and Xi meetings"
_PASSAGE = re.compile(r'<passage key="(P\d+)"[^>]*>\n(.*?)\n</passage>', re.S)
_STORY = re.compile(r"<story [^>]*>\n(.*?)\n</story>", re.S)
UNSUPPORTED = "Officials on both sides described the talks as a historic breakthrough"


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip() for p in parts if len(p.split()) >= 6 and p.strip().endswith(".")]


def summariser(body: dict[str, Any]) -> Action:
    """A fake model: a story is its passages' first sentences; the overall, each story's first."""
    prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
    stories = _STORY.findall(prompt)
    if stories:
        return Reply(" ".join(_sentences(s)[0] for s in stories if _sentences(s)))
    picked = [(k, _sentences(t)) for k, t in _PASSAGE.findall(prompt)]
    return Reply(" ".join([f"{s[0][:-1]} [{k}]." for k, s in picked if s][:2]))


@pytest.fixture
async def model_desk(
    seed_data_dir: Path, settings: Settings, llm_settings: LLMSettings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Desk]:
    answer = settings.answer.model_copy(update={"mode": "auto"})
    desk = Desk.open(
        settings.model_copy(update={"llm": llm_settings, "answer": answer}),
        seed_data_dir,
        build=False,
        today=lambda: date(2023, 4, 1),
    )
    yield desk
    await desk.aclose()


def _verifies(text: str, citations) -> bool:
    used = tuple(c for c in citations if f"[{c.n}]" in text)
    return citations_verify(Answer("q", text, used, True, "llm"), ARTICLES)


async def test_model_summary_is_map_reduce_over_the_stories_with_citations_verified(
    model_desk: Desk, llm_server: FakeLLMServer
):
    llm_server.script = summariser
    summary = await model_desk.summarize(TOPIC)
    assert isinstance(summary, Summary)
    assert summary.mode == "llm" and summary.notice is None
    assert [s.start for s in summary.stories] == [date(2021, 12, 15), date(2022, 2, 2), date(2023, 3, 17)]
    assert len(llm_server.chat_requests) == 4  # three stories, then the overall summary
    for story in summary.stories:
        assert story.citations and _verifies(story.text, story.citations)
    assert re.search(r"\[\d+\]", summary.text) and _verifies(summary.text, summary.citations)
    assert "Today's date: 2023-04-01" in llm_server.chat_requests[0].prompt


async def test_a_story_the_model_gets_wrong_is_quoted_instead(model_desk: Desk, llm_server: FakeLLMServer):
    def sloppy(body: dict[str, Any]) -> Action:
        prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
        if 'outlet="Al Jazeera"' in prompt and "<story " not in prompt:
            return Reply(f"{UNSUPPORTED} [P1].")
        return summariser(body)

    llm_server.script = sloppy
    summary = await model_desk.summarize(TOPIC)
    assert isinstance(summary, Summary)
    assert summary.mode == "llm"
    assert UNSUPPORTED not in summary.render_text()
    assert summary.notice is not None
    assert "of 1 story could not be checked against the coverage, so it is quoted." in summary.notice
    assert "video meeting" in summary.stories[0].text  # quoted from the article instead


async def test_an_unreachable_model_gives_the_offline_summary_with_a_notice(
    model_desk: Desk, llm_server: FakeLLMServer
):
    llm_server.script = lambda body: Fail(503)
    summary = await model_desk.summarize(TOPIC)
    assert isinstance(summary, Summary)
    assert summary.mode == "extractive" and len(summary.stories) == 3
    assert summary.notice is not None and "unavailable" in summary.notice


async def test_the_desk_routes_timeline_and_article_requests(model_desk: Desk, llm_server: FakeLLMServer):
    timeline = await model_desk.summarize(topic=TOPIC, timeline=True)
    assert isinstance(timeline, Timeline)
    assert len(timeline.events) == 3
    article = await model_desk.summarize(topic=TOPIC, article="003_8ede539651f993fa")
    assert isinstance(article, Summary)
    assert {c.doc_id for c in article.citations} == {"003_8ede539651f993fa"}
    assert llm_server.requests == []  # timelines and article summaries are quoted


def test_the_summary_templates_load_and_validate():
    prompts = load_summary_prompts()
    assert set(prompts.story.variables) == {
        "today",
        "topic",
        "when",
        "passages",
        "cannot_answer",
        "max_sentences",
    }
    assert "stories" in prompts.overall.variables


def test_a_summary_template_with_a_wrong_variable_fails_naming_the_file(tmp_path: Path):
    for name in ("story_summary", "overall_summary"):
        text = (TEMPLATE_DIR / f"{name}.yaml").read_text(encoding="utf-8")
        (tmp_path / f"{name}.yaml").write_text(text.replace("{topic}", "{subject}"), encoding="utf-8")
    with pytest.raises(TemplateError, match=r"story_summary\.yaml"):
        load_summary_prompts(tmp_path)
