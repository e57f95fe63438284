"""The ingestion steps every store backend shares: one reindex at a time, llama-index's
pipeline, the generation stamp and catalog, and the run's report.

A backend (:mod:`retrieval.backends`) fills a new generation with :func:`run_pipeline` and
:func:`build_catalog`; :func:`retrieval.index.build_generation` runs the whole reindex around it.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config.counts import counted
from config.errors import Busy, RunFailed
from config.settings import Settings
from retrieval.catalog import Catalog, CatalogEntry, embedder_model
from retrieval.models import Article
from retrieval.sources import SourceProblem

log = logging.getLogger(__name__)

#: progress(done, total, label) — called from the indexing thread.
Progress = Callable[[int, int, str], None]


class ReindexBusy(Busy, RuntimeError):
    """Another reindex of the same data directory (or database) is running."""


@dataclass(frozen=True, slots=True)
class ReindexReport:
    added: int
    changed: int
    removed: int
    unchanged: int
    failed: int
    passages: int
    embedded: int
    seconds: float
    problems: tuple[SourceProblem, ...] = ()

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.changed} changed, {self.removed} removed, "
            f"{self.unchanged} unchanged, {self.failed} failed; {counted(self.passages, 'passage')} "
            f"({self.embedded} embedded) in {self.seconds:.1f} s"
        )


@dataclass(frozen=True, slots=True)
class Ingested:
    """What a backend's ingest made: the new generation's catalog, how many passages it
    embedded, and its handle in the store (a postgres table; None for local files)."""

    catalog: Catalog
    embedded: int
    handle: Any = None


def settings_key(settings: Settings) -> str:
    """What makes two indexes incompatible: embedder and splitting (store URL too)."""
    parts = (
        # request tuning (timeouts, retries) and how questions are embedded don't change the
        # passages' vectors; left out, so an index built before those settings keeps its key
        settings.embedding.model_dump_json(
            exclude={"timeout_s", "retry_budget_s", "max_attempts", "int8_queries"}
        ),
        settings.splitting.model_dump_json(),
        # query-time and postgres table settings don't make vectors stale
        settings.store.model_dump_json(include={"backend", "url", "api_key_env", "collection"}),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def new_stamp() -> str:
    """A generation's stamp: UTC time to the microsecond, sortable, usable in a table name."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


_THREAD_LOCK = threading.Lock()
#: what a read-only, full or foreign data folder raises: the user's to fix, not a bug
_UNWRITABLE = frozenset({errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM})


