"""The embedded backend: a generation is a folder of local files.

Ingest runs llama-index's pipeline (splitting, embedding, the docstore that says what changed)
into a :class:`retrieval.backends.passage_log.PassageLog` that starts from the current
generation's passages and saves each batch, then writes what search reads: the passages' BM25
index (llama-index's ``BM25Retriever``, loaded with ``bm25s``; its corpus is the passage table,
beside a lean copy of each row that passages are shown from), their vectors in that order
(``dense.npy``) and the whole articles' BM25 index. With a Qdrant server (``store.url``) the
pipeline's adds and deletes go to its collection too, and dense search asks the server.
Publishing is switching ``index/CURRENT``, which every process reading the folder follows; a
build killed part way resumes from its last saved batch
(:func:`retrieval.index.build_generation` keeps its folder).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from config.settings import Settings
from retrieval.backends.lean_rows import LEAN_ROWS, LeanRows, upgrade, write_lean_rows
from retrieval.catalog import ARTICLE_BM25, DENSE_FILE
from retrieval.ingest import Ingested, Progress, build_catalog, run_pipeline
from retrieval.int8_scan import int8_scan, top_rows
from retrieval.models import Article, Passage, PassageRef
from retrieval.search import Filters
from retrieval.store import (
    DenseSearcher,
    open_client,
    passage_from_payload,
    server_trouble,
    stored_date,
    vector_store,
)

#: What a whole generation holds (a missing one is rebuilt: a generation made before the lean
#: rows existed gets them on the next reindex, from its own rows, nothing embedded again).
ARTIFACTS = ("bm25", f"bm25/{LEAN_ROWS}", DENSE_FILE, ARTICLE_BM25, "docstore.json")
DOCSTORE = "docstore.json"
log = logging.getLogger(__name__)


class EmbeddedBackend:
    """Local files (+ a Qdrant server at ``store.url``); see the module docstring."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @contextmanager
    def reindexing(self) -> Iterator[None]:
        yield  # the data directory's file lock is all it takes

    def is_whole(self, generation: Path) -> bool:
        return all((generation / name).exists() for name in ARTIFACTS)

    def upgrade(self, generation: Path) -> None:
        """Lean rows written before the current splitter's stamp or key terms get their spans
        joined and their sentences' terms once, in place (:func:`retrieval.backends.lean_rows.upgrade`:
        a killed run leaves the old file, still read correctly)."""
        lean = generation / "bm25" / LEAN_ROWS
        name = generation.name
        try:
            if lean.is_file() and upgrade(lean):
                log.warning("upgraded the passage rows of %s (joined spans, sentence terms)", name)
        except OSError as exc:  # the old rows are still there and still read correctly
            log.warning("could not upgrade the passage rows of %s (%s); they are joined as read", name, exc)

    def ingest(
        self,
        folder: Path,
        current: Path | None,
        articles: Sequence[Article],
        embed_model: Any,
        rebuild: bool,
        progress: Progress | None,
    ) -> Ingested:
        """Fill ``folder`` from ``current`` (or from nothing when ``rebuild``); a folder that
        already holds a log is a killed run of the same build, resumed where it stopped."""
        # llama-index is imported for indexing only, never on the query path
        from retrieval.backends.passage_log import LOG_FOLDER, PassageLog, PassageVectorStore, read_generation

        resuming = (folder / LOG_FOLDER).is_dir()
        folder.mkdir(parents=True, exist_ok=True)
        docstore = folder / DOCSTORE
        # a generation without its passage table or vectors (made by an early version) is
        # not patched: everything is embedded again
        usable = current is not None and all((current / name).exists() for name in ("bm25", DENSE_FILE))
        base = current if usable and not rebuild else None
        if base is not None and not resuming and (base / DOCSTORE).is_file():
            shutil.copyfile(base / DOCSTORE, docstore)
        passages = PassageLog(folder, read_generation(base) if base is not None else None)
        if resuming:
            log.warning("resuming the build in %s: %d passages were saved", folder.name, passages.resumed)
        with self._mirror(rebuild and not resuming) as mirror:
            documents, embedded = run_pipeline(
                self.settings,
                embed_model,
                docstore,
                articles,
                PassageVectorStore(passages, mirror),
                progress,
                after_batch=passages.flush,
                batch_articles=self.settings.store.batch_articles,
                held=passages.articles(),
            )
        if progress:
            progress(0, 0, "writing the search files")
        rows, matrix = passages.passages()
        write_passage_bm25(folder / "bm25", rows, passages.keyword_texts())
        _write_matrix(folder / DENSE_FILE, matrix)
        write_bm25(folder / ARTICLE_BM25, documents)
        dimension = passages.dimension if rows else None
        catalog = build_catalog(articles, documents, passages.counts(), self.settings, dimension)
        catalog.write(folder)
        shutil.rmtree(folder / LOG_FOLDER, ignore_errors=True)
        return Ingested(catalog, embedded)

    @contextmanager
    def _mirror(self, fresh: bool) -> Iterator[Any]:
        """The Qdrant server's collection as llama-index's vector store (None without one)."""
        cfg = self.settings.store
        if not cfg.url:
            yield None
            return
        client = open_client(cfg, Path())
        try:
            with server_trouble(cfg):  # the build's writes too: they happen inside the yield
                if fresh and client.collection_exists(cfg.collection):
                    client.delete_collection(cfg.collection)
                yield vector_store(cfg, client)
        finally:
            client.close()

    def publish(self, folder: Path, ingested: Ingested) -> None:
        pass  # switching index/CURRENT publishes a folder

    def discard(self, ingested: Ingested | None) -> None:
        pass  # the next run resumes or removes the unfinished folder

    def open(self, generation: Path) -> EmbeddedSource:
        return EmbeddedSource(generation, self.settings)

    def follow(self, index_root: Path) -> bool:
        return False  # index/CURRENT is shared by every process reading the folder


