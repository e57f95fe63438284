"""What an index generation holds, article by article: read without importing llama-index."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from config.settings import EmbeddingSettings
from retrieval.sources import CorpusError

CATALOG_FILE = "catalog.json"
CURRENT_FILE = "CURRENT"
#: Passage vectors of a generation, rows in the BM25 corpus order (float32, .npy).
DENSE_FILE = "dense.npy"
#: Keyword index over whole articles (title and text), one row per article.
ARTICLE_BM25 = "bm25_articles"
#: The bundled embedding model, as a generation records it.
MINILM_MODEL = "all-MiniLM-L6-v2-onnx-int8"
#: The model each local embedding provider records (retrieval.encoders).
LOCAL_MODELS = {
    "minilm": MINILM_MODEL,
    "minilm-l3": "paraphrase-MiniLM-L3-v2-onnx",
    "wordllama": "wordllama-l2-supercat-256",
}


class IndexMismatch(CorpusError):
    """The index was built by another embedder than the configured one: its vectors don't fit."""


def embedder_model(cfg: EmbeddingSettings) -> str:
    """The model name the configured embedder writes into a generation."""
    return LOCAL_MODELS.get(cfg.provider, cfg.model)


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    doc_id: str
    title: str
    outlet: str | None
    published: str | None
    url: str | None
    hash: str
    passages: int
    source: str = ""

    @property
    def published_date(self) -> date | None:
        return date.fromisoformat(self.published) if self.published else None


@dataclass(frozen=True, slots=True)
class Catalog:
    """The articles of one index generation and how it was built."""

    articles: dict[str, CatalogEntry]
    built_at: str
    embedder: str
    settings_key: str
    store_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: The embedder's model and vector size (None in generations built before they were recorded).
    embedding_model: str | None = None
    dimension: int | None = None

    @property
    def passages(self) -> int:
        return sum(e.passages for e in self.articles.values())

    @property
    def built(self) -> datetime:
        return datetime.fromisoformat(self.built_at)

    def check_embedder(self, cfg: EmbeddingSettings, dimension: int | None = None) -> None:
        """Raise :class:`IndexMismatch` unless ``cfg`` (and a query vector's ``dimension``)
        fit the vectors this generation was built with."""
        built = self.embedding_model
        wanted = embedder_model(cfg)
        if (
            self.embedder == cfg.provider
            and (built is None or built == wanted)
            and (dimension is None or self.dimension is None or dimension == self.dimension)
        ):
            return
        size = f", {self.dimension} dimensions" if self.dimension else ""
        asked = f", {dimension} dimensions" if dimension is not None else ""
        raise IndexMismatch(
            f"the index was built with the {self.embedder} embedder ({built or 'model not recorded'}{size}) "
            f"but the config asks for {cfg.provider} ({wanted}{asked}); run 'newsdesk index --rebuild'"
        )

    def write(self, folder: Path) -> None:
        data = asdict(self)
        data["articles"] = [asdict(e) for e in self.articles.values()]
        write_atomically(folder / CATALOG_FILE, json.dumps(data, indent=1))

    @classmethod
    def read(cls, folder: Path) -> Catalog:
        data = json.loads((folder / CATALOG_FILE).read_text(encoding="utf-8"))
        entries = {e["doc_id"]: CatalogEntry(**e) for e in data.pop("articles")}
        return cls(articles=entries, **data)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so a reader sees either the old or the new file, whole."""
    with replacing(path) as fh:
        fh.write(text)


@contextmanager
def replacing(path: Path, temporary: str | None = None, binary: bool = False) -> Iterator[IO[Any]]:
    """A file to write that replaces ``path`` whole when the block ends (flushed to disk), so a
    reader sees the old file or the new one. When writing fails (a full disk) the partial file is
    removed, so a full disk is not left fuller, ``path`` is untouched, and the OSError names
    ``path`` (a failed write() names no file). A killed process leaves the partial file: the
    next write of ``path`` truncates and replaces it."""
    tmp = path.with_name(temporary or f".{path.name}.tmp")
    try:
        with tmp.open("wb" if binary else "w", encoding=None if binary else "utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def current_generation(index_root: Path) -> Path | None:
    """The folder of the last complete index, or None when there is none."""
    try:
        name = (index_root / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    folder = index_root / name
    return folder if name and (folder / CATALOG_FILE).is_file() else None
