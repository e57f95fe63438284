"""End to end: the served site indexed through Desk.reindex and ``newsdesk refresh``, answers
citing article URLs, and the scheduled refresh loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from config.errors import RunFailed
from config.settings import Settings
from prompts.desk import Desk
from retrieval.catalog import current_generation
from retrieval.collecting import SourceStatus, read_statuses
from retrieval.index import ReindexBusy, ReindexReport
from retrieval.ingest import Progress
from retrieval.scheduling import due_sources, refresh_due, refresh_loop
from tests.fakes.news_fixtures import ATOM, FAST_FETCH, RSS, site_settings
from tests.fakes.news_site import NewsSite
from tests.fakes.news_stories import BRIDGE, FERRY


async def test_the_served_site_is_indexed_and_answers_cite_the_article_url(
    news_site: NewsSite, news_settings: Settings, tmp_path: Path
) -> None:
    desk = Desk.open(news_settings, tmp_path, build=False)
    try:
        report = await asyncio.to_thread(desk.reindex)
        assert (report.added, report.removed) == (7, 0)
        answer = desk.ask_offline("How much did the Kessler Bridge repairs cost?")
        assert "38 million dollars" in answer.text
        assert news_site.url(BRIDGE.path) in {c.url for c in answer.citations}

        news_site.publish(2)  # the bridge story corrected, the ferry story and a slow entry added
        report = await asyncio.to_thread(desk.reindex)
        assert (report.added, report.changed, report.removed) == (2, 1, 0)
        answer = desk.ask_offline("How many passengers will each electric ferry carry?")
        assert news_site.url(FERRY.path) in {c.url for c in answer.citations}

        news_site.down["/harbor/rss.xml"] = 503  # a failing feed removes nothing
        report = await asyncio.to_thread(desk.reindex, source="harbor-rss")
        assert (report.added, report.changed, report.removed, report.unchanged) == (0, 0, 0, 9)
        assert read_statuses(tmp_path)["harbor-rss"].last_error == "feed: HTTP 503"
    finally:
        desk.close()


def _config_file(site: NewsSite, folder: Path) -> Path:
    settings = site_settings(site, RSS, ATOM)
    data = {
        "sources": [s.model_dump(mode="json", exclude_defaults=True) for s in settings.sources],
        "fetch": FAST_FETCH.model_dump(mode="json"),
    }
    path = folder / "newsdesk.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


async def test_newsdesk_refresh_reports_each_source_and_fails_when_one_does(
    news_site: NewsSite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config_file(news_site, tmp_path)
    argv = ["--data-dir", str(tmp_path / "data"), "--config", str(config), "refresh"]
    assert await asyncio.to_thread(main, argv) == 0
    out = capsys.readouterr().out
    assert "harbor-rss (feed): ok, 5 articles" in out and "indexed: 7 added" in out
    news_site.down["/courier/atom.xml"] = 500
    assert await asyncio.to_thread(main, [*argv, "--source", "courier-atom"]) == 1
    out = capsys.readouterr().out
    assert "courier-atom (feed): FAILED, 2 articles" in out and "0 removed" in out


async def test_newsdesk_refresh_without_sources_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await asyncio.to_thread(main, ["--data-dir", str(tmp_path), "refresh"]) == 2
    assert "no sources are configured" in capsys.readouterr().err


def test_a_source_is_due_when_its_interval_has_passed_since_the_last_attempt(news_site: NewsSite) -> None:
    settings = site_settings(
        news_site,
        {**RSS, "refresh_minutes": 30},
        {**ATOM, "refresh_minutes": 5},
        {**ATOM, "name": "off", "enabled": False},
    )
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    ten_ago = (now - timedelta(minutes=10)).isoformat()
    statuses = {
        "harbor-rss": SourceStatus("harbor-rss", "feed", last_attempt=ten_ago),
        "courier-atom": SourceStatus("courier-atom", "feed", last_attempt=ten_ago, last_error="x"),
    }
    assert due_sources(settings, statuses, now) == ["courier-atom"]
    assert due_sources(settings, {}, now) == ["harbor-rss", "courier-atom"]


class FakeDesk:
    """Records reindex calls and writes a status as collect() would."""

    def __init__(self, data_dir: Path, busy: bool = False, fails: Exception | None = None) -> None:
        self.data_dir = data_dir
        self.calls: list[str | None] = []
        self.busy = busy
        self.fails = fails

    def reindex(
        self,
        corpus: Path | None = None,
        rebuild: bool = False,
        progress: Progress | None = None,
        source: str | None = None,
    ) -> ReindexReport:
        if self.busy:
            raise ReindexBusy("busy")
        self.calls.append(source)
        if self.fails is not None:
            raise self.fails
        return ReindexReport(0, 0, 0, 0, 0, 0, 0, 0.0)


async def test_the_loop_refreshes_everything_at_start_then_stops(news_site: NewsSite, tmp_path: Path) -> None:
    desk = FakeDesk(tmp_path)
    stop = asyncio.Event()
    seen: list[str | None] = []

    def refreshed(name: str | None, _: ReindexReport | BaseException) -> None:
        seen.append(name)
        stop.set()

    task = asyncio.create_task(
        refresh_loop(desk, site_settings(news_site, RSS, ATOM), stop, tick_s=0.05, on_refresh=refreshed)
    )
    await asyncio.wait_for(task, timeout=2)
    assert desk.calls == [None] and seen == [None]


async def test_a_busy_index_postpones_the_refresh(news_site: NewsSite, tmp_path: Path) -> None:
    desk = FakeDesk(tmp_path, busy=True)
    assert await refresh_due(desk, site_settings(news_site, RSS, ATOM)) == []


async def test_a_refresh_that_cannot_complete_is_one_warning_line_without_a_traceback(
    news_site: NewsSite, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The bot's scheduled refresh on a full disk logs what the CLI prints, every tick."""
    full = RunFailed("/srv/newsdesk/sources/cache-a.json cannot be written (No space left on device)")
    desk = FakeDesk(tmp_path, fails=full)
    seen: list[object] = []
    await refresh_due(desk, site_settings(news_site, RSS, ATOM), on_refresh=lambda n, r: seen.append(r))
    assert seen == [full]
    (record,) = [r for r in caplog.records if r.name == "retrieval.scheduling"]
    assert record.levelname == "WARNING" and record.exc_info is None
    assert "No space left on device" in record.getMessage()


