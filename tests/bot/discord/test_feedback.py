"""The 👍/👎 buttons under an answer (bot/discord/feedback.py), clicked through the fake Discord."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from datetime import date
from typing import Any

from bot.discord.feedback import DOWN_ID, NOT_RECORDED, NOTED, UNKNOWN, UP_ID
from bot.state import database
from prompts.citations import Answer, Citation, Coverage
from tests.fakes.discord_fixtures import DiscordScenario, bot_settings, start_bot

QUESTION = "Did the council pass the budget?"


class OneAnswerDesk:
    """Answers every question with one cited sentence."""

    async def ask(self, question: str, history: Any = (), **filters: Any) -> Answer:
        citation = Citation(
            1,
            "doc",
            "Budget passed",
            "The budget passed.",
            0,
            10,
            outlet="Gazette",
            published=date(2024, 5, 1),
        )
        return Answer(
            question, "The budget passed [1].", (citation,), True, "extractive", Coverage(1, None, None)
        )


async def _answered(s: DiscordScenario, tmp_path) -> dict[str, Any]:
    s.bot, s.task = await start_bot(s.fake, OneAnswerDesk(), bot_settings(s.fake, tmp_path))
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question=QUESTION)
    [answer] = await s.fake.wait_for_messages_with_buttons(ix)
    return answer


def _hold_write_lock(path, seconds: float) -> threading.Event:
    """Another process's writer: holds SQLite's write lock on ``path`` for ``seconds``."""
    held = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(str(path), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.set()
        threading.Event().wait(seconds)
        other.rollback()
        other.close()

    threading.Thread(target=hold, daemon=True).start()
    assert held.wait(5)
    return held


async def test_a_vote_is_stored_with_its_question_answer_and_citations(fake_discord, tmp_path):
    s = fake_discord
    answer = await _answered(s, tmp_path)
    click = await s.fake.click_button(s.admin, answer, DOWN_ID)
    [thanks] = await s.fake.wait_for(lambda: click.messages)
    assert thanks["content"] == NOTED and thanks["flags"] == 64
    [vote] = s.bot.answers.feedback()
    assert (vote["vote"], vote["question"]) == (-1, QUESTION)
    assert vote["citations"][0]["outlet"] == "Gazette"
    assert {c["custom_id"] for c in answer["components"][0]["components"]} == {UP_ID, DOWN_ID}


async def test_a_click_is_acknowledged_in_time_while_the_database_is_slow(fake_discord, tmp_path):
    """Another writer holds the database past Discord's 3 s (scaled down here): the click is
    acknowledged at once, privately, and the vote is recorded when the database frees up; it
    was acknowledged only after the write, too late, and Discord showed 'This interaction failed'."""
    s = fake_discord
    answer = await _answered(s, tmp_path)
    s.fake.ack_deadline = 0.5
    _hold_write_lock(tmp_path / "bot.sqlite3", 1.5)
    click = await s.fake.click_button(s.admin, answer, UP_ID)
    ack = await s.fake.wait_for_ack(click)
    assert ack["type"] == 5 and ack["data"]["flags"] == 64  # private "thinking…"
    [thanks] = await s.fake.wait_for(lambda: click.messages)
    assert thanks["content"] == NOTED and thanks["flags"] == 64
    assert [v["vote"] for v in s.bot.answers.feedback()] == [1]


async def test_a_vote_the_database_cannot_take_is_said_to_the_voter_and_logged(
    fake_discord, tmp_path, monkeypatch, caplog
):
    """The lock is held past the database's busy timeout: the voter reads that the vote was not
    recorded (not 'thanks'), and the log has one line with the vote, not a traceback."""
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.2)
    s = fake_discord
    answer = await _answered(s, tmp_path)
    _hold_write_lock(tmp_path / "bot.sqlite3", 2.0)
    with caplog.at_level(logging.WARNING):
        click = await s.fake.click_button(s.admin, answer, DOWN_ID)
        [sorry] = await s.fake.wait_for(lambda: click.messages)
    assert sorry["content"] == NOT_RECORDED and sorry["flags"] == 64
    [line] = [r for r in caplog.records if "not recorded" in r.getMessage()]
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert line.getMessage() == (
        f"vote -1 by user {s.admin.id} on answer message {answer['id']} not recorded: "
        "the bot's database cannot record the vote: database is locked"
    )
    assert s.bot.errors.last_hour() == 0
    await asyncio.sleep(2.0)  # the other writer is done: a second click is recorded
    again = await s.fake.click_button(s.admin, answer, DOWN_ID)
    [thanks] = await s.fake.wait_for(lambda: again.messages)
    assert thanks["content"] == NOTED
    assert [v["vote"] for v in s.bot.answers.feedback()] == [-1]


async def test_a_vote_on_an_answer_no_longer_on_record_says_so(fake_discord, tmp_path):
    s = fake_discord
    answer = await _answered(s, tmp_path)
    forgotten = answer | {"id": str(int(answer["id"]) + 1)}
    click = await s.fake.click_button(s.member, forgotten, UP_ID)
    [reply] = await s.fake.wait_for(lambda: click.messages)
    assert reply["content"] == UNKNOWN and reply["flags"] == 64
    assert s.bot.answers.feedback() == []
