"""Where an index generation's passages live: one :class:`StoreBackend` seam, two implementations.

- :mod:`retrieval.backends.embedded` -- local files: llama-index's docstore, the BM25 indexes
  (the passage table) and the passage vectors (and a Qdrant server's collection at ``store.url``).
- :mod:`retrieval.backends.postgres` -- PostgreSQL + pgvector: one table per generation,
  published in the database so several processes (or machines) share one index.

:func:`open_backend` is the one place that reads ``store.backend``. Everything else -- the
reindex around an ingest (:func:`retrieval.index.build_generation`) and hybrid search over a
backend's :class:`retrieval.search.SearchSource` -- is shared, so the backends cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from config.settings import Settings
from retrieval.ingest import Ingested, Progress
from retrieval.models import Article
from retrieval.search import SearchSource


class StoreBackend(Protocol):
    """How one kind of store ingests, publishes, opens and follows index generations.

    A generation is a folder ``<data_dir>/index/gen-<stamp>`` holding at least its
    ``catalog.json``; what else it holds (or where its passages are) is the backend's business.
    """

    def reindexing(self) -> AbstractContextManager[None]:
        """Held for a whole reindex: excludes other processes the data directory's file lock
        cannot see (raise :class:`retrieval.ingest.ReindexBusy` when one holds it)."""
        ...

    def is_whole(self, generation: Path) -> bool:
        """Whether ``generation`` holds everything a search needs (else it is rebuilt)."""
        ...

    def upgrade(self, generation: Path) -> None:
        """Bring a whole, unchanged ``generation``'s files to the current format in place,
        without re-embedding, so that a kill part way leaves it as usable as before."""
        ...

    def ingest(
        self,
        folder: Path,
        current: Path | None,
        articles: Sequence[Article],
        embed_model: Any,
        rebuild: bool,
        progress: Progress | None,
    ) -> Ingested:
        """Fill the new generation ``folder`` with ``articles``, starting from ``current``
        (re-embedding only what changed) unless ``rebuild``."""
        ...

    def publish(self, folder: Path, ingested: Ingested) -> None:
        """Make the ingested generation the one other processes follow."""
        ...

    def discard(self, ingested: Ingested | None) -> None:
        """Undo what a failed run made in the store (its folder is removed by the next run)."""
        ...

    def open(self, generation: Path) -> SearchSource:
        """The search candidates of a whole generation."""
        ...

    def follow(self, index_root: Path) -> bool:
        """Point ``index_root/CURRENT`` at what another process published; True if it moved."""
        ...


def open_backend(settings: Settings) -> StoreBackend:
    """The configured backend (``store.backend``): the one place the choice is made."""
    if settings.store.backend == "postgres":
        from retrieval.backends.postgres import PostgresBackend

        return PostgresBackend(settings)
    from retrieval.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(settings)


__all__ = ["Ingested", "StoreBackend", "open_backend"]
