"""One refresh of a web source (a list of article URLs, or a feed) into its :class:`SourceCache`.

Pages are fetched conditionally and concurrently; a page that fails keeps its last good copy.
For a feed, an entry whose page cannot be fetched (and was never fetched) is indexed from the
feed's own summary, marked ``(feed summary)`` in its source, until the page can be read.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace

from config.settings import SourceSettings
from retrieval.cleaning import clean_label, clean_text
from retrieval.fetching import Fetcher, FetchError, RefusedURL, Validators
from retrieval.models import Article
from retrieval.sources import SourceProblem
from retrieval.web.extraction import ExtractionError, WebArticle, extract_article
from retrieval.web.feeds import FeedEntry, FeedError, parse_feed
from retrieval.web.records import CacheCheckpoint, PageRecord, SourceCache, now_iso
from retrieval.web.stories import SUMMARY_MARK
from retrieval.web.urls import canonical_url, doc_id_for, site_of

log = logging.getLogger(__name__)

#: A feed summary shorter than this is not worth indexing on its own.
MIN_SUMMARY_WORDS = 8


@dataclass(slots=True)
class Harvest:
    """What one refresh of a source did; ``error`` is set when the source as a whole failed."""

    fetched: int = 0
    not_modified: int = 0
    failed: int = 0
    summaries: int = 0
    problems: list[SourceProblem] = field(default_factory=list)
    error: str | None = None

    def fail(self, source: SourceSettings, url: str, reason: str) -> None:
        self.failed += 1
        self.problems.append(SourceProblem(f"{source.name}: {url}", reason))


def _web_article(
    source: SourceSettings, web: WebArticle, entry: FeedEntry | None, feed_title: str | None
) -> Article:
    return Article(
        doc_id=doc_id_for(web.url),
        title=clean_label(web.title) or web.url,
        text=web.text,
        outlet=clean_label(source.outlet or web.site_name or feed_title) or site_of(web.url),
        published=web.published or (entry.published if entry else None),
        url=web.url,
        source=source.name,
    )


def _summary_record(source: SourceSettings, entry: FeedEntry, feed_title: str | None) -> PageRecord | None:
    text = clean_text(f"{entry.title}\n\n{entry.summary}", entry.title)
    if len(entry.summary.split()) < MIN_SUMMARY_WORDS:
        return None
    url = canonical_url(entry.link)
    article = Article(
        doc_id=doc_id_for(url),
        title=clean_label(entry.title) or url,
        text=text,
        outlet=clean_label(source.outlet or feed_title) or site_of(url),
        published=entry.published,
        url=url,
        source=f"{source.name} {SUMMARY_MARK}",
    )
    stamp = now_iso()
    return PageRecord(entry.link, article, stamp, stamp, updated=entry.updated, from_summary=True)


async def refresh_page(
    fetcher: Fetcher,
    source: SourceSettings,
    url: str,
    old: PageRecord | None,
    entry: FeedEntry | None = None,
    feed_title: str | None = None,
) -> PageRecord:
    """The page's current record: ``old`` re-confirmed on a 304, else freshly extracted.

    Raises :class:`FetchError` or :class:`ExtractionError` with the reason it cannot be read.
    """
    usable = old if old is not None and not old.from_summary else None
    got = await fetcher.fetch(
        url, internal=source.internal, want="html", validators=usable.validators if usable else None
    )
    if got.not_modified and usable is not None:
        return usable.checked()
    web = extract_article(got.body, got.url, charset=got.charset)
    article = _web_article(source, web, entry, feed_title)
    updated = web.updated or (entry.updated if entry else None)
    if usable is not None and usable.article == article:
        return replace(usable.checked(), validators=got.validators, updated=updated or usable.updated)
    stamp = now_iso()
    return PageRecord(url, article, stamp, stamp, got.validators, updated)


async def _attempt(
    fetcher: Fetcher,
    source: SourceSettings,
    url: str,
    old: PageRecord | None,
    entry: FeedEntry | None = None,
    feed_title: str | None = None,
    checkpoint: CacheCheckpoint | None = None,
) -> PageRecord | FetchError | ExtractionError:
    try:
        record = await refresh_page(fetcher, source, url, old, entry, feed_title)
    except (FetchError, ExtractionError) as exc:
        return exc
    except Exception as exc:  # a bug met on one page must not cost the source its other pages
        log.exception("reading %s failed unexpectedly", url)
        return ExtractionError(f"unexpected error: {type(exc).__name__}")
    if checkpoint is not None:
        checkpoint.page(url, record)
    return record


def _reason(exc: FetchError | ExtractionError) -> str:
    return exc.reason if isinstance(exc, FetchError) else str(exc)


def _count(harvest: Harvest, new: PageRecord, old: PageRecord | None) -> None:
    if old is not None and new.fetched_at == old.fetched_at and not old.from_summary:
        harvest.not_modified += 1
    else:
        harvest.fetched += 1


async def harvest_urls(
    fetcher: Fetcher, source: SourceSettings, cache: SourceCache, checkpoint: CacheCheckpoint | None = None
) -> Harvest:
    """Refresh every configured URL; URLs no longer configured leave the cache. ``checkpoint``
    saves the pages fetched so far part way."""
    harvest = Harvest()
    outcomes = await asyncio.gather(
        *(_attempt(fetcher, source, u, cache.pages.get(u), checkpoint=checkpoint) for u in source.urls)
    )
    pages: dict[str, PageRecord] = {}
    for url, outcome in zip(source.urls, outcomes, strict=True):
        old = cache.pages.get(url)
        if isinstance(outcome, PageRecord):
            _count(harvest, outcome, old)
            pages[url] = outcome
            continue
        harvest.fail(source, url, _reason(outcome))
        if old is not None:
            pages[url] = old
    cache.pages = pages
    if source.urls and harvest.failed == len(source.urls):
        first = harvest.problems[0].reason
        many = len(source.urls) > 1
        harvest.error = (
            f"all {len(source.urls)} pages failed; first: {first}" if many else f"its page failed: {first}"
        )
    return harvest


async def harvest_feed(
    fetcher: Fetcher, source: SourceSettings, cache: SourceCache, checkpoint: CacheCheckpoint | None = None
) -> Harvest:
    """Refresh the feed and the pages of its entries; a 304 for the feed costs nothing more.
    ``checkpoint`` saves the pages fetched so far part way."""
    harvest = Harvest()
    if source.url is None:  # SourceSettings requires it; this keeps the type checker informed
        harvest.error = "the source has no feed URL"
        return harvest
    try:
        got = await fetcher.fetch(
            source.url, internal=source.internal, want="feed", validators=cache.feed if cache.pages else None
        )
        if got.not_modified:
            harvest.not_modified = 1
            return harvest
        feed_title, entries = parse_feed(got.body, got.url, source.max_entries)
    except FetchError as exc:
        harvest.error = f"feed: {exc.reason}"
        return harvest
    except FeedError as exc:
        harvest.error = str(exc)
        return harvest
    outcomes = await asyncio.gather(
        *(
            _attempt(fetcher, source, e.link, cache.pages.get(e.link), e, feed_title, checkpoint)
            for e in entries
        )
    )
    for entry, outcome in zip(entries, outcomes, strict=True):
        _keep_entry(harvest, source, cache, entry, outcome, feed_title)
    # Remember the feed's validators only when every entry was read in full: otherwise the
    # next refresh must fetch the feed again to retry the pages that failed.
    cache.feed = got.validators if not harvest.failed else Validators()
    return harvest


def _keep_entry(
    harvest: Harvest,
    source: SourceSettings,
    cache: SourceCache,
    entry: FeedEntry,
    outcome: PageRecord | FetchError | ExtractionError,
    feed_title: str | None,
) -> None:
    old = cache.pages.get(entry.link)
    if isinstance(outcome, PageRecord):
        _count(harvest, outcome, old)
        cache.pages[entry.link] = outcome
        return
    harvest.fail(source, entry.link, _reason(outcome))
    if old is not None and not old.from_summary:
        return  # the last good copy stays
    if isinstance(outcome, RefusedURL):
        return  # a link we may not fetch is never cited either
    summary = _summary_record(source, entry, feed_title)
    if summary is not None:
        harvest.summaries += 1
        cache.pages[entry.link] = summary if old is None or old.article != summary.article else old
