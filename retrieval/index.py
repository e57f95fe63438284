"""The index of a data directory, over its whole life: open, reindex, follow, describe.

    index = NewsIndex.open(settings, data_dir=None)   # loads (or builds) the index
    index.searcher                                     # HybridSearcher of the current generation
    report = index.reindex(corpus=None, rebuild=False, progress=None, source=None)  # blocking
    index.stats()                                      # CoverageStats
    index.close()

Each reindex builds a new generation (``<data_dir>/index/gen-<stamp>``) on the configured
store backend (:mod:`retrieval.backends`) and switches ``index/CURRENT`` to it only when it is
whole; questions meanwhile are answered from the last good one. A run killed half way leaves
that one in place; its leftovers are removed by the next run. Processes sharing an index
(several bots on one data directory, or on one PostgreSQL database) follow the newest
generation at most every ``store.poll_s`` seconds, without a restart.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from config.counts import counted
from config.settings import Settings
from retrieval.backends import StoreBackend, open_backend
from retrieval.catalog import CURRENT_FILE, Catalog, current_generation, write_atomically
from retrieval.corpus_folder import record_folder, recorded_folder
from retrieval.encoders import LOCAL_PROVIDERS, LocalEncoder, local_encoder
from retrieval.ingest import (
    Ingested,
    Progress,
    ReindexBusy,
    ReindexReport,
    compare,
    exclusive,
    new_stamp,
    settings_key,
)
from retrieval.minilm import MiniLMEncoder
from retrieval.models import Article
from retrieval.query_vectors import LOCAL_WAIT_S, VectorsAhead
from retrieval.search import HybridSearcher
from retrieval.sources import CorpusError, EmptyCorpus, SourceProblem, check_folder, read_folder
from retrieval.store import StoreError

log = logging.getLogger(__name__)

__all__ = [
    "CoverageStats",
    "NewsIndex",
    "Progress",
    "ReindexBusy",
    "ReindexReport",
    "build_generation",
    "default_data_dir",
]


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    env = os.environ.get("NEWSDESK_DATA_DIR")
    return Path(env) if env else Path(user_data_dir("newsdesk", appauthor=False))


@dataclass(frozen=True, slots=True)
class CoverageStats:
    articles: int
    passages: int
    outlets: tuple[str, ...]
    start: date | None
    end: date | None
    last_reindex: datetime | None


class NewsIndex:
    """The searchable index of one data directory on one store backend; see the module docstring."""

    def __init__(
        self, settings: Settings, data_dir: Path, encoder: MiniLMEncoder, backend: StoreBackend | None = None
    ) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self.index_root = data_dir / "index"
        self.encoder = encoder
        self.backend = backend or open_backend(settings)
        self._searcher: HybridSearcher | None = None
        self._ahead: VectorsAhead | None = None
        self._swap = threading.Lock()
        self._embed_model: Any = None
        self._local: LocalEncoder | None = None
        self._stats: tuple[Catalog, CoverageStats] | None = None
        self._polled_at = -1e9

    @classmethod
    def open(
        cls,
        settings: Settings,
        data_dir: Path | None = None,
        build: bool = True,
        progress: Progress | None = None,
        encoder: MiniLMEncoder | None = None,
    ) -> NewsIndex:
        """Open the index under ``data_dir``, building it from the corpus first if there is none."""
        index = cls(
            settings,
            data_dir or settings.data_dir or default_data_dir(),
            encoder or MiniLMEncoder(settings.embedding.threads, settings.embedding.int8_queries),
        )
        # start from the index other processes published; a store that cannot be reached fails
        # an opening that must answer, and is otherwise said once, by whatever needs it next
        # (a search, a reindex, status), not once here and again there
        unreachable = index.follow(force=True, quiet=True)
        if unreachable is not None:
            if build:
                raise unreachable
            return index
        has_index = current_generation(index.index_root) is not None
        if not has_index and build:
            try:
                index.reindex(progress=progress)
            except ReindexBusy:  # another process is building the first index: wait for it
                index._await_first_index()
        if index._searcher is None and (has_index or build):
            try:
                index._load()
            except StoreError:
                if build:
                    raise
                # said once, by what needs the index next (a search, status's 'index:' line),
                # or replaced by the reindex this opening is for; not logged here as well
        return index

    def _await_first_index(self) -> None:
        """Wait (bounded by ``store.first_build_wait_s``) for another process's first build."""
        limit = self.settings.store.first_build_wait_s
        log.warning(
            "another process is building the first index in %s; waiting up to %g s", self.data_dir, limit
        )
        deadline = time.monotonic() + limit
        while current_generation(self.index_root) is None:
            if time.monotonic() >= deadline:
                raise ReindexBusy(
                    f"another process is still building the first index after {limit:g} s; "
                    "try again when it has finished"
                )
            time.sleep(0.2)

    # -- reading ---------------------------------------------------------------------------

    def _load(self) -> None:
        generation = current_generation(self.index_root)
        if generation is None:
            raise CorpusError(f"no index in {self.data_dir}; run 'newsdesk index' first")
        if self._searcher is not None and self._searcher.generation == generation:
            return
        encoder, ahead = self._query_encoder(), self._vectors_ahead()
        prepare = getattr(encoder, "prepare_queries", None)
        if prepare is not None:  # the query session is built while the index's files load
            ahead.start(prepare)
        try:
            searcher = HybridSearcher(
                generation, self.backend.open(generation), self.settings.search, encoder, ahead
            )
        except (OSError, ValueError, KeyError, EOFError) as exc:  # JSON errors are ValueErrors
            raise StoreError(
                f"the index in {generation} is damaged ({type(exc).__name__}: {exc}); "
                "rebuild it with 'newsdesk index --rebuild'"
            ) from None
        if self.settings.sources:  # syndicated copies grouped into stories by the last collection
            from retrieval.collecting import read_stories

            searcher.stories = read_stories(self.data_dir).story_of
        with self._swap:
            old, self._searcher = self._searcher, searcher
        if old is not None:
            old.close()

    def follow(self, force: bool = False, quiet: bool = False) -> StoreError | None:
        """Switch to the newest generation when another process built one (``index/CURRENT``;
        on a shared database, the one published there); checked at most every ``store.poll_s``.
        A store that cannot be reached is logged (returned instead, ``quiet``)."""
        now = time.monotonic()
        if not force and now - self._polled_at < self.settings.store.poll_s:
            return None
        self._polled_at = now
        try:
            self.backend.follow(self.index_root)
        except StoreError as exc:  # keep answering from the index we have
            if quiet:
                return exc
            log.warning("cannot check for a newer index: %s", exc)
        generation = current_generation(self.index_root)
        if self._searcher is not None and generation not in (None, self._searcher.generation):
            self._load()
        return None

    def local_encoder(self) -> LocalEncoder | None:
        """The in-process encoder of ``embedding.provider`` (None for an API), built once."""
        if self._local is None:
            self._local = local_encoder(self.settings.embedding, self.encoder)
        return self._local

    def _vectors_ahead(self) -> VectorsAhead:
        """The one worker every generation's searcher computes query vectors on."""
        if self._ahead is None:
            cfg = self.settings.embedding
            local = cfg.provider in LOCAL_PROVIDERS  # an API call has its own timeout and retries
            self._ahead = VectorsAhead(LOCAL_WAIT_S if local else cfg.retry_budget_s + cfg.timeout_s)
        return self._ahead

    def _query_encoder(self) -> Any:
        # a local encoder answers queries itself: no llama-index import on the query path
        return self.local_encoder() or _EmbeddingQueries(self.embedder())

    @property
    def searcher(self) -> HybridSearcher:
        self.follow()  # pick up an index another process built, without a restart
        if self._searcher is None:
            self._load()
        if self._searcher is None:
            raise CorpusError(f"no index in {self.data_dir}; run 'newsdesk index' first")
        # vectors of another embedder: one plain line, not a failure deep inside a search
        self._searcher.catalog.check_embedder(self.settings.embedding)
        return self._searcher

    @property
    def catalog(self) -> Catalog:
        return self.searcher.catalog

    def stats(self) -> CoverageStats:
        catalog = self.catalog
        cached = self._stats
        if cached is not None and cached[0] is catalog:
            return cached[1]
        dates = sorted(d for e in catalog.articles.values() if (d := e.published_date))
        outlets = sorted({e.outlet for e in catalog.articles.values() if e.outlet})
        stats = CoverageStats(
            articles=len(catalog.articles),
            passages=catalog.passages,
            outlets=tuple(outlets),
            start=dates[0] if dates else None,
            end=dates[-1] if dates else None,
            last_reindex=catalog.built,
        )
        self._stats = (catalog, stats)  # a catalog never changes; a reindex brings a new one
        return stats

    # -- writing ---------------------------------------------------------------------------

    def embedder(self) -> Any:
        """The llama-index embedder that indexing uses (built once, when first needed)."""
        if self._embed_model is None:
            from retrieval.embedding import build_embedder

            self._embed_model = build_embedder(self.settings.embedding, self.local_encoder())
        return self._embed_model

    def corpus_path(self, corpus: Path | None = None) -> Path:
        """The folder to read: ``corpus``, else ``corpus.path``, else the one the last
        ``--corpus`` build named (never silently the sample over a user's articles)."""
        if corpus is not None:
            return corpus
        if self.settings.corpus.path is not None:
            return self.settings.corpus.path
        recorded = recorded_folder(self.data_dir)
        if recorded is not None:
            if not recorded.is_dir():
                raise CorpusError(
                    f"the index was built from {recorded}, which is no longer a folder; "
                    "name the folder to index with --corpus"
                )
            return recorded
        from corpus import SAMPLE_CORPUS

        return SAMPLE_CORPUS

    def reindex(
        self,
        corpus: Path | None = None,
        rebuild: bool = False,
        progress: Progress | None = None,
        source: str | None = None,
    ) -> ReindexReport:
        """Re-read the corpus (or the configured sources; ``source`` refreshes one) and update
        the index; blocking (run it in a thread). A reindex already running is found first
        (:class:`ReindexBusy`), before any article is read or fetched."""
        folder = self._checked_input(corpus, source)  # a mistake is said before anything is written
        # build on what another process may have published meanwhile; before the lock, which
        # following takes itself (a store that cannot be reached says so, once, as the lock
        # or the build connects to it)
        self.follow(force=True, quiet=True)
        with _locks(self.backend, self.index_root):
            articles, problems = self._read(folder, source, progress, record=corpus is not None)
            report = build_generation(
                self.backend,
                self.settings,
                self.index_root,
                self.embedder(),
                articles,
                problems,
                rebuild,
                progress,
                locked=True,
            )
        if self._searcher is not None or current_generation(self.index_root) is not None:
            self._load()
        return report

    def _checked_input(self, corpus: Path | None, source: str | None) -> Path | None:
        """The corpus folder to read (None: the configured sources), checked: a missing folder
        or an unknown source is a CorpusError, raised before the locks are taken (and made)."""
        if self.settings.sources and corpus is None:
            from retrieval.collecting import selected_sources

            selected_sources(self.settings, source)
            return None
        if source is not None:
            raise CorpusError("no sources are configured; add a 'sources:' list to the config")
        folder = self.corpus_path(corpus)
        check_folder(folder)
        return folder

    def _read(
        self, folder: Path | None, source: str | None, progress: Progress | None, record: bool
    ) -> tuple[list[Article], list[SourceProblem]]:
        """The articles to index (and the problems met): the configured sources (``source``
        refreshes one) when ``folder`` is None, else the corpus folder (``record``: the one
        named by ``--corpus``, remembered for the next runs)."""
        if folder is None:
            from retrieval.collecting import collect

            collected = collect(self.settings, self.data_dir, only=source)
            articles, problems, where = collected.articles, collected.problems, "the configured sources"
        else:
            articles, problems = read_folder(folder, self.settings.corpus.manifest)
            where = folder.name  # shown to Discord admins too: never the server's full path
            if record and articles:
                # before the build, so a run stopped half way (Ctrl-C, a crash) is continued
                # from this folder, not from the sample by the next 'ask' or plain 'index'
                record_folder(self.data_dir, folder)
        if progress:
            progress(0, 0, f"read {counted(len(articles), 'article')} from {where}")
        return articles, problems

    def close(self) -> None:
        with self._swap:
            searcher, self._searcher = self._searcher, None
        if searcher is not None:
            searcher.close()
        if self._ahead is not None:
            self._ahead.close()


