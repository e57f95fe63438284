"""Canonical URLs, extraction from the served pages, feeds, and grouping into stories."""

from __future__ import annotations

import re
from datetime import date

import pytest

from config.settings import FetchSettings
from corpus import SAMPLE_CORPUS
from retrieval.fetching import Fetcher
from retrieval.models import Article
from retrieval.sources import read_folder
from retrieval.web import (
    ExtractionError,
    FeedError,
    WebArticle,
    canonical_url,
    doc_id_for,
    extract_article,
    parse_feed,
)
from retrieval.web.stories import SUMMARY_MARK, group_stories, jaccard, signature, similarity
from retrieval.web.urls import pick_canonical
from tests.fakes.news_pages import GONE_PATH, GONE_SUMMARY
from tests.fakes.news_site import NewsSite
from tests.fakes.news_stories import (
    ALL_STORIES,
    BRIDGE_CORRECTED,
    BUDGET,
    EDITION_1,
    PORT_STRIKE,
    WIRE_COURIER,
    WIRE_HARBOR,
    Story,
)

_WORD = re.compile(r"\w+")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://News.Example.COM/a/b.html?utm_source=rss&utm_medium=feed",
            "https://news.example.com/a/b.html",
        ),
        ("http://news.example:80/a?fbclid=IwAR0&id=7#comments", "http://news.example/a?id=7"),
        ("https://news.example:443/a?gclid=1&b=2&a=1&mc_cid=9", "https://news.example/a?a=1&b=2"),
        ("https://news.example:8443/a?page=2&ocid=x", "https://news.example:8443/a?page=2"),
        ("https://news.example", "https://news.example/"),
        # credentials a source's URL may need are not cited to readers
        ("https://bob:S3cret@news.example/a?id=7&token=T0k&API_KEY=K3y", "https://news.example/a?id=7"),
    ],
)
def test_canonical_url_strips_tracking_and_normalises(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_a_page_cannot_claim_another_sites_canonical_url() -> None:
    fetched = "https://blog.example/copied-story"
    assert pick_canonical(fetched, "https://news.example/original?utm_source=x") == fetched
    assert pick_canonical("https://www.news.example/a?x=1", "https://news.example/a?utm_source=y") == (
        "https://news.example/a"
    )


def test_doc_ids_are_stable_readable_and_distinct() -> None:
    a = doc_id_for("https://news.example/2026/11/story.html")
    assert a == doc_id_for("https://news.example/2026/11/story.html")
    assert a.startswith("web/news.example/2026/11/story.html~")
    assert a != doc_id_for("https://news.example/2026/11/story.html?page=2")


def _words(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def body_scores(extracted: str, story: Story) -> tuple[float, float]:
    """(recall, precision) of the story's paragraphs among the extracted lines (headline aside)."""
    truth = {_words(p) for p in story.paragraphs}
    got = [_words(line) for line in extracted.split("\n\n")[1:] if line.strip()]
    recall = sum(1 for p in truth if p in got) / len(truth)
    precision = sum(1 for line in got if line in truth) / max(len(got), 1)
    return recall, precision


async def _extract(site: NewsSite, cfg: FetchSettings, story: Story) -> tuple[str, WebArticle]:
    async with Fetcher(cfg) as fetcher:
        got = await fetcher.fetch(site.url(story.path), internal=True)
    return got.url, extract_article(got.body, got.url)


def _story_id(story: Story) -> str:
    return f"{story.path.rsplit('/', 1)[1]}-{len(story.paragraphs)}"


@pytest.mark.parametrize("story", ALL_STORIES, ids=_story_id)
async def test_extraction_recovers_headline_date_and_body_without_furniture(
    news_site: NewsSite, fast_fetch: FetchSettings, story: Story
) -> None:
    news_site.publish(2 if story is BRIDGE_CORRECTED or story.path.endswith("ferry-contract.html") else 1)
    _, web = await _extract(news_site, fast_fetch, story)
    assert web.title == story.headline
    assert web.published == story.published
    assert web.site_name == story.outlet
    assert web.url == news_site.url(story.path)  # canonical link, tracking parameters gone
    assert web.text.split("\n\n")[0] == story.headline
    assert body_scores(web.text, story) == (1.0, 1.0)


async def test_the_articles_own_updated_date_is_kept(news_site: NewsSite, fast_fetch: FetchSettings) -> None:
    news_site.publish(2)
    _, web = await _extract(news_site, fast_fetch, BRIDGE_CORRECTED)
    assert web.updated == date(2026, 11, 22)
    _, unchanged = await _extract(news_site, fast_fetch, PORT_STRIKE)
    assert unchanged.updated is None


def test_garbage_html_is_not_an_article() -> None:
    with pytest.raises(ExtractionError):
        extract_article(b"<html><<div>>\x00\xff<<<p %%% </scr" + bytes(range(256)), "https://x.example/")


_CAFE = (
    "<html><head>{meta}<title>Le café du port rouvre</title></head><body><article>"
    "<h1>Le café du port rouvre</h1><p>Le café du port a rouvert lundi après trois semaines de "
    "travaux, a dit le maire de la ville. Les pêcheurs ont salué la nouvelle et le marché du "
    "matin reprendra dès mercredi prochain, a-t-il ajouté.</p></article></body></html>"
)


@pytest.mark.parametrize(
    ("encoding", "header", "meta"),
    [
        ("latin-1", "iso-8859-1", ""),  # said by the Content-Type only
        ("latin-1", None, '<meta charset="iso-8859-1">'),  # by the page only
        ("cp1252", None, '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'),
        ("latin-1", "no-such-charset", '<meta charset="latin1">'),  # a label Python lacks: the next
        ("utf-8", "iso-8859-1", ""),  # a wrong label on UTF-8 bytes: UTF-8 wins
    ],
)
def test_a_page_is_decoded_as_declared_not_guessed(encoding: str, header: str | None, meta: str) -> None:
    html = _CAFE.format(meta=meta).encode(encoding)
    web = extract_article(html, "https://x.example/cafe", charset=header)
    assert web.title == "Le café du port rouvre" and "lundi après trois" in web.text


@pytest.mark.parametrize("label", ["undefined", "utf\x00", "rot13", "x" * 300])
def test_a_charset_label_python_cannot_use_falls_back_to_the_guess(label: str) -> None:
    """'undefined' raised UnicodeError (no UnicodeDecodeError), failing the whole source."""
    html = _CAFE.format(meta=f'<meta charset="{label[:40]}">').encode("latin-1")
    web = extract_article(html, "https://x.example/cafe", charset=label)
    assert web.title.startswith("Le caf")


def test_credentials_in_a_pages_url_never_become_its_outlet_or_url() -> None:
    html = _CAFE.format(meta="").encode()  # names no site: trafilatura falls back to the URL
    web = extract_article(html, "https://bob:S3cretPW@news.example:8443/cafe?token=T0ken")
    shown = f"{web.site_name} {web.url}"
    assert "S3cret" not in shown and "bob" not in shown and "T0ken" not in shown


_BODY = " ".join(["The harbour tunnel reopened on Monday after repairs that lasted three weeks."] * 8)


@pytest.mark.parametrize(
    ("published", "today", "kept"),
    [
        ("2026-11-29T10:00:00Z", date(2026, 11, 30), date(2026, 11, 29)),
        ("2026-12-01T01:00:00+09:00", date(2026, 11, 30), date(2026, 12, 1)),  # a zone ahead of UTC
        ("2026-11-29T10:00:00Z", date(2020, 1, 1), None),  # years after today: a wrong date
    ],
)
def test_a_pages_date_is_kept_only_when_it_can_be_true(
    published: str, today: date, kept: date | None
) -> None:
    html = (
        "<html><head><title>Tunnel reopens</title>"
        f'<meta property="article:published_time" content="{published}">'
        f"</head><body><article><h1>Tunnel reopens</h1><p>{_BODY}</p></article></body></html>"
    )
    article = extract_article(html.encode(), "https://x.example/tunnel", today=today)
    assert article.published == kept


@pytest.mark.parametrize(
    ("pub_date", "kept"),
    [
        ("Mon, 30 Nov 2020 10:00:00 +0000", date(2020, 11, 30)),
        ("Thu, 01 Jan 1970 00:00:00 +0000", None),  # a CMS's zero
        ("Fri, 01 Jan 2100 00:00:00 +0000", None),
        ("0001-01-01T00:00:00Z", None),
    ],
)
def test_a_feed_entrys_implausible_date_is_dropped(pub_date: str, kept: date | None) -> None:
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>A</title>'
        f"<link>https://x.example/a</link><pubDate>{pub_date}</pubDate><description>x</description>"
        "</item></channel></rss>"
    )
    _, entries = parse_feed(rss.encode(), "https://x.example/feed")
    assert entries[0].published == kept


async def test_rss_entries_carry_links_dates_and_summaries(
    news_site: NewsSite, fast_fetch: FetchSettings
) -> None:
    async with Fetcher(fast_fetch) as fetcher:
        got = await fetcher.fetch(news_site.url("/harbor/rss.xml"), internal=True, want="feed")
    title, entries = parse_feed(got.body, got.url)
    assert title == "Harbor Times: latest news"
    assert [canonical_url(e.link) for e in entries][-1] == news_site.url(GONE_PATH)
    assert entries[0].published == PORT_STRIKE.published
    assert entries[-1].summary == GONE_SUMMARY


async def test_atom_entries_are_read(news_site: NewsSite, fast_fetch: FetchSettings) -> None:
    news_site.publish(2)
    async with Fetcher(fast_fetch) as fetcher:
        got = await fetcher.fetch(news_site.url("/courier/atom.xml"), internal=True, want="feed")
    title, entries = parse_feed(got.body, got.url, limit=2)
    assert title == "Valley Courier"
    assert [e.link for e in entries] == [news_site.url("/go/rhine"), news_site.url(EDITION_1[5].path)]


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body><h1>Service unavailable</h1></body></html>",
        b"",
        b"/etc/passwd",  # feedparser would open a local file named by a bytes argument
        b"<rss><channel><title>cut off",
    ],
)
def test_what_is_not_a_feed_raises(body: bytes) -> None:
    with pytest.raises(FeedError):
        parse_feed(body, "https://news.example/feed.xml")


