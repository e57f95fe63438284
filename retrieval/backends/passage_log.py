"""The passages of an embedded generation while it is built: a checkpointed log of batches.

llama-index's ingestion pipeline adds each batch's passage nodes (with their vectors) and
deletes the passages of changed or removed articles through :class:`PassageVectorStore`, a
``BasePydanticVectorStore`` over a :class:`PassageLog`. The log starts from the passages of the
generation it updates (its BM25 corpus rows and ``dense.npy``; none for a rebuild) and commits
every batch to ``<folder>/log/`` before the pipeline records the batch's articles in its
docstore, so a build killed part way resumes from its last committed batch. At the end,
:meth:`PassageLog.passages` and :meth:`PassageLog.keyword_texts` give every passage row, vector
and keyword text (what BM25 indexes: the passage under its headline), article by article, for
the files search reads.
No Qdrant: search never read it, and its local mode commits one SQLite transaction per point
(about 65 passages/s here, whatever the encoder).

On disk a batch is ``NNNNNN.npy`` (its vectors, float32) and then ``NNNNNN.json`` (its rows,
their keyword texts and the articles it deleted), each written to a temporary name and
renamed; a batch whose JSON is missing was not committed and is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    VectorStoreQuery,
    VectorStoreQueryResult,
)
from pydantic import PrivateAttr

from retrieval.catalog import DENSE_FILE, replacing

LOG_FOLDER = "log"
#: Marks a row by its article: llama-index keeps the node's source document id here.
REF_DOC = "ref_doc_id"


def read_generation(generation: Path) -> tuple[list[dict[str, Any]], np.ndarray]:
    """The passage rows (the BM25 corpus) and vectors (``dense.npy``) of a generation folder."""
    import bm25s

    folder = generation / "bm25"
    if not folder.is_dir():
        return [], np.zeros((0, 0), dtype=np.float32)
    rows = list(bm25s.BM25.load(str(folder), load_corpus=True).corpus)
    matrix = np.load(generation / DENSE_FILE)
    if len(rows) != len(matrix):
        raise ValueError(f"{generation} holds {len(rows)} passages but {len(matrix)} vectors")
    return rows, matrix


def _article(row: dict[str, Any]) -> str:
    return str(row.get(REF_DOC) or row.get("article_id") or "")


def _write_atomically(path: Path, write: Any) -> None:
    with replacing(path, binary=True) as fh:
        write(fh)


class PassageLog:
    """Passages by article (rows and a vector matrix each), updated batch by batch.

    ``folder`` is the unpublished generation; ``base`` the rows and vectors it starts from.
    Reopening a folder replays the batches it committed (:attr:`resumed` counts their rows).
    """

    def __init__(self, folder: Path, base: tuple[list[dict[str, Any]], np.ndarray] | None = None) -> None:
        self.folder = folder / LOG_FOLDER
        self.folder.mkdir(parents=True, exist_ok=True)
        #: per article: its rows, vectors and keyword texts (None: not known yet, for base rows)
        self._articles: dict[str, tuple[list[dict[str, Any]], np.ndarray, list[str] | None]] = {}
        self._pending: list[str] = []  # deleted since the last commit
        self.dimension: int | None = None
        self.resumed = 0
        self.batches = 0
        if base is not None:
            self._add(*base, None)
        for rows, matrix, texts, deleted in self._committed():
            self._apply(deleted)
            self._add(rows, matrix, texts)
            self.resumed += len(rows)
            self.batches += 1

    def _committed(self) -> Iterator[tuple[list[dict[str, Any]], np.ndarray, list[str], list[str]]]:
        for meta in sorted(self.folder.glob("[0-9]*.json")):
            try:
                batch = json.loads(meta.read_text(encoding="utf-8"))
                matrix = np.load(meta.with_suffix(".npy"))
            except (OSError, ValueError, KeyError):
                return  # a damaged batch and what follows are embedded again
            if not len(matrix) == len(batch.get("rows", ())) == len(batch.get("texts", ())):
                return
            yield batch["rows"], matrix, batch["texts"], batch["deleted"]

    def _add(self, rows: list[dict[str, Any]], matrix: np.ndarray, texts: list[str] | None) -> None:
        if not rows:
            return
        self.dimension = int(matrix.shape[1])
        by_article: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            by_article.setdefault(_article(row), []).append(i)
        for article, index in by_article.items():  # an article's passages come in one batch
            kept = [texts[i] for i in index] if texts is not None else None
            self._articles[article] = ([rows[i] for i in index], matrix[index], kept)

    def _apply(self, deleted: Sequence[str]) -> None:
        for article in deleted:
            self._articles.pop(article, None)

    def delete(self, article: str) -> None:
        """Drop an article's passages (committed with the next batch)."""
        self._articles.pop(article, None)
        self._pending.append(article)

    def flush(self) -> None:
        """Commit deletions not yet saved with a batch (an article now without passages)."""
        if self._pending:
            self.commit([], np.zeros((0, self.dimension or 0), dtype=np.float32), [])

    def commit(self, rows: list[dict[str, Any]], matrix: np.ndarray, texts: list[str]) -> None:
        """Add a batch of passages (whole articles, replacing their old passages) and save it."""
        name = f"{self.batches:06d}"
        _write_atomically(self.folder / f"{name}.npy", lambda fh: np.save(fh, matrix))
        batch = json.dumps({"rows": rows, "texts": texts, "deleted": self._pending}, ensure_ascii=False)
        _write_atomically(self.folder / f"{name}.json", lambda fh: fh.write(batch.encode()))
        self._pending = []
        self.batches += 1
        self._add(rows, matrix, texts)

    def articles(self) -> set[str]:
        return set(self._articles)

    def passages(self) -> tuple[list[dict[str, Any]], np.ndarray]:
        """Every passage row and its vector, article by article (sorted by id), in text order."""
        rows: list[dict[str, Any]] = []
        blocks: list[np.ndarray] = []
        for article in sorted(self._articles):
            article_rows, matrix, _texts = self._articles[article]
            rows.extend(article_rows)
            blocks.append(matrix)
        if not blocks:
            return rows, np.zeros((0, self.dimension or 0), dtype=np.float32)
        return rows, np.concatenate(blocks).astype(np.float32, copy=False)

    def keyword_texts(self) -> list[str]:
        """The keyword text of every passage, in the order of :meth:`passages`."""
        texts: list[str] = []
        for article in sorted(self._articles):
            rows, _matrix, known = self._articles[article]
            texts.extend(known if known is not None else map(keyword_text, rows))
        return texts

    def counts(self) -> dict[str, int]:
        """Passages per article."""
        return {article: len(rows) for article, (rows, _m, _t) in self._articles.items()}