async def test_stopping_the_loop_ends_a_refresh_in_progress_at_its_next_progress_report(
    news_site: NewsSite, news_settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="retrieval.scheduling")
    news_site.delay_s = 0.3  # the refresh is still fetching articles when the stop comes
    desk = Desk.open(news_settings, tmp_path, build=False)
    stop = asyncio.Event()
    seen: list[str | None] = []
    try:
        task = asyncio.create_task(
            refresh_loop(desk, news_settings, stop, tick_s=60, on_refresh=lambda n, _: seen.append(n))
        )
        await asyncio.wait_for(news_site.delaying.wait(), 5)  # what SIGTERM finds: a refresh under way
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        assert current_generation(desk.index_root) is None  # nothing half-done was published
        assert seen == [] and "the refresh of all sources stopped" in caplog.text
        report = await asyncio.to_thread(desk.reindex)  # the next run does the whole job
        assert report.added == 7
    finally:
        desk.close()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_full_disk_while_caching_a_source_names_the_file_and_keeps_the_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "ferry.md").write_text("# Ferry\n\nThe council cut the ferry budget by a third on Tuesday.\n")
    config = tmp_path / "newsdesk.yaml"
    config.write_text(yaml.safe_dump({"sources": [{"name": "local", "kind": "folder", "path": str(folder)}]}))
    data = tmp_path / "data"
    argv = ["--data-dir", str(data), "--config", str(config), "refresh"]
    assert main(argv) == 0
    published = current_generation(data / "index")
    capsys.readouterr()

    (folder / "bridge.md").write_text("# Bridge\n\nThe Kessler Bridge reopened after repairs.\n")
    cache = data / "sources" / "cache-local.json"
    before = cache.read_text()
    (data / "sources" / ".cache-local.json.tmp").symlink_to("/dev/full")  # the disk is full
    assert main(argv) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("newsdesk")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert f"{cache} cannot be written (No space left on device)" in lines[0]  # not the index folder
    assert "the index that answers is unchanged" in lines[0]
    assert current_generation(data / "index") == published
    assert cache.read_text() == before and not (data / "sources" / ".cache-local.json.tmp").exists()
    assert main(argv) == 0  # room again: the next run finishes the job
    assert "1 added" in capsys.readouterr().out
