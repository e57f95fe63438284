"""The Discord bot in model mode over the loopback fake Discord, the real model answering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config import Settings
from tests.fakes.discord_fixtures import copied_seed_desk
from tests.fakes.discord_server import FakeDiscord
from tests.realmodel.conftest import model_settings
from tests.realmodel.test_real_model import QUESTION

#: A model answer takes seconds to tens of seconds on one shared thread.
WITHIN_S = 300.0


@pytest.fixture
async def discord_desk(llama_server: Any, seed_data_dir: Path, settings: Settings, tmp_path: Path) -> Any:
    """The bot's desk: the real Desk in auto mode, talking to the llama.cpp server."""
    desk = copied_seed_desk(
        seed_data_dir, model_settings(settings, llama_server.base_url, mode="auto"), tmp_path / "desk"
    )
    yield desk
    await desk.aclose()


def sources(message: dict) -> str:
    fields = [f for e in message["embeds"] for f in e.get("fields", [])]
    return "\n".join(f["value"] for f in fields if f["name"].startswith("Sources"))


async def ask_in(fake: FakeDiscord, s: Any, channel: Any, question: str) -> dict:
    ix = await fake.invoke_slash(s.member, channel, "ask", question=question)
    assert await fake.wait_for_ack(ix) == {"type": 5}
    return (await fake.wait_for_messages_with_buttons(ix, within=WITHIN_S))[-1]


async def test_ask_and_a_thread_follow_up_are_answered_through_the_model(discord_scenario: Any, monkeypatch):
    s = discord_scenario
    seen: list[tuple[str, int, dict[str, float]]] = []
    real_ask = s.bot.desk.ask

    async def spy(question: str, history: Any = (), **filters: Any) -> Any:
        answer = await real_ask(question, history=history, **filters)
        seen.append((question, len(history), answer.timings_ms))
        return answer

    monkeypatch.setattr(s.bot.desk, "ask", spy)
    first = await ask_in(s.fake, s, s.thread, QUESTION)
    follow = await ask_in(s.fake, s, s.thread, "Why was it issued?")

    for message, title in ((first, QUESTION), (follow, "Why was it issued?")):
        embed = message["embeds"][0]
        assert embed["title"] == title
        assert "[1]" in embed["description"] and sources(message)
        assert "unavailable" not in str(message["embeds"])
        assert message["allowed_mentions"] == {"parse": []}
    assert [(q, n) for q, n, _ in seen] == [(QUESTION, 0), ("Why was it issued?", 1)]
    assert all(t["model"] > 0 for _, _, t in seen)  # both went to the model