def _article(story: Story, doc_id: str, source: str = "web") -> Article:
    text = "\n\n".join((story.headline, *story.paragraphs))
    return Article(doc_id, story.headline, text, story.outlet, story.published, None, source)


#: Measured on the served pages and the bundled sample coverage (see docs/sources.md).
THRESHOLD = FetchSettings().story_threshold


def test_the_same_wire_story_on_two_outlets_is_one_story() -> None:
    harbor, courier = _article(WIRE_HARBOR, "h"), _article(WIRE_COURIER, "c")
    assert jaccard(harbor.text, courier.text) > THRESHOLD + 0.15
    stories = group_stories([harbor, courier, _article(BUDGET, "b"), _article(PORT_STRIKE, "p")], THRESHOLD)
    # Same day: the longer copy (the Courier's adds a paragraph) represents the story.
    assert stories.story_of == {"h": "c", "c": "c", "b": "b", "p": "p"}
    assert stories.groups() == {"c": ["c", "h"]}


def test_a_full_article_represents_its_story_before_a_feed_summary() -> None:
    summary = _article(WIRE_HARBOR, "a-summary", f"rss {SUMMARY_MARK}")
    full = _article(WIRE_COURIER, "z-full")
    assert group_stories([summary, full], THRESHOLD).representative("a-summary") == "z-full"


