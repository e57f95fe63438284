"""Source status reaches the bot's database, which /sources and /status read."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.discord.panels import record_source_statuses, source_lines, without_server_paths
from bot.state import open_state
from config import load_settings
from prompts.desk import Desk
from retrieval.catalog import current_generation
from retrieval.collecting import collect
from tests.fakes.discord_fixtures import bot_settings, start_bot
from tests.fakes.news_fixtures import ATOM, RSS, site_settings
from tests.fakes.news_site import NewsSite


def test_collected_source_status_is_kept_in_the_bot_database(tmp_path: Path, corpus_copy: Path) -> None:
    settings = load_settings(
        sources=[
            {"name": "seeds", "kind": "folder", "path": str(corpus_copy)},
            {"name": "broken", "kind": "folder", "path": str(tmp_path / "missing")},
            {"name": "later", "kind": "folder", "path": str(corpus_copy), "enabled": False},
        ]
    )
    data = tmp_path / "data"
    collect(settings, data)
    state = open_state(settings, data / "newsdesk.sqlite3")
    try:
        record_source_statuses(state, data)
        lines = source_lines(state, settings)
    finally:
        state.close()
    assert lines[0] == "**Sources:**"
    assert lines[1].startswith("seeds (folder): ok, 5 articles; last refresh 5 new or changed")
    assert ", checked 20" in lines[1]
    assert lines[2].startswith("broken (folder): FAILED") and "error: corpus folder missing does" in lines[2]
    assert str(tmp_path) not in "\n".join(lines)  # /coverage shows these lines to every member
    assert lines[3].startswith("later (folder): ") and lines[3].endswith("(disabled)")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("corpus folder /srv/news/corpus does not exist", "corpus folder corpus does not exist"),
        ("manifest /a/b/manifest.yaml cannot be read (/a/b)", "manifest manifest.yaml cannot be read (b)"),
        (
            "[1] [Wire](<https://a.example/b/c>) file:///etc/x",
            "[1] [Wire](<https://a.example/b/c>) file:///etc/x",
        ),
        ("24/7 and/or 5/10, ~/notes, a lone / here", "24/7 and/or 5/10, ~/notes, a lone / here"),
    ],
)
def test_a_server_path_is_shown_as_its_last_part_and_nothing_else_changes(text: str, shown: str) -> None:
    assert without_server_paths(text) == shown


async def test_a_scheduled_refresh_running_when_the_bot_stops_ends_with_it(
    fake_discord, news_site: NewsSite, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="retrieval.scheduling")
    news_site.delay_s = 0.5  # the first refresh is still fetching when the bot is told to stop
    settings = site_settings(news_site, RSS, ATOM, base=bot_settings(fake_discord.fake, tmp_path))
    desk = Desk.open(settings, tmp_path, build=False)
    s = fake_discord
    try:
        s.bot, s.task = await start_bot(s.fake, desk, settings)
        await asyncio.wait_for(news_site.delaying.wait(), 5)  # a refresh under way
        await asyncio.wait_for(s.bot.close(), 5)  # what SIGTERM does
        assert "the refresh of all sources stopped" in caplog.text
        assert current_generation(desk.index_root) is None  # and nothing runs on behind it
    finally:
        desk.close()


@pytest.mark.parametrize(
    ("job", "line"),
    [
        (
            {"status": "done", "started_at": 0.0, "finished_at": 0.0, "summary": "3 added, 0 changed"},
            "**Last reindex:** done, {day}: 3 added, 0 changed",
        ),
        (
            {"status": "failed", "source": "feeds", "finished_at": 0.0, "summary": "no folder /srv/x/corpus"},
            "**Last reindex:** failed (feeds), {day}: no folder corpus",
        ),
        ({"status": "running", "started_at": 0.0}, "**Last reindex:** running, since {day}"),
    ],
)
def test_the_last_reindex_line_says_how_it_ended_and_when(job: dict, line: str) -> None:
    from bot.discord.panels import _day, job_line

    assert job_line(job) == line.format(day=_day(0.0))