@contextmanager
def exclusive(index_root: Path) -> Iterator[None]:
    """One reindex at a time per data directory, across threads and processes."""
    if not _THREAD_LOCK.acquire(blocking=False):
        raise ReindexBusy("a reindex is already running; try again when it has finished")
    try:
        index_root.mkdir(parents=True, exist_ok=True)
        with (index_root / ".lock").open("w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ReindexBusy("another process is reindexing this data directory") from None
            yield
    except OSError as exc:
        if exc.errno not in _UNWRITABLE:
            raise
        # the file that could not be written when the error names one (a source's cache under
        # sources/, a batch of the build): a full disk may hold the sources and not the index
        where = exc.filename or index_root
        raise RunFailed(
            f"{where} cannot be written ({exc.strerror}); the index that answers is unchanged"
        ) from None
    finally:
        _THREAD_LOCK.release()


@contextmanager
def unless_reindexing(index_root: Path) -> Iterator[bool]:
    """The data directory's lock if it is free (True), else nothing (False): for followers,
    who must not switch ``CURRENT`` under a running reindex."""
    index_root.mkdir(parents=True, exist_ok=True)
    with (index_root / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


class EmbedCounter:
    """Passages embedded so far, of a total estimated from the articles split so far."""

    def __init__(self, progress: Progress | None, articles: int) -> None:
        self.progress = progress
        self.articles = articles  # to be embedded in this run
        self.split_articles = 0
        self.split = 0  # passages of the articles split so far
        self.done = 0

    @property
    def total(self) -> int:
        if not self.split_articles:
            return 0
        rest = self.articles - self.split_articles
        return self.split + round(rest * self.split / self.split_articles)

    def planned(self, articles: int, passages: int) -> None:
        self.split_articles += articles
        self.split += passages
        self._report()

    def embedded(self, n: int) -> None:
        self.done += n
        self._report()

    def _report(self) -> None:
        if self.progress:
            self.progress(self.done, max(self.total, self.done), "embedding passages")


def token_counter(embed_model: Any) -> Callable[[str], int]:
    encoder = getattr(embed_model, "encoder", None)
    if encoder is not None:
        return encoder.count_tokens
    from llama_index.core.utils import get_tokenizer

    tokenizer = get_tokenizer()
    return lambda text: len(tokenizer(text))


def _set_batch_callback(embed_model: Any, callback: Callable[[int], None] | None) -> None:
    if hasattr(embed_model, "on_batch"):
        embed_model.on_batch(callback)


def _planned(counter: EmbedCounter, batch: list[Any]) -> Any:
    from llama_index.core.schema import TransformComponent

    class Planned(TransformComponent):
        def __call__(self, nodes: Any, **kwargs: Any) -> Any:
            counter.planned(len(batch), len(nodes))
            return nodes

    return Planned()


#: Articles a pipeline run takes at once (a checkpointed build saves each batch).
BATCH_ARTICLES = 64


def run_pipeline(
    settings: Settings,
    embed_model: Any,
    docstore_path: Path,
    articles: Sequence[Article],
    vector_store: Any,
    progress: Progress | None,
    after_batch: Callable[[], None] | None = None,
    batch_articles: int = BATCH_ARTICLES,
    held: set[str] | None = None,
) -> tuple[list[Any], int]:
    """llama-index's ingestion pipeline into ``vector_store``: the docstore at ``docstore_path``
    (if any) decides what changed, so unchanged articles are not re-embedded, and articles
    that are gone are deleted. Returns the articles' documents and how many passages were
    embedded.

    Changed articles go through the pipeline ``batch_articles`` at a time. With
    ``after_batch`` (a checkpointing vector store's hook) the docstore is saved after each
    batch, without article texts (only their hashes): a rerun of a killed build then skips
    what the vector store had saved. ``held``: the articles the vector store holds passages of;
    the docstore's other articles are forgotten first, so they are embedded again (a resumed
    build whose saved batches could not all be read)."""
    import warnings

    from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
    from llama_index.core.storage.docstore import SimpleDocumentStore

    from retrieval.passages import PassageParser, article_document

    docstore = (
        SimpleDocumentStore.from_persist_path(str(docstore_path))
        if docstore_path.exists()
        else SimpleDocumentStore()
    )
    if held is not None:
        for doc_id in recorded_articles(docstore) - held:
            docstore.delete_document(doc_id, raise_error=False)
    documents = [article_document(a) for a in articles]
    # only new and changed articles need the pipeline; it skips the others by their hash
    todo = [d for d in documents if docstore.get_document_hash(d.id_) != d.hash]
    counter = EmbedCounter(progress, len(todo))
    parser = PassageParser(
        max_tokens=settings.splitting.max_tokens,
        overlap=settings.splitting.overlap_sentences,
        count_tokens=token_counter(embed_model),
    )
    _set_batch_callback(embed_model, counter.embedded)
    try:
        with warnings.catch_warnings():  # Qdrant server: payload indexes
            warnings.filterwarnings("ignore", message="Payload indexes have no effect")
            for start in range(0, len(todo), batch_articles):
                batch = todo[start : start + batch_articles]
                IngestionPipeline(
                    transformations=[parser, _planned(counter, batch), embed_model],
                    docstore=docstore,
                    vector_store=vector_store,
                    docstore_strategy=DocstoreStrategy.UPSERTS,
                    disable_cache=True,
                ).run(documents=batch, store_doc_text=after_batch is None)
                if after_batch is not None:
                    after_batch()
                    _persist(docstore, docstore_path)
    finally:
        _set_batch_callback(embed_model, None)
    wanted = {d.id_ for d in documents}
    for doc_id in recorded_articles(docstore) - wanted:  # articles now gone
        docstore.delete_document(doc_id, raise_error=False)
        vector_store.delete(doc_id)
    _persist(docstore, docstore_path)
    return documents, counter.done


def recorded_articles(docstore: Any) -> set[str]:
    """The doc id of every article a llama-index docstore records a hash of.

    Not ``get_all_document_hashes()``: it maps hash -> doc id, so articles with the same text
    and metadata (a file renamed or copied under another name) collapse into one, and the others
    were never deleted: a renamed file's old article kept answering, citing a path that is gone.
    """
    return set(docstore._kvstore.get_all(collection=docstore._metadata_collection))


def _persist(docstore: Any, path: Path) -> None:
    """Save the docstore whole or not at all (a killed run must not leave half a file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        docstore.persist(str(tmp))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk is not left fuller
        raise


def build_catalog(
    articles: Sequence[Article],
    documents: Sequence[Any],
    passages: dict[str, int],
    settings: Settings,
    dimension: int | None = None,
) -> Catalog:
    """The generation's catalog: each article (``passages`` counts its passages by doc id) and
    the embedder that made its vectors (``dimension``: their size, where the backend knows it)."""
    entries = {
        a.doc_id: CatalogEntry(
            doc_id=a.doc_id,
            title=a.title,
            outlet=a.outlet,
            published=a.published.isoformat() if a.published else None,
            url=a.url,
            hash=d.hash,
            passages=passages.get(a.doc_id, 0),
            source=a.source,
        )
        for a, d in zip(articles, documents, strict=True)
    }
    return Catalog(
        articles=entries,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        embedder=settings.embedding.provider,
        settings_key=settings_key(settings),
        embedding_model=embedder_model(settings.embedding),
        dimension=dimension,
        store_url=settings.store.url,
    )


def compare(
    previous: Catalog | None,
    catalog: Catalog,
    problems: Sequence[SourceProblem],
    embedded: int,
    started: float,
) -> ReindexReport:
    old = previous.articles if previous else {}
    new = catalog.articles
    added = sum(1 for d in new if d not in old)
    changed = sum(1 for d in new if d in old and old[d].hash != new[d].hash)
    removed = sum(1 for d in old if d not in new)
    return ReindexReport(
        added=added,
        changed=changed,
        removed=removed,
        unchanged=len(new) - added - changed,
        failed=len(problems),
        passages=catalog.passages,
        embedded=embedded,
        seconds=time.perf_counter() - started,
        problems=tuple(problems),
    )
