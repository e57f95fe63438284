"""The last good copy of every page of a source, kept in the data dir between refreshes.

A refresh that cannot fetch a page (or a whole source) uses these copies, so a failure never
removes what is indexed; the validators make the next request for an unchanged page a 304.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from retrieval.catalog import write_atomically
from retrieval.fetching import Validators
from retrieval.models import Article

log = logging.getLogger(__name__)

CACHE_VERSION = 1
#: A refresh saves the pages it fetched so far every this many new pages or seconds (whichever
#: comes first), so a killed run (kill -9, a power cut, an OOM kill) does not fetch them again.
CHECKPOINT_PAGES = 20
CHECKPOINT_S = 30.0
#: what reading a damaged cache raises (AttributeError: valid JSON that is not an object)
_UNREADABLE = (OSError, ValueError, KeyError, TypeError, AttributeError)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def article_to_json(article: Article) -> dict[str, Any]:
    data = asdict(article)
    data["published"] = article.published.isoformat() if article.published else None
    return data


def article_from_json(data: dict[str, Any]) -> Article:
    published = data.get("published")
    return Article(**{**data, "published": date.fromisoformat(published) if published else None})


@dataclass(frozen=True, slots=True)
class PageRecord:
    """One page's article as last fetched.

    ``fetched_at`` is when this version of the text was first fetched (a 304 or an identical
    copy does not move it), ``checked_at`` the last time the page was asked for, and
    ``updated`` the article's own last-modified date when it states one.
    """

    url: str
    article: Article
    fetched_at: str
    checked_at: str
    validators: Validators = field(default_factory=Validators)
    updated: date | None = None
    from_summary: bool = False

    def checked(self) -> PageRecord:
        return replace(self, checked_at=now_iso())

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "article": article_to_json(self.article),
            "fetched_at": self.fetched_at,
            "checked_at": self.checked_at,
            "etag": self.validators.etag,
            "last_modified": self.validators.last_modified,
            "updated": self.updated.isoformat() if self.updated else None,
            "from_summary": self.from_summary,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PageRecord:
        updated = data.get("updated")
        return cls(
            url=data["url"],
            article=article_from_json(data["article"]),
            fetched_at=data["fetched_at"],
            checked_at=data.get("checked_at", data["fetched_at"]),
            validators=Validators(data.get("etag"), data.get("last_modified")),
            updated=date.fromisoformat(updated) if updated else None,
            from_summary=bool(data.get("from_summary")),
        )


@dataclass(slots=True)
class SourceCache:
    """Everything kept for one source: its pages by requested URL, and the feed's validators."""

    pages: dict[str, PageRecord] = field(default_factory=dict)
    feed: Validators = field(default_factory=Validators)
    folder: list[Article] = field(default_factory=list)

    @property
    def articles(self) -> list[Article]:
        return self.folder + [r.article for r in self.pages.values()]

    @staticmethod
    def path(root: Path, name: str) -> Path:
        return root / f"cache-{name}.json"

    @staticmethod
    def copy_path(root: Path, name: str) -> Path:
        """The second copy of the cache: what a damaged cache is read from."""
        return root / f"cache-{name}.json.copy"

    @classmethod
    def load(cls, root: Path, name: str) -> SourceCache:
        """The cache of source ``name`` (see :meth:`read`); why it cannot be read is logged."""
        cache, damage = cls.read(root, name)
        if damage:
            log.warning("source %s: %s", name, damage)
        return cache

    @classmethod
    def read(cls, root: Path, name: str) -> tuple[SourceCache, str | None]:
        """The cache of source ``name``, empty when there is none, and a line saying so when it
        cannot be read (a bad sector, an editor, a half-restored backup): it is then read from
        its second copy, so a source that also fails this refresh keeps the articles it had."""
        path = cls.path(root, name)
        try:
            return cls._parse(path), None
        except FileNotFoundError:
            return cls(), None
        except _UNREADABLE as exc:
            reason = _reason(exc)
        try:
            cache = cls._parse(cls.copy_path(root, name))
        except _UNREADABLE:
            return (
                cls(),
                f"its cache {path.name} cannot be read ({reason}) nor its copy; its pages are fetched again",
            )
        return cache, f"its cache {path.name} cannot be read ({reason}); its copy was read instead"

    @classmethod
    def _parse(cls, path: Path) -> SourceCache:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != CACHE_VERSION:
            return cls()
        return cls(
            pages={p["url"]: PageRecord.from_json(p) for p in data.get("pages", [])},
            feed=Validators(data.get("feed_etag"), data.get("feed_last_modified")),
            folder=[article_from_json(a) for a in data.get("folder", [])],
        )

    def save(self, root: Path, name: str) -> None:
        """Write the cache and its second copy, each whole or not at all."""
        root.mkdir(parents=True, exist_ok=True)
        data = {
            "version": CACHE_VERSION,
            "feed_etag": self.feed.etag,
            "feed_last_modified": self.feed.last_modified,
            "pages": [r.to_json() for r in self.pages.values()],
            "folder": [article_to_json(a) for a in self.folder],
        }
        text = json.dumps(data, ensure_ascii=False, indent=1)
        write_atomically(self.path(root, name), text)
        write_atomically(self.copy_path(root, name), text)


def _reason(exc: Exception) -> str:
    """Why a cache cannot be read, without its path (shown to Discord admins too)."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, ValueError):
        return f"not valid JSON: {exc}" if isinstance(exc, json.JSONDecodeError) else str(exc)
    return f"unexpected content ({type(exc).__name__}: {exc})"


class CacheCheckpoint:
    """Saves a source's cache with the pages fetched so far, part way through its refresh.

    A cache was written once per source, at its end: a run killed after fetching 900 pages of
    1,000 fetched the 900 again. The pages not yet refreshed keep their last good copy; the
    feed's validators are left out, so after a killed run the feed itself is read again."""

    def __init__(
        self,
        cache: SourceCache,
        save: Callable[[SourceCache], None],
        pages: int | None = None,
        seconds: float | None = None,
    ) -> None:
        self._base = dict(cache.pages)
        self._folder = list(cache.folder)
        self._done: dict[str, PageRecord] = {}
        self._save = save
        self._every_pages = pages or CHECKPOINT_PAGES
        self._every_s = seconds or CHECKPOINT_S
        self._pending = 0
        self._last = time.monotonic()
        self.saves = 0

    def page(self, url: str, record: PageRecord) -> None:
        """``record`` was just refreshed; the cache is saved when enough is new."""
        old = self._base.get(url)
        if old is not None and old.fetched_at == record.fetched_at and not old.from_summary:
            return  # a 304 or an identical copy: nothing a rerun would fetch
        self._done[url] = record
        self._pending += 1
        if self._pending >= self._every_pages or time.monotonic() - self._last >= self._every_s:
            self.save()

    def save(self) -> None:
        self._pending, self._last = 0, time.monotonic()
        try:
            self._save(SourceCache({**self._base, **self._done}, Validators(), self._folder))
        except OSError as exc:  # a full disk: the refresh goes on; its final save says so
            log.warning("the pages fetched so far could not be saved: %s", exc)
            return
        self.saves += 1
