"""The status snapshot: sources and their last refresh, and the model probe with a deadline."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

from config import load_settings
from prompts.status import desk_status, probe_model
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.news_fixtures import ATOM, RSS, site_settings
from tests.fakes.news_site import NewsSite


class _NoIndexDesk:
    """A desk whose index does not exist yet (status must still answer)."""

    def __init__(self, settings, data_dir: Path) -> None:
        self.settings = settings
        self.data_dir = data_dir

    def stats(self):
        from retrieval.sources import CorpusError

        raise CorpusError("no index yet")

    def resolve_mode(self, mode):
        return "extractive"


def test_sources_are_listed_with_their_state(news_site: NewsSite, tmp_path: Path) -> None:
    settings = site_settings(news_site, RSS, {**ATOM, "enabled": False})
    status = desk_status(_NoIndexDesk(settings, tmp_path), probe=lambda s: "not configured")
    assert [(s.name, s.state, s.enabled) for s in status.sources] == [
        ("harbor-rss", "never refreshed", True),
        ("courier-atom", "never refreshed", False),
    ]
    assert status.index_problem == "no index yet"
    assert "source courier-atom (feed): never refreshed, 0 articles (disabled)" in status.lines()


def test_a_failing_source_says_since_when_and_a_working_one_its_failed_pages(
    news_site: NewsSite, tmp_path: Path
) -> None:
    """What an operator acts on: how old a failing source's articles are, which page fails."""
    from retrieval.collecting import SourceStatus, _write_statuses, state_dir

    settings = site_settings(news_site, RSS, ATOM)
    state_dir(tmp_path).mkdir(parents=True)
    _write_statuses(
        state_dir(tmp_path),
        {
            "harbor-rss": SourceStatus(
                "harbor-rss",
                "feed",
                "2026-11-30T18:29:04+00:00",
                "2026-11-28T06:00:00+00:00",
                last_error="feed: HTTP 503",
                articles=5,
            ),
            "courier-atom": SourceStatus(
                "courier-atom",
                "feed",
                "2026-11-30T18:29:04+00:00",
                "2026-11-30T18:29:04+00:00",
                warning="first failure: https://x.example/a?token=s3cret: HTTP 404",
                articles=2,
                failed=1,
            ),
        },
    )
    lines = desk_status(_NoIndexDesk(settings, tmp_path), probe=lambda s: "not configured").lines()
    assert (
        "source harbor-rss (feed): FAILED, 5 articles, last refresh 2026-11-30 18:29 UTC, "
        "last good 2026-11-28 06:00 UTC; error: feed: HTTP 503"
    ) in lines
    courier = next(line for line in lines if line.startswith("source courier-atom"))
    assert courier.startswith(
        "source courier-atom (feed): ok, 2 articles, last refresh 2026-11-30 18:29 UTC;"
    )
    assert "first failure: https://x.example/a?token=" in courier and "s3cret" not in courier


def test_a_source_with_one_article_says_1_article(news_site: NewsSite, tmp_path: Path) -> None:
    from retrieval.collecting import SourceStatus, _write_statuses, state_dir

    settings = site_settings(news_site, RSS)
    state_dir(tmp_path).mkdir(parents=True)
    stamp = "2026-11-30T18:29:04+00:00"
    _write_statuses(
        state_dir(tmp_path), {"harbor-rss": SourceStatus("harbor-rss", "feed", stamp, stamp, articles=1)}
    )
    lines = desk_status(_NoIndexDesk(settings, tmp_path), probe=lambda s: "not configured").lines()
    assert "source harbor-rss (feed): ok, 1 article, last refresh 2026-11-30 18:29 UTC" in lines


async def test_a_model_server_that_answers_is_reachable(llm_server: FakeLLMServer) -> None:
    settings = load_settings(llm={"base_url": llm_server.base_url, "model": "fake-model"})
    text = await asyncio.to_thread(probe_model, settings)
    assert text.startswith(f"reachable at {llm_server.base_url} (fake-model)")


def test_a_closed_port_is_not_reachable_and_says_so_quickly() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    settings = load_settings(llm={"base_url": f"http://127.0.0.1:{port}/v1"})
    started = time.monotonic()
    text = probe_model(settings, deadline_s=1.0)
    assert text.startswith(f"NOT reachable at http://127.0.0.1:{port}/v1: connection failed")
    assert time.monotonic() - started < 5


def test_no_key_and_no_base_url_is_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSDESK_NO_KEY", raising=False)
    assert probe_model(load_settings(llm={"api_key_env": "NEWSDESK_NO_KEY"})) == "not configured"


def test_a_damaged_index_is_reported_not_raised(seed_data_dir: Path, tmp_path: Path) -> None:
    """Status is what an operator runs when something is wrong: it says what, and the rest."""
    import shutil

    from prompts.desk import Desk
    from retrieval.catalog import CATALOG_FILE, current_generation

    data = tmp_path / "data"
    shutil.copytree(seed_data_dir, data)
    generation = current_generation(data / "index")
    assert generation is not None
    (generation / CATALOG_FILE).write_text("{broken", encoding="utf-8")
    desk = Desk.open(load_settings(), data, build=False)
    try:
        status = desk_status(desk, probe=lambda s: "not configured")
    finally:
        desk.close()
    assert status.index_problem is not None and "is damaged" in status.index_problem
    assert "newsdesk index --rebuild" in status.index_problem
    assert status.articles is None and status.store.startswith("qdrant")


def test_a_database_that_cannot_be_reached_is_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_dsn: str
) -> None:
    """An index on PostgreSQL, then the database gone (stopped, or a wrong password)."""
    from corpus import SAMPLE_CORPUS
    from prompts.desk import Desk

    settings = load_settings(store={"backend": "postgres"})
    Desk.open(settings, tmp_path / "data", build=False).reindex(SAMPLE_CORPUS)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("NEWSDESK_POSTGRES_DSN", f"postgresql://newsdesk:hunter22@127.0.0.1:{port}/newsdesk")
    desk = Desk.open(settings, tmp_path / "data", build=False)
    try:
        status = desk_status(desk, probe=lambda s: "not configured")
    finally:
        desk.close()
    assert status.index_problem is not None
    assert status.index_problem.startswith("cannot connect to PostgreSQL (NEWSDESK_POSTGRES_DSN)")
    assert "hunter22" not in " ".join(status.lines())


def test_a_password_in_a_server_url_is_never_shown(tmp_path: Path) -> None:
    """``status`` prints the model and embedder URLs; their ``user:password@`` must not show."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = load_settings(
        llm={"base_url": f"http://reader:hunter2pass@127.0.0.1:{port}/v1"},
        embedding={"provider": "openai", "base_url": f"http://reader:hunter2pass@127.0.0.1:{port}/v1"},
    )
    status = desk_status(_NoIndexDesk(settings, tmp_path))
    shown = "\n".join(status.lines()) + repr(status.to_json())
    assert "hunter2pass" not in shown
    assert f"NOT reachable at http://[redacted]@127.0.0.1:{port}/v1" in shown