def _nodes(rows: Sequence[dict[str, Any]]) -> list[Any]:
    from llama_index.core.vector_stores.utils import metadata_dict_to_node

    nodes = []
    for row in rows:
        node = metadata_dict_to_node(row)
        node.id_ = row["node_id"]
        nodes.append(node)
    return nodes


def generation_nodes(generation: Path) -> list[Any]:
    """A generation's passages as llama-index nodes with their vectors (to copy them elsewhere)."""
    from retrieval.backends.passage_log import read_generation

    rows, matrix = read_generation(generation)
    nodes = _nodes(rows)
    for node, vector in zip(nodes, matrix, strict=True):
        node.embedding = vector.tolist()
    return nodes


def write_passage_bm25(folder: Path, rows: list[dict[str, Any]], texts: list[str]) -> None:
    """The passages' BM25 index with ``rows`` as its corpus (the passage table), as
    ``BM25Retriever.from_defaults(nodes=...)`` would make it from the nodes of those rows, and
    persisted by it, without turning every row back into a node and again into a row."""
    import bm25s
    import Stemmer
    from llama_index.retrievers.bm25 import BM25Retriever

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on import

    shutil.rmtree(folder, ignore_errors=True)
    if not rows:
        return
    stemmer = Stemmer.Stemmer("english")
    tokens = bm25s.tokenize(texts, stopwords="english", stemmer=stemmer, show_progress=False)
    index = bm25s.BM25()
    index.index(tokens, show_progress=False)
    index.corpus = rows
    retriever = BM25Retriever(existing_bm25=index, stemmer=stemmer, similarity_top_k=min(10, len(rows)))
    retriever.persist(str(folder), show_progress=False)
    write_lean_rows(folder / LEAN_ROWS, rows)


def write_bm25(folder: Path, nodes: Sequence[Any]) -> None:
    import Stemmer
    from llama_index.retrievers.bm25 import BM25Retriever

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on import

    shutil.rmtree(folder, ignore_errors=True)
    if not nodes:
        return
    retriever = BM25Retriever.from_defaults(
        nodes=list(nodes),
        stemmer=Stemmer.Stemmer("english"),
        language="english",
        similarity_top_k=min(10, len(nodes)),
    )
    retriever.persist(str(folder), show_progress=False)


def write_dense(path: Path, nodes: Sequence[Any]) -> None:
    """The passage vectors in BM25 corpus order, for the local exact search."""
    _write_matrix(path, np.asarray([n.embedding for n in nodes], dtype=np.float32).reshape(len(nodes), -1))


