"""/reindex and /status: admin only (checked by Discord and again by the bot), one at a time."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import re
import sqlite3
import threading
import time

import pytest

from bot.discord.cogs import admin
from retrieval.index import ReindexReport
from tests.fakes.discord_commands import CommandNotPermitted
from tests.fakes.discord_fixtures import bot_settings, copied_seed_desk, start_bot


class GatedDesk:
    """The seed desk, whose (real) reindex waits for the test to open a gate."""

    def __init__(self, desk) -> None:
        self._desk = desk
        self.gate = threading.Event()
        self.started = threading.Event()
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self._desk, name)

    def reindex(self, progress=None, **options) -> ReindexReport:
        self.calls += 1
        self.started.set()
        if not self.gate.wait(10):
            raise TimeoutError("the test never opened the gate")
        return self._desk.reindex(progress=progress, **options)


@pytest.fixture(scope="module")
def own_desk(seed_data_dir, settings, tmp_path_factory):
    """A Desk of its own, so reindexing leaves the shared one alone."""
    desk = copied_seed_desk(seed_data_dir, settings, tmp_path_factory.mktemp("reindex") / "data")
    yield desk
    desk.close()


@pytest.fixture
def discord_desk(own_desk):
    return GatedDesk(own_desk)


def contents(ix) -> list[str]:
    return [ix.callbacks[0]["data"]["content"], *(e["content"] for e in ix.edits)]


async def test_reindex_as_admin_shows_progress_then_the_report(discord_scenario):
    s = discord_scenario
    s.bot.desk.gate.set()
    ix = await s.fake.invoke_slash(s.admin, s.channel, "reindex")

    await s.fake.wait_for(lambda: ix.edits and "finished" in ix.edits[-1]["content"])
    assert ix.callbacks[0]["data"]["flags"] == 64  # ephemeral
    assert re.fullmatch(
        r"Reindex finished: 0 added, 0 changed, 0 removed, 5 unchanged, "
        r"0 failed; 23 passages \(0 embedded\) in \d+\.\d s\.",
        contents(ix)[-1],
    )
    corpus = s.bot.desk.index.corpus_path()  # the folder's name only, never the server's path
    assert f"Reindexing… read 5 articles from {corpus.name}" in contents(ix)[1:-1]
    assert not any(str(corpus.parent) in text for text in contents(ix))
    (job,) = s.bot.answers.jobs()
    assert job.status == "done" and "5 unchanged" in (job.summary or "")


async def test_reindex_is_hidden_from_members_by_default(discord_scenario):
    s = discord_scenario
    with pytest.raises(CommandNotPermitted):
        await s.fake.invoke_slash(s.member, s.channel, "reindex")
    synced = s.fake.commands.global_commands["reindex"]
    assert str(synced["default_member_permissions"]) == str(1 << 5)  # Manage Server


async def test_reindex_refused_by_the_bot_when_the_server_overrides_the_default(discord_scenario):
    s = discord_scenario
    ix = await s.fake.invoke_slash(s.member, s.channel, "reindex", enforce_default_permissions=False)
    ack = await s.fake.wait_for_ack(ix)
    assert ack["type"] == 4 and ack["data"]["flags"] == 64
    assert "Manage Server" in ack["data"]["content"]
    assert s.bot.desk.calls == 0


async def test_admin_role_from_config_may_reindex(fake_discord, discord_desk, tmp_path):
    s = fake_discord
    role = s.world.add_role(s.guild, "newsdesk-admins")
    s.guild.members[s.member.id].role_ids.append(role.id)
    settings = bot_settings(s.fake, tmp_path, admin_role_ids=[role.id])
    s.bot, s.task = await start_bot(s.fake, discord_desk, settings)
    discord_desk.gate.set()
    ix = await s.fake.invoke_slash(s.member, s.channel, "reindex", enforce_default_permissions=False)
    await s.fake.wait_for(lambda: ix.edits and "finished" in ix.edits[-1]["content"])


async def test_second_reindex_while_one_runs_gets_a_clear_reply(discord_scenario):
    s = discord_scenario
    first = await s.fake.invoke_slash(s.admin, s.channel, "reindex")
    await asyncio.to_thread(s.bot.desk.started.wait, 10)
    second = await s.fake.invoke_slash(s.admin, s.channel, "reindex")
    ack = await s.fake.wait_for_ack(second)
    assert ack["data"]["flags"] == 64
    assert ack["data"]["content"].startswith("A reindex is already running")
    assert ack["data"]["content"].endswith("try /reindex again when it finishes.")  # the command whole

    # Questions are still answered while the reindex runs.
    ask = await s.fake.invoke_slash(s.member, s.channel, "ask", question="Who met in Moscow?")
    await s.fake.wait_for_messages_with_buttons(ask)

    s.bot.desk.gate.set()
    await s.fake.wait_for(lambda: first.edits and "finished" in first.edits[-1]["content"])
    assert s.bot.desk.calls == 1


async def test_status_reports_index_mode_uptime_and_errors(discord_scenario):
    s = discord_scenario
    ix = await s.fake.invoke_slash(s.admin, s.channel, "status")
    [message] = await s.fake.wait_for(lambda: ix.messages)
    text = message["embeds"][0]["description"]
    assert "**Index:** 5 articles / 23 passages" in text
    assert "**Answer mode:** offline (extractive)" in text
    assert "**Model reachable:** n/a" in text
    assert "**Errors in the last hour:** 0" in text
    assert message["flags"] & 64


async def test_sources_lists_the_coverage(discord_scenario):
    s = discord_scenario
    ix = await s.fake.invoke_slash(s.member, s.channel, "sources")
    [message] = await s.fake.wait_for(lambda: ix.messages)
    text = message["embeds"][0]["description"]
    assert "**Articles:** 5" in text
    assert "**Dates:** 2021-12-15 to 2023-03-17" in text
    assert "South China Morning Post" in text
    assert message["flags"] & 64


async def test_sources_answers_when_the_index_takes_seconds_to_load(discord_scenario, monkeypatch):
    s = discord_scenario
    s.fake.ack_deadline = 1.0  # Discord's 3 s, scaled down with the load below
    loaded = s.bot.desk.stats

    def slow_stats():
        time.sleep(1.5)  # the first stats() after a refresh elsewhere loads the new generation
        return loaded()

    monkeypatch.setattr(s.bot.desk, "stats", slow_stats)
    ix = await s.fake.invoke_slash(s.member, s.channel, "sources")
    [message] = await s.fake.wait_for(lambda: ix.messages)  # was 'The application did not respond'
    assert "**Articles:** 5" in message["embeds"][0]["description"] and message["flags"] & 64


async def test_reindex_of_one_source_reaches_the_core_and_its_error_replaces_the_progress_message(
    discord_scenario,
):
    s = discord_scenario
    s.bot.desk.gate.set()
    ix = await s.fake.invoke_slash(s.admin, s.channel, "reindex", source="feeds")
    await s.fake.wait_for(lambda: ix.edits or ix.followups)
    assert ix.callbacks[0]["data"]["flags"] == 64
    [shown] = ix.messages  # one reply: not "starting" left behind beside the error
    assert "no sources are configured" in shown["content"] and ix.followups == []


async def test_a_reindex_running_when_the_bot_stops_ends_with_one_clear_line(discord_scenario):
    from retrieval.catalog import current_generation

    s = discord_scenario
    before = current_generation(s.bot.desk.index_root)
    ix = await s.fake.invoke_slash(s.admin, s.channel, "reindex")
    await asyncio.to_thread(s.bot.desk.started.wait, 5)
    stopping = asyncio.create_task(s.bot.close())  # what SIGTERM does
    await asyncio.sleep(0)
    s.bot.desk.gate.set()  # the reindex goes on and stops at its first progress report
    await asyncio.wait_for(stopping, 10)
    [shown] = ix.messages
    assert shown["content"].startswith("The reindex stopped because the bot is shutting down;")
    assert "/reindex after the restart" in shown["content"]
    assert current_generation(s.bot.desk.index_root) == before
    with contextlib.closing(sqlite3.connect(s.bot.settings.discord.database)) as db:
        assert db.execute("SELECT status FROM reindex_jobs").fetchall() == [("stopped",)]


class SlowDesk:
    """The seed desk, whose reindex reports progress for ``seconds`` and then finishes (or
    fails with ``error``)."""

    def __init__(self, desk, seconds: float, error: Exception | None = None) -> None:
        self._desk, self.seconds, self.error = desk, seconds, error

    def __getattr__(self, name):
        return getattr(self._desk, name)

    def reindex(self, progress=None, **options) -> ReindexReport:
        steps = 6
        for i in range(steps):
            progress(i, steps, "reading")
            time.sleep(self.seconds / steps)
        if self.error is not None:
            raise self.error
        return ReindexReport(3, 0, 0, 5, 0, 40, 12, self.seconds)


async def test_a_reindex_outliving_discords_15_minutes_says_so_and_status_shows_its_end(
    fake_discord, own_desk, tmp_path, monkeypatch, caplog
):
    s = fake_discord
    s.fake.token_lifetime = 2.0  # Discord: 15 minutes, then 401 Invalid Webhook Token
    monkeypatch.setattr(admin, "TOKEN_LIFETIME_S", 2.0)
    monkeypatch.setattr(admin, "TOKEN_MARGIN_S", 1.0)  # room for a slow request on a loaded box
    s.bot, s.task = await start_bot(s.fake, SlowDesk(own_desk, 2.7), bot_settings(s.fake, tmp_path))
    ix = await s.fake.invoke_slash(s.admin, s.channel, "reindex")
    await s.fake.wait_for(lambda: ix.edits and "Still running" in ix.edits[-1]["content"])
    for _ in range(100):  # the reindex ends after the token expired
        if [j for j in s.bot.answers.jobs(1) if j.status == "done"]:
            break
        await asyncio.sleep(0.1)

    last = ix.edits[-1]["content"]
    assert last.startswith("Reindexing… ") and "/status shows how the reindex ends" in last
    assert not [r for r in s.fake.requests if r.status == 401]  # no edit after the token expired
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    status = await s.fake.invoke_slash(s.admin, s.channel, "status")
    [message] = await s.fake.wait_for(lambda: status.messages)
    assert "**Last reindex:** done, " in message["embeds"][0]["description"]
    assert ": 3 added, 0 changed" in message["embeds"][0]["description"]


async def test_a_reindex_while_a_cli_refresh_holds_the_lock_says_busy_and_keeps_the_index(
    discord_scenario,
):
    s = discord_scenario
    s.bot.desk.gate.set()
    with (s.bot.desk.index_root / ".lock").open("w") as held:  # what 'newsdesk refresh' holds
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        ix = await s.fake.invoke_slash(s.admin, s.channel, "reindex")
        await s.fake.wait_for(lambda: ix.edits)
    [shown] = ix.messages
    assert shown["flags"] & 64
    assert shown["content"] == (
        "Not now: another process is reindexing this data directory. I keep answering from the "
        "current index; try /reindex again when it has finished."
    )
    [job] = s.bot.answers.jobs(1)
    assert job.status == "busy"
    assert s.bot.errors.last_hour() == 0


async def test_a_reindex_failing_after_discords_15_minutes_is_logged_and_shown_by_status(
    fake_discord, own_desk, tmp_path, monkeypatch, caplog
):
    from config.errors import RunFailed

    s = fake_discord
    s.fake.token_lifetime = 2.0
    monkeypatch.setattr(admin, "TOKEN_LIFETIME_S", 2.0)
    monkeypatch.setattr(admin, "TOKEN_MARGIN_S", 1.0)
    failing = SlowDesk(own_desk, 2.7, RunFailed("the corpus folder /srv/news/corpus does not exist"))
    s.bot, s.task = await start_bot(s.fake, failing, bot_settings(s.fake, tmp_path))
    with caplog.at_level(logging.WARNING):
        ix = await s.fake.invoke_slash(s.admin, s.channel, "reindex")
        for _ in range(100):
            if [j for j in s.bot.answers.jobs(1) if j.status == "failed"] and caplog.records:
                break
            await asyncio.sleep(0.1)
    assert "Still running" in ix.edits[-1]["content"]  # its last word, before the token expired
    assert not [r for r in s.fake.requests if r.status == 401]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            "not shown to the user (Discord's 15 minutes for the reply are over): "
            "the corpus folder corpus does not exist",
        )
    ]
    status = await s.fake.invoke_slash(s.admin, s.channel, "status")
    [message] = await s.fake.wait_for(lambda: status.messages)
    assert "**Last reindex:** failed, " in message["embeds"][0]["description"]
    assert ": the corpus folder corpus does not exist" in message["embeds"][0]["description"]
