"""Collecting every configured source against the fake news site: what is indexed, and each
source's status, across refreshes, failures and changes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_settings
from config.settings import Settings
from retrieval.collecting import Collected, acollect, read_statuses, read_stories, state_dir, status_lines
from retrieval.models import Article
from retrieval.sources import CorpusError
from retrieval.web import canonical_url
from retrieval.web.records import SourceCache
from tests.fakes.news_fixtures import ATOM, FAST_FETCH, LIBRARY_URLS, RSS, site_settings
from tests.fakes.news_pages import GONE_PATH, SLOW_PATH
from tests.fakes.news_site import CAFE_TEXT, NewsSite
from tests.fakes.news_stories import (
    BRIDGE,
    FERRY,
    LIBRARY,
    PORT_STRIKE,
    WIRE_COURIER,
    WIRE_HARBOR,
)


def by_url(collected: Collected) -> dict[str | None, Article]:
    return {a.url: a for a in collected.articles}


def url_of(article: Article) -> str:
    assert article.url is not None, f"{article.doc_id} has no URL"
    return article.url


async def test_feeds_and_url_lists_are_collected_under_canonical_urls(
    news_site: NewsSite, news_settings: Settings, tmp_path: Path
) -> None:
    collected = await acollect(news_settings, tmp_path)
    urls = {url_of(a) for a in collected.articles}
    expected = {news_site.url(s.path) for s in (PORT_STRIKE, BRIDGE, WIRE_HARBOR, WIRE_COURIER, LIBRARY)}
    assert expected <= urls
    assert not any("utm_" in u or "fbclid" in u for u in urls)
    assert len(collected.articles) == len(urls) == 7  # 5 above + the budget + the tunnel summary
    assert {s.name: (s.ok, s.articles) for s in collected.statuses.values()} == {
        "harbor-rss": (True, 5),
        "courier-atom": (True, 2),
        "courier-pages": (True, 1),
    }


async def test_a_feed_summary_stands_in_for_a_page_that_cannot_be_fetched(
    news_site: NewsSite, news_settings: Settings, tmp_path: Path
) -> None:
    collected = await acollect(news_settings, tmp_path)
    gone = by_url(collected)[news_site.url(GONE_PATH)]
    assert gone.source == "harbor-rss (feed summary)"
    assert "3.50 dollars" in gone.text
    status = collected.statuses["harbor-rss"]
    assert (status.summaries, status.failed) == (1, 1)
    warning = status.warning or ""
    assert warning.startswith(f"first failure: {news_site.url(GONE_PATH)}") and warning.endswith(": HTTP 404")
    assert "harbor-rss" not in warning  # the status line names the source already
    assert status.line().count("failed") == 1  # once, in the counts


async def test_an_unchanged_feed_costs_one_request(news_site: NewsSite, tmp_path: Path) -> None:
    settings = site_settings(news_site, ATOM, LIBRARY_URLS)
    first = await acollect(settings, tmp_path)
    news_site.requests.clear()
    again = await acollect(settings, tmp_path)
    assert sorted((h.path, h.status) for h in news_site.requests) == [
        ("/courier/atom.xml", 304),
        (LIBRARY.path, 304),
    ]
    assert again.articles == first.articles
    unchanged = [again.statuses[n].not_modified for n in ("courier-atom", "courier-pages")]
    assert unchanged == [1, 1]


async def test_a_feed_with_a_failed_entry_is_fetched_again_to_retry_it(
    news_site: NewsSite, tmp_path: Path
) -> None:
    settings = site_settings(news_site, RSS)
    await acollect(settings, tmp_path)
    news_site.requests.clear()
    await acollect(settings, tmp_path)
    seen = {(h.path, h.status) for h in news_site.requests}
    assert {("/harbor/rss.xml", 200), (GONE_PATH, 404)} <= seen
    assert all(status == 304 for path, status in seen if path not in ("/harbor/rss.xml", GONE_PATH))


async def test_a_changed_feed_adds_new_articles_and_replaces_changed_ones(
    news_site: NewsSite, news_settings: Settings, tmp_path: Path
) -> None:
    before = await acollect(news_settings, tmp_path)
    news_site.publish(2)
    after = await acollect(news_settings, tmp_path)
    old, new = by_url(before), by_url(after)
    bridge = news_site.url(BRIDGE.path)
    assert news_site.url(FERRY.path) in new and news_site.url(FERRY.path) not in old
    assert new[bridge].doc_id == old[bridge].doc_id
    assert "Correction:" in new[bridge].text and "Correction:" not in old[bridge].text
    pages = SourceCache.load(state_dir(tmp_path), "harbor-rss").pages
    records = {canonical_url(r.article.url or ""): r for r in pages.values()}
    updated = records[bridge].updated
    assert updated is not None and updated.isoformat() == "2026-11-22"
    strike = records[news_site.url(PORT_STRIKE.path)]
    assert strike.fetched_at <= records[bridge].fetched_at and strike.checked_at >= strike.fetched_at
    # The Atom feed's new entry times out: indexed from its summary, marked as such.
    assert new[news_site.url(SLOW_PATH)].source.endswith("(feed summary)")


async def test_a_failing_source_keeps_its_articles_and_reports_the_error(
    news_site: NewsSite, news_settings: Settings, tmp_path: Path
) -> None:
    before = await acollect(news_settings, tmp_path)
    news_site.down["/harbor/rss.xml"] = 500
    after = await acollect(news_settings, tmp_path)
    assert {a.doc_id for a in after.articles} == {a.doc_id for a in before.articles}
    status = after.statuses["harbor-rss"]
    assert not status.ok and status.last_error == "feed: HTTP 500"
    assert status.last_success == before.statuses["harbor-rss"].last_success
    assert status.articles == 5
    assert after.statuses["courier-atom"].ok
    assert read_statuses(tmp_path)["harbor-rss"].last_error == "feed: HTTP 500"


async def test_broken_sources_never_stop_the_others(news_site: NewsSite, tmp_path: Path) -> None:
    settings = site_settings(
        news_site,
        RSS,
        {"name": "bad-feed", "kind": "feed", "url": "/bad-feed.xml"},
        {"name": "dead-feed", "kind": "feed", "url": "/missing"},
        {"name": "slow-feed", "kind": "feed", "url": "/courier/slow.html"},
        {"name": "nowhere", "kind": "feed", "url": "http://no-such-host.invalid/feed.xml"},
        {
            "name": "odd-pages",
            "kind": "urls",
            "urls": ["/huge.html", "/files/report.pdf", "/garbage.html", "/broken", "/to-metadata"],
        },
        {"name": "outside", "kind": "feed", "url": "/courier/atom.xml", "internal": False},
    )
    collected = await acollect(settings, tmp_path)
    errors = {name: s.last_error for name, s in collected.statuses.items()}
    assert errors["harbor-rss"] is None and collected.statuses["harbor-rss"].articles == 5
    assert errors["bad-feed"] == "not an RSS or Atom feed"
    assert errors["dead-feed"] == "feed: HTTP 404"
    assert errors["slow-feed"] == f"feed: timed out after {FAST_FETCH.timeout_s:g} s"
    assert "cannot be resolved" in (errors["nowhere"] or "")
    assert (errors["odd-pages"] or "").startswith("all 5 pages failed")
    assert "loopback" in (errors["outside"] or "")
    reasons = " | ".join(p.reason for p in collected.problems)
    for expected in ("200,000-byte cap", "application/pdf", "fewer than 25 words", "HTTP 500", "link-local"):
        assert expected in reasons
    assert not [h for h in news_site.requests if h.path == "/courier/atom.xml"]
    # each failed page is one problem; the source's "all 5 pages failed" is not counted again
    assert len([p for p in collected.problems if p.source.startswith("odd-pages")]) == 5


async def test_only_the_named_source_is_refreshed(
    news_site: NewsSite, news_settings: Settings, tmp_path: Path
) -> None:
    first = await acollect(news_settings, tmp_path)
    news_site.requests.clear()
    news_site.publish(2)
    again = await acollect(news_settings, tmp_path, only="courier-atom")
    assert {h.path for h in news_site.requests} >= {"/courier/atom.xml"}
    assert not [h for h in news_site.requests if h.path.startswith("/harbor/")]
    assert news_site.url(FERRY.path) not in by_url(again)  # harbor-rss was not refreshed
    assert len(again.articles) == len(first.articles) + 1  # + the slow entry's summary
    assert again.statuses["harbor-rss"] == first.statuses["harbor-rss"]


async def test_an_unknown_or_disabled_source_name_is_refused(news_site: NewsSite, tmp_path: Path) -> None:
    settings = site_settings(news_site, RSS, {**ATOM, "enabled": False})
    with pytest.raises(CorpusError, match=r"no source named 'nope' \(configured: harbor-rss, courier-atom\)"):
        await acollect(settings, tmp_path, only="nope")
    with pytest.raises(CorpusError, match="disabled"):
        await acollect(settings, tmp_path, only="courier-atom")


async def test_a_disabled_source_contributes_nothing(news_site: NewsSite, tmp_path: Path) -> None:
    await acollect(site_settings(news_site, RSS, ATOM), tmp_path)
    collected = await acollect(site_settings(news_site, RSS, {**ATOM, "enabled": False}), tmp_path)
    assert {a.source for a in collected.articles} == {"harbor-rss", "harbor-rss (feed summary)"}


async def test_folder_sources_are_read_with_prefixed_ids(
    news_site: NewsSite, corpus_copy: Path, tmp_path: Path
) -> None:
    settings = site_settings(news_site, {"name": "seeds", "kind": "folder", "path": str(corpus_copy)}, ATOM)
    collected = await acollect(settings, tmp_path / "data")
    seeds = [a for a in collected.articles if a.doc_id.startswith("seeds/")]
    assert len(seeds) == 5 and collected.statuses["seeds"].ok
    await asyncio.to_thread(corpus_copy.rename, tmp_path / "moved")
    again = await acollect(settings, tmp_path / "data")
    assert len([a for a in again.articles if a.doc_id.startswith("seeds/")]) == 5
    assert "does not exist" in (again.statuses["seeds"].last_error or "")


async def test_a_folder_found_empty_fails_and_keeps_its_articles(
    news_site: NewsSite, corpus_copy: Path, tmp_path: Path
) -> None:
    """An unmounted share is an empty folder: the refresh must not unindex the source."""
    settings = site_settings(news_site, {"name": "seeds", "kind": "folder", "path": str(corpus_copy)}, ATOM)
    await acollect(settings, tmp_path / "data")
    await asyncio.to_thread(corpus_copy.rename, tmp_path / "away")
    await asyncio.to_thread(corpus_copy.mkdir)  # the mount point, nothing mounted on it
    again = await acollect(settings, tmp_path / "data")
    assert len([a for a in again.articles if a.doc_id.startswith("seeds/")]) == 5
    status = again.statuses["seeds"]
    assert not status.ok and "no article could be read from the folder" in (status.last_error or "")
    assert again.statuses["courier-atom"].ok  # the other sources are refreshed as ever


async def test_wire_copies_on_two_outlets_are_grouped_into_one_story(
    news_site: NewsSite, news_settings: Settings, tmp_path: Path
) -> None:
    collected = await acollect(news_settings, tmp_path)
    ids = {a.url: a.doc_id for a in collected.articles}
    harbor, courier = ids[news_site.url(WIRE_HARBOR.path)], ids[news_site.url(WIRE_COURIER.path)]
    assert collected.stories.groups() == {courier: sorted([harbor, courier])}
    assert read_stories(tmp_path).representative(harbor) == courier


async def test_status_lines_describe_every_configured_source(
    news_site: NewsSite, news_settings: Settings, tmp_path: Path
) -> None:
    await acollect(news_settings, tmp_path)
    lines = status_lines(tmp_path, news_settings)
    assert lines[0].startswith("harbor-rss (feed): ok, 5 articles; last refresh 4 new or changed")
    assert "1 from the feed summary" in lines[0]
    stored = json.loads((state_dir(tmp_path) / "status.json").read_text())
    assert set(stored["sources"]) == {"harbor-rss", "courier-atom", "courier-pages"}


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "sources:\n- {name: a, kind: feed, url: 'http://x.example/f'}\n- {name: A, kind: urls, urls: ['http://x.example/1']}\n",
            "two sources are named 'A'",
        ),
        ("sources:\n- {name: a, kind: feed}\n", "source 'a' of kind feed needs 'url'"),
        (
            "sources:\n- {name: a, kind: urls, urls: ['ftp://x.example/f']}\n",
            "'ftp://x.example/f' is not an http",
        ),
        (
            "sources:\n- {name: a, kind: feed, url: 'http://x.example/f', every: 5}\n",
            "unknown key 'sources.0.every'",
        ),
        ("sources:\n- {name: 'a b', kind: folder, path: /tmp}\n", "'sources.0.name'"),
    ],
)
def test_bad_source_config_is_explained(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError, match=re_escape(message)):
        load_settings(path)


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


async def test_a_truncated_feed_is_a_failed_source_that_keeps_its_articles(
    news_site: NewsSite, news_settings: Settings, tmp_path: Path
) -> None:
    before = await acollect(news_settings, tmp_path)
    news_site.cut_feeds_at = 1200  # the document ends inside its second or third item
    after = await acollect(news_settings, tmp_path)
    status = after.statuses["harbor-rss"]
    assert not status.ok and "not a valid RSS or Atom feed" in (status.last_error or "")
    harbor = {a.doc_id for a in before.articles if "harbor" in a.doc_id}
    assert harbor <= {a.doc_id for a in after.articles}


async def test_a_page_is_read_in_the_charset_its_content_type_declares(
    news_site: NewsSite, tmp_path: Path
) -> None:
    settings = site_settings(news_site, {"name": "cafe", "kind": "urls", "urls": ["/cafe.html"]})
    collected = await acollect(settings, tmp_path)
    (article,) = collected.articles
    assert article.title == "Le café du port rouvre"
    assert CAFE_TEXT in article.text  # 'après', not 'aprčs'


async def test_one_unreadable_page_costs_its_source_nothing_else(news_site: NewsSite, tmp_path: Path) -> None:
    """A body that fails to decode (httpx.DecodingError) failed the whole source, good pages too."""
    pages = {**LIBRARY_URLS, "urls": [*LIBRARY_URLS["urls"], "/bad-gzip"]}
    collected = await acollect(site_settings(news_site, pages), tmp_path)
    status = collected.statuses["courier-pages"]
    assert status.ok and (status.articles, status.failed) == (1, 1)
    assert "cannot be read (DecodingError)" in (status.warning or "")


def test_a_source_line_says_1_article_not_1_articles() -> None:
    from retrieval.collecting import SourceStatus

    line = SourceStatus("agency", "urls", "2026-11-30T18:29:04+00:00", articles=1, fetched=1).line()
    assert line.startswith("agency (urls): ok, 1 article; last refresh 1 new or changed")
    assert ", 2 articles;" in SourceStatus("agency", "urls", articles=2).line()


async def test_a_urls_source_of_one_page_that_fails_says_its_page_failed(
    news_site: NewsSite, tmp_path: Path
) -> None:
    settings = site_settings(news_site, {"name": "one-page", "kind": "urls", "urls": ["/broken"]})
    collected = await acollect(settings, tmp_path)
    error = collected.statuses["one-page"].last_error or ""
    assert error.startswith("its page failed: ") and "all 1 pages" not in error


@pytest.mark.parametrize("damage", ["{ not json", "", "\x00\x00\x00"])
async def test_a_damaged_cache_of_a_failing_source_keeps_its_articles(
    news_site: NewsSite, news_settings: Settings, tmp_path: Path, damage: str
) -> None:
    before = await acollect(news_settings, tmp_path)
    cache = SourceCache.path(state_dir(tmp_path), "harbor-rss")
    cache.write_text(damage, encoding="utf-8")  # a bad sector, an editor, a half-restored backup
    news_site.down["/harbor/rss.xml"] = 500
    after = await acollect(news_settings, tmp_path)
    assert {a.doc_id for a in after.articles} == {a.doc_id for a in before.articles}
    assert after.statuses["harbor-rss"].articles == 5 and not after.statuses["harbor-rss"].ok
    damaged = [p for p in after.problems if "cannot be read" in p.reason]
    assert len(damaged) == 1 and damaged[0].source == "harbor-rss"
    assert "cache-harbor-rss.json" in damaged[0].reason and str(tmp_path) not in damaged[0].reason


async def test_an_unreadable_cache_of_a_failing_folder_source_keeps_its_articles(
    news_site: NewsSite, tmp_path: Path
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "tunnel.md").write_text("# Tunnel tolls rise\n\n" + "The tunnel toll rises in May. " * 20)
    settings = site_settings(news_site, {"name": "notes", "kind": "folder", "path": str(folder)})
    data = tmp_path / "data"
    before = await acollect(settings, data)
    SourceCache.path(state_dir(data), "notes").write_bytes(b"\xff\xfe garbage")
    (folder / "tunnel.md").unlink()  # the share is unmounted: the source fails
    after = await acollect(settings, data)
    assert [a.doc_id for a in after.articles] == [a.doc_id for a in before.articles] != []
    assert not after.statuses["notes"].ok and after.statuses["notes"].articles == 1


async def test_a_damaged_cache_and_copy_say_so_once_and_a_working_source_heals_them(
    news_site: NewsSite, news_settings: Settings, tmp_path: Path
) -> None:
    await acollect(news_settings, tmp_path)
    root = state_dir(tmp_path)
    for path in (SourceCache.path(root, "harbor-rss"), SourceCache.copy_path(root, "harbor-rss")):
        path.write_text("[]", encoding="utf-8")  # valid JSON, not a cache
    again = await acollect(news_settings, tmp_path)
    [line] = [p.reason for p in again.problems if p.source == "harbor-rss"]
    assert line.startswith("its cache cache-harbor-rss.json cannot be read (unexpected content")
    assert line.endswith("nor its copy; its pages are fetched again")
    assert again.statuses["harbor-rss"].ok and again.statuses["harbor-rss"].articles == 5
    assert len(SourceCache.load(root, "harbor-rss").pages) == 5  # written again, both copies
    assert (
        SourceCache.path(root, "harbor-rss").read_text()
        == SourceCache.copy_path(root, "harbor-rss").read_text()
    )


_KILLED_REFRESH = """
import sys
from pathlib import Path