def _write_matrix(path: Path, matrix: np.ndarray) -> None:
    with path.open("wb") as fh:
        np.save(fh, np.asarray(matrix, dtype=np.float32))


#: Row fields kept in memory as columns (filters, article grouping, keys); the rest of a row
#: (its node JSON, text included) is read from the memory-mapped corpus when it is needed.
COLUMNS = ("node_id", "article_id", "ref_doc_id", "published", "outlet")


class KeywordTable:
    """A persisted BM25 index and its corpus rows (one per passage, or per article).

    The rows (llama-index's node JSON, 3-4 KB a passage) are not held as dicts: a year of news
    would take about 1 GB so. One streaming pass at load keeps :data:`COLUMNS` and each row's
    offset; a row is parsed from the memory-mapped file when a passage is first shown. A
    passage is shown from its lean row (:data:`LEAN_ROWS`, when the folder has one for every
    row): a corpus row holds the node as a JSON string, decoded a second time, and decoding
    both took 0.04-0.06 ms a row, ~39 rows a question.
    """

    def __init__(self, folder: Path) -> None:
        import mmap

        import bm25s
        import Stemmer

        self._bm25s = bm25s
        self.stemmer = Stemmer.Stemmer("english")
        self.index = bm25s.BM25.load(str(folder), load_corpus=False)  # retrieve() gives row numbers
        corpus = folder / "corpus.jsonl"
        self._columns, self._offsets = _scan(corpus)
        self.size = len(self._offsets) - 1
        self._file = corpus.open("rb")
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ) if self.size else None
        self._lean: LeanRows | None = None
        lean = folder / LEAN_ROWS
        if self.size and lean.is_file():
            self._lean = LeanRows.open(lean)
            if self._lean is None or self._lean.size != self.size:
                log.warning("%s does not match its corpus: passages are read from the corpus", lean)
                if self._lean is not None:
                    self._lean.close()
                self._lean = None
        self.passages: list[Passage | None] = [None] * self.size
        self._arrays: dict[str, np.ndarray] = {}
        self._sorted: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._doc_rows: dict[str, list[int]] | None = None
        self._masks: dict[Filters, np.ndarray] = {}

    def row(self, i: int) -> dict[str, Any]:
        if self._map is None:
            raise IndexError(f"row {i} of an empty table")
        return dict(json.loads(self._map[self._offsets[i] : self._offsets[i + 1]]))

    def passage(self, i: int) -> Passage:
        cached = self.passages[i]
        if cached is None:
            if self._lean is not None:
                cached = self._lean.passage(i)
            else:
                row = self.row(i)
                cached = passage_from_payload(row["node_id"], row)
            self.passages[i] = cached
        return cached

    def candidate(self, i: int) -> PassageRef:
        """Row ``i`` as a search candidate: its passage when already decoded, else a
        :class:`RowRef` from the columns (decoded only if the search shows or reads it)."""
        cached = self.passages[i]
        if cached is not None:
            return cached
        columns = self._columns
        return RowRef(
            key=columns["node_id"][i],
            doc_id=columns["article_id"][i] or columns["ref_doc_id"][i] or "",
            outlet=columns["outlet"][i],
            published=stored_date(columns["published"][i]),
            table=self,
            row=i,
        )

    def column(self, name: str) -> list[Any]:
        """One metadata field of every row (llama-index stores metadata flat in each row)."""
        cached = self._columns.get(name)
        if cached is None:
            cached = self._columns[name] = [self.row(i).get(name) for i in range(self.size)]
        return cached

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
        self._file.close()
        if self._lean is not None:
            self._lean.close()

    def mask(self, filters: Filters) -> np.ndarray | None:
        """1.0 for rows the filters admit, else 0.0 (None without filters); the last few kept,
        as the dense and keyword sides of one search ask for the same one."""
        if not filters.active:
            return None
        cached = self._masks.get(filters)
        if cached is None:
            if len(self._masks) > 64:
                self._masks.clear()
            cached = self._masks[filters] = self._compute_mask(filters)
        return cached

    def _compute_mask(self, filters: Filters) -> np.ndarray:
        keep = np.ones(self.size, dtype=bool)
        if filters.since or filters.until:
            values, place = self._places("published")
            keep &= date_window(values, place, filters.since, filters.until)
        if filters.outlet:
            outlets = self._array("outlet")
            wanted = filters.outlet.lower()
            admitted = [o for o in np.unique(outlets) if wanted in o]
            keep &= np.isin(outlets, admitted)
        return keep.astype(np.float32)

    def _array(self, name: str) -> np.ndarray:
        """A metadata column as a numpy string array (lower-cased outlets), built once."""
        cached = self._arrays.get(name)
        if cached is None:
            values = [str(v or "") for v in self.column(name)]
            cached = self._arrays[name] = np.array(
                [v.lower() for v in values] if name == "outlet" else values
            )
        return cached

    def _places(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A column's distinct values, sorted, and each row's index among them, built once."""
        cached = self._sorted.get(name)
        if cached is None:
            cached = self._sorted[name] = np.unique(self._array(name), return_inverse=True)
        return cached

    def rows_of(self, doc_id: str) -> list[int]:
        if self._doc_rows is None:
            self._doc_rows = {}
            refs = self.column("ref_doc_id")
            for i, doc in enumerate(self.column("article_id")):
                self._doc_rows.setdefault(doc or refs[i] or "", []).append(i)
        return self._doc_rows.get(doc_id, [])

    def search(self, query: str, limit: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        tokens = self._bm25s.tokenize(query, stopwords="en", stemmer=self.stemmer, show_progress=False)
        if not tokens.vocab:
            return []
        limit = min(limit, self.size)
        docs, scores = self.index.retrieve(
            tokens, k=limit, show_progress=False, weight_mask=mask, n_threads=0
        )
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


def date_window(values: np.ndarray, place: np.ndarray, since: date | None, until: date | None) -> np.ndarray:
    """Rows dated within [since, until]: each row's ISO date string given by its ``place`` among
    the column's distinct ``values`` (sorted as numpy compares strings), so the verdicts are
    those of comparing the strings (``"" < since <= d <= until``) from integer comparisons
    (0.5 -> 0.1 ms a new window at 35,579 passages)."""
    keep = place >= np.searchsorted(values, "", side="right")  # dated
    if since:
        keep &= place >= np.searchsorted(values, since.isoformat(), side="left")
    if until:
        keep &= place < np.searchsorted(values, until.isoformat(), side="right")
    return keep


@dataclass(frozen=True, slots=True)
class RowRef:
    """A passage table's row as a search candidate: what fusion reads (key, article, outlet,
    date, the same values as the decoded passage's: the corpus row's own fields) from the
    in-memory :data:`COLUMNS`; the row is decoded by :meth:`full`, for the hits a search shows
    or reads (a new question decoded ~68 rows to show a handful: ~0.6-1 ms)."""

    key: str
    doc_id: str
    outlet: str | None
    published: date | None
    table: KeywordTable
    row: int

    def full(self) -> Passage:
        return self.table.passage(self.row)


def _scan(corpus: Path) -> tuple[dict[str, list[Any]], np.ndarray]:
    """The :data:`COLUMNS` of every row of a JSONL corpus and each row's byte offset (plus the
    end), read as a stream so the file's pages are not held by this process."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    offsets = [0]
    with corpus.open("rb") as fh:
        for line in fh:
            row = json.loads(line)
            for name, values in columns.items():
                values.append(row.get(name))
            offsets.append(offsets[-1] + len(line))
    return columns, np.asarray(offsets, dtype=np.int64)


