"""Every configured source (folders, URL lists, feeds) gathered into one list of articles.

The index is rebuilt from the whole list, so a source that fails this time contributes the
articles of its last good refresh (kept per source under ``<data_dir>/sources/``): a failure
is reported in the source's status and never removes what is indexed, nor stops the others.

    collected = collect(settings, data_dir)            # all enabled sources
    collected = collect(settings, data_dir, only="afp")  # refresh one, the rest from cache
    statuses = read_statuses(data_dir)                 # for /sources and /status
    stories = read_stories(data_dir)                   # doc_id -> story representative
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from config.counts import counted
from config.settings import Settings, SourceSettings
from retrieval.catalog import write_atomically
from retrieval.fetching import Fetcher
from retrieval.ingest import ReindexBusy
from retrieval.models import Article
from retrieval.sources import CorpusError, SourceProblem, read_folder
from retrieval.web.harvest import Harvest, harvest_feed, harvest_urls
from retrieval.web.records import CacheCheckpoint, SourceCache, now_iso
from retrieval.web.stories import SUMMARY_MARK, Stories, group_stories

log = logging.getLogger(__name__)

STATE_DIR = "sources"
STATUS_FILE = "status.json"
STORIES_FILE = "stories.json"


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """How a source's last refresh went. Times are ISO 8601 UTC.

    ``last_error`` is set when the source as a whole failed (its cached articles were used);
    ``warning`` when some of its pages failed (their last good copies were used).
    """

    name: str
    kind: str
    last_attempt: str | None = None
    last_success: str | None = None
    last_error: str | None = None
    warning: str | None = None
    articles: int = 0
    fetched: int = 0
    not_modified: int = 0
    failed: int = 0
    summaries: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.last_error is None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SourceStatus:
        """A status as :meth:`to_json` wrote it (unknown keys ignored); TypeError if unreadable."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """One line for /sources, /status and the CLI."""
        state = "never refreshed" if self.last_attempt is None else ("ok" if self.ok else "FAILED")
        text = (
            f"{self.name} ({self.kind}): {state}, {counted(self.articles, 'article')}; last refresh "
            f"{self.fetched} new or changed, {self.not_modified} unchanged, {self.failed} failed"
        )
        if self.summaries:
            text += f", {self.summaries} from the feed summary"
        if self.last_attempt:
            text += f", checked {self.last_attempt[:16].replace('T', ' ')} UTC"
        if self.last_error:
            text += f"; error: {self.last_error}"
        elif self.warning:
            text += f"; {self.warning}"
        return text


@dataclass(frozen=True, slots=True)
class Collected:
    articles: list[Article]
    problems: list[SourceProblem]
    statuses: dict[str, SourceStatus]
    stories: Stories


def state_dir(data_dir: Path) -> Path:
    return data_dir / STATE_DIR


def read_statuses(data_dir: Path) -> dict[str, SourceStatus]:
    """The status of every source as last written; {} before the first refresh."""
    try:
        raw = json.loads((state_dir(data_dir) / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found: dict[str, SourceStatus] = {}
    for name, data in raw.get("sources", {}).items():
        try:
            found[name] = SourceStatus.from_json(data)
        except TypeError:
            log.warning("ignoring unreadable status of source %s", name)
    return found


def read_stories(data_dir: Path) -> Stories:
    """doc_id -> story id (the representative's doc id) from the last collection."""
    return Stories.read(state_dir(data_dir) / STORIES_FILE)


def _write_statuses(root: Path, statuses: dict[str, SourceStatus]) -> None:
    data = {"written_at": now_iso(), "sources": {n: s.to_json() for n, s in statuses.items()}}
    write_atomically(root / STATUS_FILE, json.dumps(data, indent=1))


@contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ReindexBusy("the sources are being refreshed already; try again shortly") from None
        yield


def selected_sources(settings: Settings, only: str | None) -> list[SourceSettings]:
    """The enabled sources, or only the one named ``only`` (CorpusError when there is none)."""
    enabled = [s for s in settings.sources if s.enabled]
    if only is None:
        return enabled
    names = {s.name.lower(): s for s in settings.sources}
    source = names.get(only.lower())
    if source is None:
        known = ", ".join(s.name for s in settings.sources) or "none"
        raise CorpusError(f"there is no source named '{only}' (configured: {known})")
    if not source.enabled:
        raise CorpusError(f"source '{source.name}' is disabled in the config")
    return [source]


def _read_folder_source(source: SourceSettings, cache: SourceCache, manifest: str) -> Harvest:
    harvest = Harvest()
    if source.path is None:
        harvest.error = "the source has no folder path"
        return harvest
    try:
        articles, problems = read_folder(source.path, manifest)
    except CorpusError as exc:
        harvest.error = str(exc)
        return harvest
    if not articles:
        # an unmounted share or a sync that emptied the folder must not unindex the source:
        # it fails and keeps its last articles (disable or remove the source to drop them)
        harvest.failed = len(problems)
        harvest.problems = [SourceProblem(f"{source.name}: {p.source}", p.reason) for p in problems]
        harvest.error = "no article could be read from the folder (is it mounted?); its last ones are kept"
        return harvest
    # Prefixed with the source name: two folders may hold files of the same name.
    cache.folder = [
        replace(a, doc_id=f"{source.name}/{a.doc_id}", outlet=a.outlet or source.outlet) for a in articles
    ]
    harvest.fetched = len(articles)
    harvest.failed = len(problems)
    harvest.problems = [SourceProblem(f"{source.name}: {p.source}", p.reason) for p in problems]
    return harvest


async def _harvest(
    fetcher: Fetcher, source: SourceSettings, cache: SourceCache, manifest: str, checkpoint: CacheCheckpoint
) -> Harvest:
    try:
        if source.kind == "folder":
            return await asyncio.to_thread(_read_folder_source, source, cache, manifest)
        if source.kind == "urls":
            return await harvest_urls(fetcher, source, cache, checkpoint)
        return await harvest_feed(fetcher, source, cache, checkpoint)
    except Exception as exc:  # one broken source must never stop the others
        log.exception("refreshing source %s failed unexpectedly", source.name)
        return Harvest(error=f"unexpected error: {type(exc).__name__}: {exc}")


async def _refresh(
    fetcher: Fetcher, source: SourceSettings, root: Path, manifest: str, previous: SourceStatus | None
) -> tuple[list[Article], list[SourceProblem], SourceStatus]:
    started, attempt = time.perf_counter(), now_iso()
    cache, damage = SourceCache.read(root, source.name)
    checkpoint = CacheCheckpoint(cache, lambda partial: partial.save(root, source.name))
    harvest = await _harvest(fetcher, source, cache, manifest, checkpoint)
    if harvest.error is None:
        cache.save(root, source.name)
    else:  # whatever the failed run touched is not saved, but the good pages it saved part way
        cache = SourceCache.read(root, source.name)[0]
        log.warning("source %s failed: %s", source.name, harvest.error)
    problems = list(harvest.problems)
    if harvest.error and not harvest.problems:  # "all N pages failed" sums up the pages' own
        problems.insert(0, SourceProblem(source.name, harvest.error))
    if damage:
        log.warning("source %s: %s", source.name, damage)
        problems.insert(0, SourceProblem(source.name, damage))
    warning = None
    if harvest.failed and not harvest.error:
        first = harvest.problems[0]
        page = first.source.removeprefix(f"{source.name}: ")  # the line already names the source
        warning = f"first failure: {page}: {first.reason}"
    status = SourceStatus(
        name=source.name,
        kind=source.kind,
        last_attempt=attempt,
        last_success=attempt if harvest.error is None else (previous.last_success if previous else None),
        last_error=harvest.error,
        warning=warning,
        articles=len(cache.articles),
        fetched=harvest.fetched,
        not_modified=harvest.not_modified,
        failed=harvest.failed,
        summaries=harvest.summaries,
        seconds=round(time.perf_counter() - started, 3),
    )
    return cache.articles, problems, status


def _from_cache(
    source: SourceSettings, root: Path, previous: SourceStatus | None
) -> tuple[list[Article], SourceStatus]:
    articles = SourceCache.load(root, source.name).articles
    status = previous or SourceStatus(name=source.name, kind=source.kind)
    return articles, replace(status, articles=len(articles))


def _merge(batches: list[list[Article]]) -> list[Article]:
    """One article per doc id (one per canonical URL); a full page beats a feed summary."""
    found: dict[str, Article] = {}
    for batch in batches:
        for article in batch:
            old = found.get(article.doc_id)
            if old is None or (SUMMARY_MARK in old.source and SUMMARY_MARK not in article.source):
                found[article.doc_id] = article
    return list(found.values())


async def acollect(settings: Settings, data_dir: Path, only: str | None = None) -> Collected:
    """See :func:`collect`."""
    selected = selected_sources(settings, only)
    root = state_dir(data_dir)
    with _exclusive(root):
        previous = read_statuses(data_dir)
        statuses: dict[str, SourceStatus] = {}
        batches: list[list[Article]] = []
        problems: list[SourceProblem] = []
        async with Fetcher(settings.fetch) as fetcher:
            refreshed = await asyncio.gather(
                *(
                    _refresh(fetcher, s, root, settings.corpus.manifest, previous.get(s.name))
                    for s in selected
                )
            )
        by_name = {status.name: (articles, found, status) for articles, found, status in refreshed}
        for source in settings.sources:
            if source.name in by_name:
                articles, found, status = by_name[source.name]
                problems.extend(found)
            elif source.enabled:  # not chosen by ``only``: its last good articles
                articles, status = _from_cache(source, root, previous.get(source.name))
            else:
                articles, status = [], previous.get(source.name) or SourceStatus(source.name, source.kind)
            statuses[source.name] = status
            if source.enabled:
                batches.append(articles)
        merged = _merge(batches)
        stories = group_stories(merged, settings.fetch.story_threshold)
        stories.write(root / STORIES_FILE)
        _write_statuses(root, statuses)
    return Collected(merged, problems, statuses, stories)


def collect(settings: Settings, data_dir: Path, only: str | None = None) -> Collected:
    """Refresh the enabled sources (or only the one named ``only``; the others contribute their
    cached articles) and return every article, the problems met, each source's status and the
    story grouping. Blocking: it runs its own event loop, so call it from a thread, not a loop."""
    return asyncio.run(acollect(settings, data_dir, only))


def status_lines(data_dir: Path, settings: Settings) -> list[str]:
    """A line per configured source from this data directory's last refresh."""
    return source_lines(settings, read_statuses(data_dir))


def source_lines(settings: Settings, statuses: Mapping[str, SourceStatus]) -> list[str]:
    """A line per configured source, for /sources, /status and ``newsdesk refresh``."""
    lines = []
    for source in settings.sources:
        status = statuses.get(source.name) or SourceStatus(source.name, source.kind)
        line = status.line()
        lines.append(line if source.enabled else f"{line} (disabled)")
    return lines
