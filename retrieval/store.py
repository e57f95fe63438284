"""The vector store adapter: the one module that talks to Qdrant.

With a Qdrant server (``store.url``), indexing also goes through llama-index's
``QdrantVectorStore``; searching queries the same collection with ``qdrant-client`` directly so
that answering a question does not pay for importing all of llama-index (about 1.5 s on a fresh
process here). Local mode is only read: generations built before the embedded backend stopped
writing a Qdrant collection, and benchmarks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from config.errors import RunFailed
from config.settings import Settings, StoreSettings
from retrieval.models import Passage
from retrieval.splitting import join_spans

DENSE_VECTOR = "text-dense"  # llama-index's dense vector name when vectors are named


class StoreError(RunFailed, RuntimeError):
    """The vector store cannot be opened or queried; the message says why."""


def open_client(cfg: StoreSettings, local_path: Path) -> Any:
    """A Qdrant client: the configured server, or embedded local mode under ``local_path``."""
    from qdrant_client import QdrantClient

    if cfg.url:
        # no version check: one more request at every open, and a warning when the server is down
        return QdrantClient(
            url=cfg.url, api_key=Settings.secret(cfg.api_key_env), timeout=30, check_compatibility=False
        )
    try:
        return QdrantClient(path=str(local_path))
    except RuntimeError as exc:  # portalocker: another process holds the folder
        raise StoreError(
            f"the index at {local_path} is open in another newsdesk process (a running bot?); "
            "stop it or use a different --data-dir"
        ) from exc


@contextmanager
def server_trouble(cfg: StoreSettings) -> Iterator[None]:
    """A Qdrant server that cannot be reached or refuses (a wrong API key) as one
    :class:`StoreError` line, not the client's traceback."""
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    try:
        yield
    except ResponseHandlingException as exc:  # connection refused, DNS, timeout
        raise StoreError(f"cannot reach the Qdrant server at {cfg.url}: {exc}") from None
    except UnexpectedResponse as exc:
        raise StoreError(
            f"the Qdrant server at {cfg.url} answered HTTP {exc.status_code} ({exc.reason_phrase})"
            + (f"; check ${cfg.api_key_env}" if exc.status_code in (401, 403) else "")
        ) from None


def vector_store(cfg: StoreSettings, client: Any) -> Any:
    """llama-index's Qdrant vector store over ``client`` (dense only; BM25 is kept separately)."""
    import warnings

    from llama_index.vector_stores.qdrant import QdrantVectorStore

    with warnings.catch_warnings():  # local mode says payload indexes are a server feature
        warnings.filterwarnings("ignore", message="Payload indexes have no effect")
        return QdrantVectorStore(collection_name=cfg.collection, client=client, enable_hybrid=False)


def stored_date(value: Any) -> date | None:
    """A stored ISO date string as a date (None when absent or malformed)."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def passage_from_payload(key: str, payload: dict[str, Any]) -> Passage:
    """A passage from the payload llama-index stores with each point (``_node_content``)."""
    node = json.loads(payload["_node_content"])
    return passage_from_fields(
        key, node.get("metadata", {}), node.get("text", ""), node, payload.get("ref_doc_id")
    )


def passage_from_fields(
    key: str, meta: dict[str, Any], text: str, offsets: dict[str, Any], ref_doc_id: str | None
) -> Passage:
    """A passage from its metadata fields, text, offsets (``start_char_idx``/``end_char_idx``)
    and source document id: what every backend's row or payload holds, however laid out."""
    return Passage(
        key=key,
        doc_id=meta.get("article_id") or ref_doc_id or "",
        title=meta.get("title", ""),
        text=text,
        start=int(offsets.get("start_char_idx") or 0),
        end=int(offsets.get("end_char_idx") or 0),
        outlet=meta.get("outlet"),
        published=stored_date(meta.get("published")),
        url=meta.get("url"),
        sentences=tuple(join_spans(text, [(int(a), int(b)) for a, b in meta.get("sentences") or ()])),
    )


@dataclass(frozen=True, slots=True)
class DenseHit:
    key: str
    score: float
    payload: dict[str, Any]


class DenseSearcher:
    """Nearest passages by cosine similarity, optionally within a publication date range."""

    def __init__(self, cfg: StoreSettings, local_path: Path) -> None:
        self._cfg = cfg
        self._client = open_client(cfg, local_path)
        self._using: str | None = None
        with server_trouble(cfg):
            if self._client.collection_exists(cfg.collection):
                vectors = self._client.get_collection(cfg.collection).config.params.vectors
                self._using = DENSE_VECTOR if isinstance(vectors, dict) else None

    def search(
        self, vector: np.ndarray, limit: int, since: date | None = None, until: date | None = None
    ) -> list[DenseHit]:
        from qdrant_client import models

        query_filter = None
        if since or until:
            query_filter = models.Filter(
                must=[
                    models.FieldCondition(
                        key="published",
                        range=models.DatetimeRange(
                            gte=since,
                            lte=until,
                        ),
                    )
                ]
            )
        try:
            with server_trouble(self._cfg):
                response = self._client.query_points(
                    collection_name=self._cfg.collection,
                    query=vector.tolist(),
                    using=self._using,
                    limit=limit,
                    query_filter=query_filter,
                    with_payload=True,
                )
        except ValueError as exc:  # local mode: collection missing
            raise StoreError(f"the vector collection cannot be searched: {exc}") from exc
        return [DenseHit(str(p.id), float(p.score), p.payload or {}) for p in response.points]

    def close(self) -> None:
        self._client.close()


def all_nodes(client: Any, collection: str) -> list[Any]:
    """Every passage node of a Qdrant collection, vectors included, in article/text order."""
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