class ExactDense:
    """Exact cosine search over a generation's passage vectors (rows in passage-table order).

    With embedded (local) Qdrant this is what Qdrant itself does, brute force, but without
    importing qdrant-client on every start (0.6-1.3 s here) or its per-point overhead; with a
    Qdrant server the server is queried instead. A large matrix is scanned first in int8 and
    its best rows rescored in float32 (:mod:`retrieval.int8_scan`).
    """

    def __init__(self, path: Path, table: KeywordTable) -> None:
        self.matrix = np.load(path)  # in memory: a scan of a memory map is ~2x slower
        self.table = table
        #: the int8 first pass (None: every search scans the float32 matrix)
        self.first = int8_scan(self.matrix)

    def score_rows(self, rows: list[int], vector: np.ndarray) -> np.ndarray:
        """Scores of the given rows for ``vector``."""
        return np.asarray(self.matrix[rows] @ vector, dtype=np.float32)

    def search(
        self, vector: np.ndarray, limit: int, mask: np.ndarray | None
    ) -> list[tuple[PassageRef, float]]:
        if not len(self.matrix):
            return []
        rows, scores = top_rows(self.matrix, self.first, vector, limit, mask)
        return [(self.table.candidate(int(i)), float(s)) for i, s in zip(rows, scores, strict=True)]