class _EmbeddingQueries:
    """Query vectors from a llama-index embedder (for an API embedding provider)."""

    def __init__(self, embed_model: Any) -> None:
        self.embed_model = embed_model

    def embed_query(self, query: str) -> Any:
        import numpy as np

        return np.asarray(self.embed_model.get_query_embedding(query), dtype=np.float32)


def _unchanged(articles: Sequence[Article], previous: Catalog | None, key: str) -> bool:
    if previous is None or previous.settings_key != key:
        return False
    from retrieval.passages import article_document

    hashes = {a.doc_id: article_document(a).hash for a in articles}
    return hashes == {d: e.hash for d, e in previous.articles.items()}


def _readable_catalog(generation: Path) -> Catalog | None:
    """The generation's catalog, or None when it is damaged (it is then rebuilt, not patched)."""
    try:
        return Catalog.read(generation)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("the index in %s is damaged (%s); building a new one", generation, exc)
        return None


def build_generation(
    backend: StoreBackend,
    settings: Settings,
    index_root: Path,
    embed_model: Any,
    articles: list[Article],
    problems: list[SourceProblem],
    rebuild: bool = False,
    progress: Progress | None = None,
    locked: bool = False,
) -> ReindexReport:
    """One reindex of ``index_root`` on ``backend``: nothing when nothing changed, else a new
    generation ingested, published and made current; a failed run is rolled back. ``locked``:
    the caller holds the reindex locks (:func:`exclusive` and ``backend.reindexing()``),
    taken before it read the articles; they are not re-taken (that would find itself busy)."""
    started = time.perf_counter()
    if not articles:
        raise EmptyCorpus(problems)
    with nullcontext() if locked else _locks(backend, index_root):
        current = current_generation(index_root)
        previous = _readable_catalog(current) if current else None
        if current is not None and previous is None:
            rebuild = True  # a damaged index is replaced whole
        key = settings_key(settings)
        whole = current is not None and backend.is_whole(current)
        if not rebuild and whole and _unchanged(articles, previous, key):
            _remove_leftovers(index_root)
            if current is not None:
                backend.upgrade(current)
            n = len(previous.articles) if previous else 0
            seconds = time.perf_counter() - started
            passages = previous.passages if previous else 0
            return ReindexReport(0, 0, 0, n, len(problems), passages, 0, seconds, tuple(problems))
        if previous is not None and previous.settings_key != key:
            rebuild = True  # embedder or splitting changed: old vectors are useless
        building, rebuild = _building_folder(index_root, key, current, rebuild)
        ingested: Ingested | None = None
        try:
            ingested = backend.ingest(building, current, articles, embed_model, rebuild, progress)
            backend.publish(building, ingested)
        except BaseException:
            backend.discard(ingested)
            raise
        report = compare(
            None if rebuild else previous, ingested.catalog, problems, ingested.embedded, started
        )
        final = index_root / building.name.replace("building-", "gen-", 1)
        (building / PLAN_FILE).unlink(missing_ok=True)  # whole now: nothing to resume
        building.rename(final)
        write_atomically(index_root / CURRENT_FILE, final.name)
        _remove_old(index_root, keep=final)
        return report


