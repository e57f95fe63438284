"""An answer outlives a short Discord outage; a long one ends in log lines, never tracebacks."""

from __future__ import annotations

import asyncio
import logging

import pytest


class GatedAsk:
    """The seed desk, whose answers wait for the test to open a gate."""

    def __init__(self, desk) -> None:
        self._desk = desk
        self.gate = asyncio.Event()
        self.asked = asyncio.Event()

    def __getattr__(self, name):
        return getattr(self._desk, name)

    async def ask(self, question, **options):
        self.asked.set()
        await asyncio.wait_for(self.gate.wait(), 10)
        return await self._desk.ask(question, **options)


@pytest.fixture
def discord_desk(discord_seed_desk):
    return GatedAsk(discord_seed_desk)


class Heard(logging.Handler):
    """Set once a log line with ``words`` is emitted (the bot logs in the test's event loop)."""

    def __init__(self, words: str) -> None:
        super().__init__(logging.WARNING)
        self.words = words
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.words in record.getMessage():
            self.event.set()


async def _logged(words: str, within: float = 10.0) -> None:
    heard = Heard(words)  # added before the test yields to the bot: no line is missed
    logging.getLogger().addHandler(heard)
    try:
        await asyncio.wait_for(heard.event.wait(), within)
    finally:
        logging.getLogger().removeHandler(heard)


def _no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [r.getMessage() for r in bad]


async def test_an_answer_ready_while_discord_is_unreachable_is_sent_when_it_comes_back(
    discord_scenario, caplog: pytest.LogCaptureFixture
):
    s = discord_scenario
    caplog.set_level(logging.WARNING)
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question="Who is the head of Rosneft?")
    assert await s.fake.wait_for_ack(ix) == {"type": 5}
    await s.bot.desk.asked.wait()
    await s.fake.go_offline()
    s.bot.desk.gate.set()  # the answer is ready; Discord is not there to take it
    await _logged("Discord cannot be reached")
    await s.fake.come_back()
    [answer] = await s.fake.wait_for_messages_with_buttons(ix, within=20)
    assert "Sechin" in answer["embeds"][0]["description"]
    _no_tracebacks(caplog)


@pytest.mark.parametrize("discord_settings_overrides", [{"delivery_retry_s": 0.3}])
async def test_an_answer_discord_never_takes_is_one_warning_line_not_a_traceback(
    discord_scenario, caplog: pytest.LogCaptureFixture
):
    s = discord_scenario
    caplog.set_level(logging.WARNING)
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question="Who is the head of Rosneft?")
    await s.fake.wait_for_ack(ix)
    await s.bot.desk.asked.wait()
    await s.fake.go_offline()
    s.bot.desk.gate.set()
    await _logged("could not deliver an error reply")
    assert any("lost the connection to Discord in /ask" in r.getMessage() for r in caplog.records)
    assert s.bot.errors.last_hour() == 0  # the network, not a bug of ours
    _no_tracebacks(caplog)
    await s.fake.come_back()  # so the bot can log out


def test_discord_reconnecting_after_a_lost_connection_is_one_warning_line() -> None:
    import sys

    from bot.discord.app import _one_line_reconnect

    try:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 9)")
    except ConnectionRefusedError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "discord.client", logging.ERROR, __file__, 1, "Attempting a reconnect in %.2fs", (1.5,), exc_info
    )
    assert _one_line_reconnect(record)
    assert (record.levelname, record.exc_info) == ("WARNING", None)
    assert record.getMessage() == (
        "Attempting a reconnect in 1.50s (the connection was lost: "
        "[Errno 111] Connect call failed ('127.0.0.1', 9))"
    )


async def test_a_stopping_bot_finishes_the_answer_in_progress_and_refuses_new_questions(discord_scenario):
    s = discord_scenario
    first = await s.fake.invoke_slash(s.member, s.channel, "ask", question="Who is the head of Rosneft?")
    await s.bot.desk.asked.wait()
    stopping = asyncio.create_task(s.bot.close())  # what SIGTERM does
    await asyncio.sleep(0)
    second = await s.fake.invoke_slash(s.admin, s.channel, "ask", question="When did Xi visit Moscow?")
    refusal = await s.fake.wait_for_ack(second)
    assert refusal["data"]["content"] == "I'm restarting; please ask again in a minute."
    assert not stopping.done()
    s.bot.desk.gate.set()
    await asyncio.wait_for(stopping, 10)
    [answer] = first.messages
    assert "Sechin" in answer["embeds"][0]["description"]


@pytest.mark.parametrize("discord_settings_overrides", [{"shutdown_grace_s": 0.2}])
async def test_a_stopping_bot_waits_for_an_answer_no_longer_than_its_grace(
    discord_scenario, caplog: pytest.LogCaptureFixture
):
    s = discord_scenario
    await s.fake.invoke_slash(s.member, s.channel, "ask", question="Who is the head of Rosneft?")
    await s.bot.desk.asked.wait()
    await asyncio.wait_for(s.bot.close(), 5)
    assert "stopping with 1 command unfinished after 0.2 s" in caplog.text
    s.bot.desk.gate.set()
