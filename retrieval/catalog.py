"""What an index generation holds, article by article: read without importing llama-index."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

CATALOG_FILE = "catalog.json"
CURRENT_FILE = "CURRENT"
#: Passage vectors of a generation, rows in the BM25 corpus order (float32, .npy).
DENSE_FILE = "dense.npy"
#: Keyword index over whole articles (title and text), one row per article.
ARTICLE_BM25 = "bm25_articles"


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

    @property
    def passages(self) -> int:
        return sum(e.passages for e in self.articles.values())

    @property
    def built(self) -> datetime:
        return datetime.fromisoformat(self.built_at)

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
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def current_generation(index_root: Path) -> Path | None:
    """The folder of the last complete index, or None when there is none."""
    try:
        name = (index_root / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    folder = index_root / name
    return folder if name and (folder / CATALOG_FILE).is_file() else None