import retrieval.web.records as records
from config.settings import Settings
from retrieval.collecting import collect

records.CHECKPOINT_PAGES = int(sys.argv[3])
collect(Settings.model_validate_json(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
"""


async def killed_refresh(news_site: NewsSite, settings: Settings, data: Path, every: int) -> set[str]:
    """Start a refresh in another process and kill -9 it once it has fetched two article pages
    (served one at a time, 0.4 s each); the paths it fetched whole."""
    config = data.parent / "settings.json"
    config.write_text(settings.model_dump_json())
    news_site.delay_s = 0.4
    run = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _KILLED_REFRESH,
        str(config),
        str(data),
        str(every),
        cwd=Path(__file__).parents[2],
    )
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while len([h for h in news_site.requests if h.status == 200 and h.path.endswith(".html")]) < 2:
            assert run.returncode is None and asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # past the save that follows the second page
        os.kill(run.pid, signal.SIGKILL)
    finally:
        await run.wait()
    news_site.delay_s = 0.0
    return {h.path for h in news_site.requests if h.status == 200 and h.path.endswith(".html")}


async def test_pages_fetched_by_a_killed_refresh_are_not_fetched_again(
    news_site: NewsSite, tmp_path: Path
) -> None:
    settings = site_settings(news_site, RSS)
    settings = settings.model_copy(update={"fetch": settings.fetch.model_copy(update={"per_host": 1})})
    fetched = await killed_refresh(news_site, settings, tmp_path / "data", every=1)
    assert 2 <= len(fetched) < 5  # killed part way
    news_site.requests.clear()
    again = await acollect(settings, tmp_path / "data")
    assert again.statuses["harbor-rss"].ok and again.statuses["harbor-rss"].articles == 5
    asked = {h.path: h.status for h in news_site.requests if h.path.endswith(".html")}
    assert {path: asked[path] for path in fetched} == dict.fromkeys(fetched, 304)  # were all 200
    assert 200 in asked.values()  # the pages the killed run had not reached