def keyword_text(row: dict[str, Any]) -> str:
    """What BM25 indexes for a stored passage row: llama-index's embedding view of the node
    (the passage under its headline), as ``BM25Retriever`` takes it."""
    from llama_index.core.schema import MetadataMode
    from llama_index.core.vector_stores.utils import metadata_dict_to_node

    return str(metadata_dict_to_node(row).get_content(metadata_mode=MetadataMode.EMBED))


class PassageVectorStore(BasePydanticVectorStore):
    """llama-index's vector-store interface over a :class:`PassageLog` (and, with a Qdrant
    server, that server's collection too): what the ingestion pipeline adds and deletes."""

    stores_text: bool = True
    _log: PassageLog = PrivateAttr()
    _mirror: Any = PrivateAttr(default=None)

    def __init__(self, log: PassageLog, mirror: Any = None) -> None:
        super().__init__(stores_text=True)
        self._log = log
        self._mirror = mirror

    @classmethod
    def class_name(cls) -> str:
        return "PassageVectorStore"

    @property
    def client(self) -> Any:
        return None

    def add(self, nodes: Sequence[Any], **kwargs: Any) -> list[str]:
        from llama_index.core.schema import MetadataMode
        from llama_index.core.vector_stores.utils import node_to_metadata_dict

        rows = [node_to_metadata_dict(n) | {"node_id": n.node_id} for n in nodes]
        texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
        matrix = np.asarray([n.embedding for n in nodes], dtype=np.float32).reshape(len(nodes), -1)
        if self._mirror is not None:
            self._mirror.add(list(nodes))
        self._log.commit(rows, matrix, texts)
        return [n.node_id for n in nodes]

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        if self._mirror is not None:
            self._mirror.delete(ref_doc_id)
        self._log.delete(ref_doc_id)

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        raise NotImplementedError("search reads the published generation's files, not the build log")
