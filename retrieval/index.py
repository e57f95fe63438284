"""Building and incrementally updating the index with llama-index's ingestion pipeline.

Each run works on a copy of the current generation (``index/gen-*``): the pipeline's docstore
decides what changed (unchanged articles are not re-embedded, changed ones replace their
passages, removed ones disappear), the BM25 index is rebuilt from the store's passages, and
only when everything is written is ``index/CURRENT`` switched to the new folder. A run killed
half way leaves the last good index in place; its leftovers are removed by the next run.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import shutil
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config.settings import Settings
from retrieval.catalog import (
    ARTICLE_BM25,
    CURRENT_FILE,
    DENSE_FILE,
    Catalog,
    CatalogEntry,
    current_generation,
    embedder_model,
    write_atomically,
)
from retrieval.models import Article
from retrieval.sources import SourceProblem

log = logging.getLogger(__name__)

#: progress(done, total, label) — called from the indexing thread.
Progress = Callable[[int, int, str], None]


class ReindexBusy(RuntimeError):
    """Another reindex of the same data directory is running."""


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
            f"{self.unchanged} unchanged, {self.failed} failed; {self.passages} passages "
            f"({self.embedded} embedded) in {self.seconds:.1f} s"
        )


def settings_key(settings: Settings) -> str:
    """What makes two indexes incompatible: embedder and splitting (store URL too)."""
    parts = (
        # request tuning (timeouts, retries) doesn't change vectors; left out, so an index
        # built before those settings existed keeps its key
        settings.embedding.model_dump_json(exclude={"timeout_s", "retry_budget_s", "max_attempts"}),
        settings.splitting.model_dump_json(),
        # query-time and postgres table settings don't make vectors stale
        settings.store.model_dump_json(include={"backend", "url", "api_key_env", "collection"}),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


#: What a complete generation holds besides the vector store (a missing one is rebuilt).
ARTIFACTS = ("bm25", DENSE_FILE, ARTICLE_BM25, "docstore.json")

_THREAD_LOCK = threading.Lock()


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
    finally:
        _THREAD_LOCK.release()


class _Counter:
    """A pipeline step that reports how many passages are about to be embedded."""

    def __init__(self, progress: Progress | None) -> None:
        self.total = 0
        self.done = 0
        self.progress = progress

    def planned(self, n: int) -> None:
        self.total += n
        self._report()

    def embedded(self, n: int) -> None:
        self.done += n
        self._report()

    def _report(self) -> None:
        if self.progress:
            self.progress(self.done, self.total, "embedding passages")


def _unchanged(articles: list[Article], previous: Catalog | None, key: str) -> bool:
    if previous is None or previous.settings_key != key:
        return False
    from retrieval.passages import article_document

    hashes = {a.doc_id: article_document(a).hash for a in articles}
    return hashes == {d: e.hash for d, e in previous.articles.items()}


class IndexBuilder:
    """Builds generation folders under ``<data_dir>/index``."""

    def __init__(self, settings: Settings, index_root: Path, embed_model: Any) -> None:
        self.settings = settings
        self.root = index_root
        self.embed_model = embed_model

    def run(
        self,
        articles: list[Article],
        problems: list[SourceProblem],
        rebuild: bool = False,
        progress: Progress | None = None,
    ) -> ReindexReport:
        started = time.perf_counter()
        with exclusive(self.root):
            self._remove_leftovers()
            current = current_generation(self.root)
            previous = Catalog.read(current) if current else None
            key = settings_key(self.settings)
            complete = current is not None and all((current / name).exists() for name in ARTIFACTS)
            # a postgres generation keeps its passages and docstore in the database
            if self.settings.store.backend == "postgres":
                complete = current is not None and (current / "pg.json").is_file()
            if not rebuild and complete and previous is not None and _unchanged(articles, previous, key):
                n = len(previous.articles)
                return ReindexReport(
                    0,
                    0,
                    0,
                    n,
                    len(problems),
                    previous.passages,
                    0,
                    time.perf_counter() - started,
                    tuple(problems),
                )
            if previous is not None and previous.settings_key != key:
                rebuild = True  # embedder or splitting changed: old vectors are useless
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            building = self.root / f"building-{stamp}"
            if current and not rebuild and not self.settings.store.url:
                shutil.copytree(current, building)
            building.mkdir(parents=True, exist_ok=True)
            catalog, embedded = self._ingest(building, articles, rebuild, progress)
            report = _compare(previous if not rebuild else None, catalog, problems, embedded, started)
            final = self.root / f"gen-{stamp}"
            building.rename(final)
            write_atomically(self.root / CURRENT_FILE, final.name)
            self._remove_old(keep=final)
            return report

    def _ingest(
        self, folder: Path, articles: list[Article], rebuild: bool, progress: Progress | None
    ) -> tuple[Catalog, int]:
        from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
        from llama_index.core.storage.docstore import SimpleDocumentStore

        from retrieval.passages import PassageParser, article_document
        from retrieval.store import open_client, vector_store

        cfg = self.settings.store
        # the postgres backend fills and publishes a new table instead
        if cfg.backend == "postgres":
            from retrieval.pgindex import ingest

            return ingest(self, folder, articles, rebuild, progress)
        client = open_client(cfg, folder / "qdrant")
        try:
            if rebuild and client.collection_exists(cfg.collection):
                client.delete_collection(cfg.collection)
            docstore_path = folder / "docstore.json"
            docstore = (
                SimpleDocumentStore.from_persist_path(str(docstore_path))
                if docstore_path.exists() and not rebuild
                else SimpleDocumentStore()
            )
            counter = _Counter(progress)
            parser = PassageParser(
                max_tokens=self.settings.splitting.max_tokens,
                overlap=self.settings.splitting.overlap_sentences,
                count_tokens=_token_counter(self.embed_model),
            )
            pipeline = IngestionPipeline(
                transformations=[parser, _Planned(counter), self.embed_model],
                docstore=docstore,
                vector_store=vector_store(cfg, client),
                docstore_strategy=DocstoreStrategy.UPSERTS_AND_DELETE,
                disable_cache=True,
            )
            documents = [article_document(a) for a in articles]
            _set_batch_callback(self.embed_model, counter.embedded)
            try:
                with warnings.catch_warnings():  # local Qdrant: payload indexes are server-only
                    warnings.filterwarnings("ignore", message="Payload indexes have no effect")
                    pipeline.run(documents=documents)
            finally:
                _set_batch_callback(self.embed_model, None)
            docstore.persist(str(docstore_path))
            nodes = _all_nodes(client, cfg.collection)
            _write_bm25(folder / "bm25", nodes)
            _write_dense(folder / DENSE_FILE, nodes)
            _write_bm25(folder / ARTICLE_BM25, documents)
            catalog = _catalog(articles, documents, nodes, self.settings)
            catalog.write(folder)
            return catalog, counter.done
        finally:
            client.close()

    def _remove_leftovers(self) -> None:
        for stale in self.root.glob("building-*"):
            log.warning("removing %s left by an interrupted index run", stale.name)
            shutil.rmtree(stale, ignore_errors=True)

    def _remove_old(self, keep: Path) -> None:
        for old in self.root.glob("gen-*"):
            if old != keep:
                shutil.rmtree(old, ignore_errors=True)


def _token_counter(embed_model: Any) -> Callable[[str], int]:
    encoder = getattr(embed_model, "encoder", None)
    if encoder is not None:
        return encoder.count_tokens
    from llama_index.core.utils import get_tokenizer

    tokenizer = get_tokenizer()
    return lambda text: len(tokenizer(text))


def _set_batch_callback(embed_model: Any, callback: Callable[[int], None] | None) -> None:
    if hasattr(embed_model, "on_batch"):
        embed_model.on_batch(callback)


def _Planned(counter: _Counter) -> Any:
    from llama_index.core.schema import TransformComponent

    class Planned(TransformComponent):
        def __call__(self, nodes: Any, **kwargs: Any) -> Any:
            counter.planned(len(nodes))
            return nodes

    return Planned()


def _all_nodes(client: Any, collection: str) -> list[Any]:
    from llama_index.core.vector_stores.utils import metadata_dict_to_node

    nodes: list[Any] = []
    offset = None
    while True:
        points, offset = client.scroll(
            collection, limit=1024, offset=offset, with_payload=True, with_vectors=True
        )
        for point in points:
            node = metadata_dict_to_node(point.payload)
            node.id_ = str(point.id)
            vector = point.vector
            node.embedding = next(iter(vector.values())) if isinstance(vector, dict) else vector
            nodes.append(node)
        if offset is None:
            return sorted(nodes, key=lambda n: (n.ref_doc_id or "", n.start_char_idx or 0))


def _write_bm25(folder: Path, nodes: list[Any]) -> None:
    import Stemmer
    from llama_index.retrievers.bm25 import BM25Retriever

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on import

    shutil.rmtree(folder, ignore_errors=True)
    if not nodes:
        return
    retriever = BM25Retriever.from_defaults(
        nodes=nodes,
        stemmer=Stemmer.Stemmer("english"),
        language="english",
        similarity_top_k=min(10, len(nodes)),
    )
    retriever.persist(str(folder), show_progress=False)


def _write_dense(path: Path, nodes: list[Any]) -> None:
    """The passage vectors in BM25 corpus order, for the local exact search (see store.py)."""
    import numpy as np

    matrix = np.asarray([n.embedding for n in nodes], dtype=np.float32).reshape(len(nodes), -1)
    with path.open("wb") as fh:
        np.save(fh, matrix)


def _catalog(articles: list[Article], documents: list[Any], nodes: list[Any], settings: Settings) -> Catalog:
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node.ref_doc_id] = counts.get(node.ref_doc_id, 0) + 1
    entries = {
        a.doc_id: CatalogEntry(
            doc_id=a.doc_id,
            title=a.title,
            outlet=a.outlet,
            published=a.published.isoformat() if a.published else None,
            url=a.url,
            hash=d.hash,
            passages=counts.get(a.doc_id, 0),
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
        dimension=_dimension(nodes),
        store_url=settings.store.url,
    )


def _dimension(nodes: list[Any]) -> int | None:
    """The vector size, where the nodes carry their vectors (postgres passes counts only)."""
    vector = getattr(nodes[0], "embedding", None) if nodes else None
    return len(vector) if vector is not None else None


def _compare(
    previous: Catalog | None, catalog: Catalog, problems: list[SourceProblem], embedded: int, started: float
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
