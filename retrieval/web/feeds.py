"""RSS and Atom feeds, parsed with feedparser from bytes we fetched (never from a URL)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urljoin, urlsplit

from retrieval.sources import plausible_date

_TAG = re.compile(r"<[^>]+>")


class FeedError(ValueError):
    """A response that is not a usable RSS or Atom feed."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed: where the article is, and what the feed itself says of it."""

    link: str
    title: str
    summary: str
    published: date | None = None
    updated: date | None = None


def _date(entry: Any, key: str) -> date | None:
    """The entry's date; None when absent or implausible (a pubDate of 1970-01-01, of 2100)."""
    parsed = entry.get(f"{key}_parsed")
    if not parsed:
        return None
    year, month, day = parsed[:3]
    try:
        return plausible_date(date(year, month, day))
    except ValueError:  # year 0 and the like
        return None


def _text(html: str) -> str:
    from html import unescape

    return " ".join(unescape(_TAG.sub(" ", html or "")).split())


def _entry(raw: Any, base: str) -> FeedEntry | None:
    link = raw.get("link") or next(
        (x.get("href") for x in raw.get("links", []) if x.get("rel", "alternate") == "alternate"), None
    )
    if not link:
        return None
    link = urljoin(base, link.strip())
    if urlsplit(link).scheme not in ("http", "https"):
        return None  # javascript:, data:, file: ... are never fetched, cited or linked
    summary = raw.get("summary") or ""
    if not summary and raw.get("content"):
        summary = raw["content"][0].get("value", "")
    published = _date(raw, "published") or _date(raw, "updated")
    return FeedEntry(
        link=link,
        title=_text(raw.get("title", "")),
        summary=_text(summary),
        published=published,
        updated=_date(raw, "updated"),
    )


def _benign() -> tuple[type[BaseException], ...]:
    import feedparser

    return (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


def parse_feed(body: bytes, base_url: str, limit: int = 50) -> tuple[str | None, list[FeedEntry]]:
    """The feed's title and its first ``limit`` entries with a link, one per link (a feed that
    lists an item twice, or two items under one GUID and link, would fetch the page twice and
    count it as new and as unchanged)."""
    import feedparser

    # A stream, never bytes or str: feedparser opens a str that looks like a URL, and bytes
    # that name a local file, so a response body of "/etc/passwd" would be read from disk.
    parsed: Any = feedparser.parse(io.BytesIO(body), sanitize_html=True, resolve_relative_uris=False)
    problem = parsed.get("bozo_exception")
    if parsed.get("bozo") and not isinstance(problem, _benign()):
        # malformed or cut short: entries read before the break may be half of the feed
        raise FeedError(f"not a valid RSS or Atom feed ({type(problem).__name__}: {problem})")
    if not parsed.get("version") and not parsed.entries:
        raise FeedError("not an RSS or Atom feed")
    entries: dict[str, FeedEntry] = {}
    for raw in parsed.entries[:limit]:
        entry = _entry(raw, base_url)
        if entry is not None:
            entries.setdefault(entry.link, entry)  # the first listing of a link stands
    title = _text(parsed.feed.get("title", "")) or None
    return title, list(entries.values())