@contextmanager
def _locks(backend: StoreBackend, index_root: Path) -> Iterator[None]:
    with exclusive(index_root), backend.reindexing():
        yield


#: What an unfinished generation folder is being built from (a killed run's is resumed).
PLAN_FILE = "building.json"


def _building_folder(index_root: Path, key: str, current: Path | None, rebuild: bool) -> tuple[Path, bool]:
    """The folder this run fills, and whether it builds from nothing: the newest one a killed
    run left, when it was building the same thing (the backend then resumes it), else a new one.
    Other leftovers are removed."""
    leftovers = sorted(index_root.glob("building-*"))
    resumed: Path | None = None
    if leftovers:
        try:
            plan = json.loads((leftovers[-1] / PLAN_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            plan = {}
        base = plan.get("base")
        if plan.get("settings_key") == key and (
            base is None or (not rebuild and current is not None and base == current.name)
        ):
            resumed, rebuild = leftovers[-1], base is None
    for stale in leftovers:
        if stale != resumed:
            log.warning("removing %s left by an interrupted index run", stale.name)
            shutil.rmtree(stale, ignore_errors=True)
    if resumed is not None:
        log.warning("continuing the index run interrupted in %s", resumed.name)
        return resumed, rebuild
    folder = index_root / f"building-{new_stamp()}"
    folder.mkdir(parents=True)
    plan = {"settings_key": key, "base": None if rebuild or current is None else current.name}
    write_atomically(folder / PLAN_FILE, json.dumps(plan))
    return folder, rebuild


def _remove_leftovers(index_root: Path) -> None:
    for stale in index_root.glob("building-*"):
        log.warning("removing %s left by an interrupted index run", stale.name)
        shutil.rmtree(stale, ignore_errors=True)


def _remove_old(index_root: Path, keep: Path) -> None:
    for old in index_root.glob("gen-*"):
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
