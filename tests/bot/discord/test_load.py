"""The bot under an operator's load, over the fake Discord (which refuses, as Discord does, any
message over its limits): several /ask at once while an admin's /reindex runs, on PostgreSQL
(tests/fakes/postgres.py; skipped, with the reason, without it), the token in no log line even
at DEBUG."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

import pytest

from config import load_settings
from corpus import SAMPLE_CORPUS
from prompts.desk import Desk
from tests.fakes.discord_fixtures import bot_settings, start_bot

QUESTIONS = {
    "Who is the head of Rosneft?": "Sechin",
    "What did Ushakov say about Xi and Russia's demands for security guarantees?": "Ushakov",
}


def _more_articles(corpus: Path, count: int) -> None:
    for i in range(count):
        (corpus / f"harbour-{i}.txt").write_text(
            f"Harbour report {i}\n\nThe harbour authority in town {i} reopened berth {i} on Monday "
            f"after dredging. Ferry operators said crossings to island {i} would resume at once.",
            encoding="utf-8",
        )


@pytest.fixture
def pg_desk(postgres_dsn: str, tmp_path: Path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    settings = load_settings(store={"backend": "postgres", "poll_s": 0.0}, corpus={"path": str(corpus)})
    desk = Desk.open(settings, tmp_path / "data")
    _more_articles(corpus, 12)  # what the admin's /reindex will add while questions come in
    yield desk
    desk.close()


async def test_several_asks_at_once_while_an_admin_reindexes_all_get_their_answer(
    fake_discord, pg_desk, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    s = fake_discord
    settings = bot_settings(s.fake, tmp_path / "bot", guild_concurrency=12)
    s.bot, s.task = await start_bot(s.fake, pg_desk, settings)
    reindex = await s.fake.invoke_slash(s.admin, s.channel, "reindex")
    asks = []
    for i in range(10):
        question = list(QUESTIONS)[i % 2]
        user = s.member if i % 2 else s.admin
        asks.append((question, await s.fake.invoke_slash(user, s.channel, "ask", question=question)))
    answers = await asyncio.gather(*(s.fake.wait_for_messages_with_buttons(ix, 60) for _, ix in asks))
    for (question, _), messages in zip(asks, answers, strict=True):
        assert QUESTIONS[question] in messages[0]["embeds"][0]["description"], messages
    await s.fake.wait_for(lambda: reindex.edits and "finished" in reindex.edits[-1]["content"], 60)
    assert "12 added" in reindex.edits[-1]["content"]
    assert pg_desk.stats().articles == 17
    token = s.world.token
    assert caplog.records and not any(token in r.getMessage() for r in caplog.records)
    assert not any(token in (r.exc_text or "") for r in caplog.records)