def test_different_stories_on_one_topic_stay_apart() -> None:
    articles, _ = read_folder(SAMPLE_CORPUS)
    signatures = [signature(a.text) for a in articles]
    highest = max(similarity(a, b) for i, a in enumerate(signatures) for b in signatures[i + 1 :])
    assert highest < THRESHOLD / 3
    assert len(set(group_stories(articles, THRESHOLD).story_of.values())) == len(articles)


def test_a_feed_cut_off_after_some_entries_is_not_a_feed() -> None:
    whole = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>A</title><link>https://news.example/a</link></item>"
        b"<item><title>B</title><link>https://news.example/b</link></item></channel></rss>"
    )
    assert len(parse_feed(whole, "https://news.example/feed.xml")[1]) == 2
    with pytest.raises(FeedError, match="not a valid RSS or Atom feed"):
        parse_feed(whole[: whole.index(b"<item><title>B")] + b"<item><tit", "https://news.example/feed.xml")


def test_a_link_listed_twice_is_one_entry_and_relative_links_are_resolved() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>A</title><link>/news/a.html</link><guid>1</guid></item>"
        b"<item><title>A again</title><link>https://news.example/news/a.html</link><guid>1</guid></item>"
        b"<item><title>B</title><link>b.html</link><guid>1</guid></item></channel></rss>"
    )
    _, entries = parse_feed(body, "https://news.example/news/feed.xml")
    assert [(e.link, e.title) for e in entries] == [
        ("https://news.example/news/a.html", "A"),
        ("https://news.example/news/b.html", "B"),
    ]
    assert all(e.published is None for e in entries)  # no dates: undated, not today