def _check_pieces(generation: Path) -> None:
    """FileNotFoundError naming what a local generation lacks (vectors may be the early Qdrant layout)."""
    vectors = (generation / DENSE_FILE).is_file() or (generation / "qdrant").is_dir()
    missing = [
        name for name, there in (("bm25", (generation / "bm25").is_dir()), (DENSE_FILE, vectors)) if not there
    ]
    if missing:
        raise FileNotFoundError(f"{' and '.join(missing)} missing")


def _warn_without_article_ranks(generation: Path) -> None:
    """A generation from before whole-article keyword ranks still answers, ranked less well."""
    log.warning(
        "the index in %s has no whole-article keyword ranks (%s; an older newsdesk built it), so "
        "answers rank less well: run 'newsdesk index' (or /reindex) to add them, nothing is embedded again",
        generation,
        ARTICLE_BM25,
    )


class EmbeddedSource:
    """Search candidates from a generation folder's files (and Qdrant when it is a server)."""

    def __init__(self, generation: Path, settings: Settings) -> None:
        store = settings.store
        if not store.url:  # a piece deleted by hand would otherwise answer "doesn't say" from the rest
            _check_pieces(generation)
        self.passages = KeywordTable(generation / "bm25") if (generation / "bm25").is_dir() else None
        articles = generation / ARTICLE_BM25
        self.articles = KeywordTable(articles) if articles.is_dir() else None
        if self.articles is None and self.passages is not None:
            _warn_without_article_ranks(generation)
        self.exact: ExactDense | None = None
        self.qdrant: DenseSearcher | None = None
        if not store.url and self.passages is not None and (generation / DENSE_FILE).is_file():
            self.exact = ExactDense(generation / DENSE_FILE, self.passages)
        elif self.passages is not None or store.url:
            self.qdrant = DenseSearcher(store, generation / "qdrant")

    def _mask(self, filters: Filters) -> np.ndarray | None:
        return self.passages.mask(filters) if self.passages is not None else None

    def dense(self, vector: np.ndarray, limit: int, filters: Filters) -> Sequence[tuple[PassageRef, float]]:
        if self.exact is not None:
            return self.exact.search(vector, limit, self._mask(filters))
        if self.qdrant is None:
            return []
        return [
            (passage_from_payload(h.key, h.payload), h.score)
            for h in self.qdrant.search(vector, limit, filters.since, filters.until)
        ]

    def keyword(self, query: str, limit: int, filters: Filters) -> Sequence[tuple[PassageRef, float]]:
        if self.passages is None:
            return []
        found = self.passages.search(query, limit, self._mask(filters))
        return [(self.passages.candidate(i), s) for i, s in found]

    def article_ranks(self, query: str, limit: int, filters: Filters) -> dict[str, int]:
        if self.articles is None:
            return {}
        found = self.articles.search(query, limit, self.articles.mask(filters))
        keys = self.articles.column("node_id")
        return {keys[i]: rank for rank, (i, _s) in enumerate(found, 1)}

    def best_passages(
        self, docs: Sequence[str], vector: np.ndarray
    ) -> Sequence[tuple[PassageRef, float | None]]:
        """Each article's best passage by dense score (or its first, without local vectors)."""
        if self.passages is None:
            return []
        best: list[tuple[PassageRef, float | None]] = []
        for doc in docs:
            rows = self.passages.rows_of(doc)
            if not rows:
                continue
            if self.exact is None:
                best.append((self.passages.candidate(rows[0]), None))
                continue
            scores = self.exact.score_rows(rows, vector)
            top = int(np.argmax(scores))
            best.append((self.passages.candidate(rows[top]), float(scores[top])))
        return best

    def close(self) -> None:
        for table in (self.passages, self.articles):
            if table is not None:
                table.close()
        if self.qdrant is not None:
            self.qdrant.close()