@pytest.mark.parametrize("link", ["javascript:alert(1)", "data:text/html,<b>x</b>", "file:///etc/passwd"])
def test_entries_whose_link_is_not_http_are_dropped(link: str) -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        f"<item><title>Bad</title><link>{link}</link><description>{'word ' * 40}</description></item>"
        "<item><title>Good</title><link>https://news.example/good</link></item></channel></rss>"
    ).encode()
    _, entries = parse_feed(body, "https://news.example/feed.xml")
    assert [e.link for e in entries] == ["https://news.example/good"]


@pytest.mark.parametrize("refused", [True, False])
def test_an_entry_whose_link_is_refused_is_never_cited_from_its_summary(refused: bool) -> None:
    """A page that could not be fetched stands in as its feed summary, unless the link itself
    was refused (an address the source may not reach): then it is not kept at all."""
    from config.settings import SourceSettings
    from retrieval.fetching import FetchError, RefusedURL
    from retrieval.web.feeds import FeedEntry
    from retrieval.web.harvest import Harvest, _keep_entry
    from retrieval.web.records import SourceCache

    link = "http://169.254.169.254/latest/story"
    source = SourceSettings(name="wire", kind="feed", url="https://news.example/feed.xml")
    entry = FeedEntry(link, "Harbour reopens", "The harbour reopened to ferries on Monday morning. " * 6)
    error = RefusedURL(link, "a link-local address") if refused else FetchError(link, "HTTP 500")
    cache, harvest = SourceCache(), Harvest()
    _keep_entry(harvest, source, cache, entry, error, "Wire")
    assert harvest.failed == 1
    assert (link in cache.pages) is (not refused)


def test_a_feed_summary_stands_in_without_control_characters() -> None:
    from config.settings import SourceSettings
    from retrieval.web.feeds import FeedEntry
    from retrieval.web.harvest import _summary_record

    source = SourceSettings(name="wire", kind="feed", url="https://news.example/feed.xml")
    entry = FeedEntry(
        "https://news.example/harbour",
        "Harbour\x1b[2J reopens",
        "The harbour \x07reopened to ferries on Monday morning. " * 6,
    )
    record = _summary_record(source, entry, "Wire\x9b Daily")
    assert record is not None
    article = record.article
    assert (article.title, article.outlet) == ("Harbour[2J reopens", "Wire Daily")
    assert "\x07" not in article.text and "\x1b" not in article.text


def test_a_checkpoint_saves_new_pages_every_n_never_for_a_304_and_survives_a_full_disk() -> None:
    from retrieval.web.records import CacheCheckpoint, PageRecord, SourceCache

    def record(url: str, stamp: str) -> PageRecord:
        return PageRecord(url, Article(url, "t", "text"), stamp, stamp)

    old = record("u0", "2026-11-01T00:00:00+00:00")
    saved: list[SourceCache] = []
    checkpoint = CacheCheckpoint(SourceCache({"u0": old}), saved.append, pages=2, seconds=3600)
    checkpoint.page("u0", old.checked())  # a 304: nothing new to save
    checkpoint.page("u1", record("u1", "2026-11-30T00:00:00+00:00"))
    assert saved == []
    checkpoint.page("u2", record("u2", "2026-11-30T00:00:00+00:00"))
    [partial] = saved
    assert set(partial.pages) == {"u0", "u1", "u2"} and partial.feed.etag is None

    def full(_: SourceCache) -> None:
        raise OSError(28, "No space left on device")

    failing = CacheCheckpoint(SourceCache(), full, pages=1, seconds=3600)
    failing.page("u1", record("u1", "2026-11-30T00:00:00+00:00"))  # logged, the refresh goes on
    assert failing.saves == 0 and checkpoint.saves == 1
