"""The PostgreSQL + pgvector backend: index generations built, published, followed, migrated.

Every reindex fills a new passage table (a copy of the current one, then llama-index's
ingestion pipeline upserts and deletes what changed) and publishes it in one transaction that
records its catalog and docstore in ``<table>_generations`` and marks it current. A run killed
half way leaves the last published generation current and its unpublished table in place:
the next run resumes it when it builds the same thing (the index layer keeps the generation
folder, :func:`retrieval.index.build_generation`), skipping the articles of every batch the
table committed (the folder's docstore is saved after each batch), else drops it. Reindexing
takes a PostgreSQL advisory lock, so of several bot processes (on one or many machines) one
reindexes at a time; the others follow the published generation with :func:`sync_generation`,
which mirrors its catalog into the local ``index/gen-*`` folder. Search runs in the database
(:class:`retrieval.pgsearch.PgSearcher`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.redaction import redact
from config.settings import Settings, StoreSettings
from retrieval.catalog import CATALOG_FILE, CURRENT_FILE, Catalog, current_generation, write_atomically
from retrieval.ingest import (
    Ingested,
    Progress,
    ReindexBusy,
    build_catalog,
    new_stamp,
    recorded_articles,
    run_pipeline,
    settings_key,
    unless_reindexing,
)
from retrieval.models import Article
from retrieval.pgsearch import PgSearcher, open_pg_searcher
from retrieval.pgstore import (
    PG_FILE,
    PassageTable,
    connect,
    drop_table,
    generation_table,
    identifier,
    table_exists,
)
from retrieval.store import StoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Generation:
    name: str
    table: str
    catalog: str


def generations_table(cfg: StoreSettings) -> str:
    return f"{cfg.table}_generations"


def _lock_key(cfg: StoreSettings) -> str:
    return f"newsdesk-reindex:{cfg.table}"


def ensure_schema(conn: Any, cfg: StoreSettings) -> None:
    from psycopg2 import sql

    gens = identifier(generations_table(cfg))
    _ensure_pgvector(conn)
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (name TEXT PRIMARY KEY, vector_table TEXT NOT NULL,"
                " catalog TEXT NOT NULL, docstore TEXT NOT NULL, current BOOLEAN NOT NULL DEFAULT FALSE,"
                " published_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            ).format(gens)
        )
        cur.execute(
            sql.SQL("CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} (current) WHERE current").format(
                identifier(f"{generations_table(cfg)}_one_current"), gens
            )
        )
    conn.commit()


def _ensure_pgvector(conn: Any) -> None:
    """The ``vector`` extension in this database: created when missing and the role may, else
    one line saying who must do what (a role that is not superuser cannot create it)."""
    import psycopg2

    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
        if cur.fetchone():
            return
        try:
            cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg2.Error as exc:
            conn.rollback()
            detail = " ".join(str(exc).split())
            if isinstance(exc, psycopg2.errors.InsufficientPrivilege):
                reason = "this role may not create it; as a superuser run: CREATE EXTENSION vector;"
            else:
                reason = f"it could not be created ({detail}); install pgvector (0.8 or later) on the server"
            raise StoreError(
                f"the PostgreSQL database {conn.info.dbname} has no pgvector extension: {reason}"
            ) from None


def published(conn: Any, cfg: StoreSettings, with_docstore: bool = False) -> tuple[Generation, str] | None:
    """The published generation (and its docstore JSON when asked), or None."""
    import psycopg2
    from psycopg2 import sql

    docstore = sql.SQL("docstore" if with_docstore else "''")
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("SELECT name, vector_table, catalog, {} FROM {} WHERE current").format(
                    docstore, identifier(generations_table(cfg))
                )
            )
            row = cur.fetchone()
    except psycopg2.errors.UndefinedTable:
        conn.rollback()
        return None
    conn.rollback()
    return (Generation(row[0], row[1], row[2]), row[3]) if row else None


@contextmanager
def reindex_lock(cfg: StoreSettings) -> Iterator[None]:
    """The database-wide reindex lock (session advisory lock: a killed holder releases it)."""
    conn = connect(cfg, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (_lock_key(cfg),))
            if not cur.fetchone()[0]:
                raise ReindexBusy("another newsdesk process is reindexing this database")
        yield
    finally:
        conn.close()


def publish(conn: Any, cfg: StoreSettings, gen: Generation, docstore: str) -> None:
    """Make ``gen`` current in one transaction; drop tables older than the previous one."""
    from psycopg2 import sql

    gens = identifier(generations_table(cfg))
    with conn.cursor() as cur:
        cur.execute(sql.SQL("UPDATE {} SET current = FALSE WHERE current").format(gens))
        cur.execute(
            sql.SQL(
                "INSERT INTO {} (name, vector_table, catalog, docstore, current)"
                " VALUES (%s, %s, %s, %s, TRUE)"
            ).format(gens),
            (gen.name, gen.table, gen.catalog, docstore),
        )
        # the previous generation stays a while: other processes may still be searching it
        cur.execute(
            sql.SQL(
                "SELECT vector_table FROM {} WHERE NOT current ORDER BY published_at DESC OFFSET 1"
            ).format(gens)
        )
        stale = [r[0] for r in cur.fetchall()]
        cur.execute(sql.SQL("DELETE FROM {} WHERE vector_table = ANY(%s)").format(gens), (stale,))
    for table in stale:
        drop_table(conn, table)
    conn.commit()


def remove_unpublished(conn: Any, cfg: StoreSettings, keep: str | None = None) -> None:
    """Drop passage tables left by runs that died before publishing (but ``keep``, resumed)."""
    from psycopg2 import sql

    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename ~ %s"
                " AND tablename NOT IN (SELECT vector_table FROM {})"
            ).format(identifier(generations_table(cfg))),
            (f"^data_{cfg.table}_g[0-9]{{8}}t[0-9]+z$",),
        )
        leftovers = [r[0] for r in cur.fetchall() if r[0] != keep]
    for table in leftovers:
        drop_table(conn, table)
    conn.commit()


def catalog_json(catalog: Catalog) -> str:
    data = dataclasses.asdict(catalog)
    data["articles"] = [dataclasses.asdict(e) for e in catalog.articles.values()]
    return json.dumps(data, indent=1)


def _embed_dim(embed_model: Any) -> int:
    return len(embed_model.get_query_embedding("how many dimensions"))


def _table_name(cfg: StoreSettings, stamp: str) -> str:
    return f"{cfg.table}_g{stamp.lower()}"


def _committed() -> None:
    """The checkpoint hook: each add and delete of ``PGVectorStore`` is already a committed
    transaction, so once a batch is through, the docstore may record it."""


def _resumable(conn: Any, table: str, docstore: Path) -> tuple[set[str], int] | None:
    """Ready a killed run's table to go on: rows of articles its saved docstore does not
    record (the batch being added when it was killed) are deleted; the articles it holds
    passages of, and how many passages (None: the docstore is unreadable, start over)."""
    from llama_index.core.storage.docstore import SimpleDocumentStore
    from psycopg2 import sql

    try:
        saved = SimpleDocumentStore.from_persist_path(str(docstore))
    except (OSError, ValueError) as exc:
        log.warning("cannot resume the build of %s (%s); starting it again", table, exc)
        return None
    recorded = recorded_articles(saved)
    name = identifier(table)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT metadata_->>'ref_doc_id', count(*) FROM {} GROUP BY 1").format(name))
        held = {str(doc): int(n) for doc, n in cur.fetchall()}
        unsaved = [doc for doc in held if doc not in recorded]
        delete = sql.SQL("DELETE FROM {} WHERE metadata_->>'ref_doc_id' = ANY(%s)").format(name)
        cur.execute(delete, (unsaved,))
    conn.commit()
    kept = {doc: n for doc, n in held.items() if doc in recorded}
    return set(kept), sum(kept.values())


@contextmanager
def database_trouble() -> Iterator[None]:
    """The server going away (or failing a statement) part way through a reindex, from psycopg2
    or from SQLAlchemy under llama-index's PGVectorStore, as one line instead of a traceback."""
    import psycopg2

    try:
        yield
    except Exception as exc:
        cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
        if not isinstance(cause, psycopg2.OperationalError | psycopg2.InterfaceError):
            raise
        detail = redact(" ".join(str(cause).split()))
        raise StoreError(
            f"PostgreSQL failed during the reindex ({detail}); the published index keeps answering, "
            "and the next run goes on from its last saved batch"
        ) from None


class PostgresBackend:
    """Generations as tables published in PostgreSQL; see the module docstring."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cfg = settings.store

    def reindexing(self) -> Any:
        return reindex_lock(self.cfg)

    def is_whole(self, generation: Path) -> bool:
        return (generation / PG_FILE).is_file()  # passages and docstore are in the database

    def upgrade(self, generation: Path) -> None:
        pass  # its rows' sentence spans are joined as they are read

    @database_trouble()
    def ingest(
        self,
        folder: Path,
        current: Path | None,
        articles: Sequence[Article],
        embed_model: Any,
        rebuild: bool,
        progress: Progress | None,
    ) -> Ingested:
        """A new table: a copy of the published one, then the pipeline's upserts and deletes,
        ``store.batch_articles`` at a time. A folder whose table a killed run left (with the
        docstore it saved after its last committed batch) is that run resumed."""
        cfg = self.cfg
        folder.mkdir(parents=True, exist_ok=True)
        stamp = folder.name.removeprefix("building-")
        docstore = folder / "docstore.json"
        conn = connect(cfg)
        try:
            ensure_schema(conn, cfg)
            table = PassageTable(cfg, _table_name(cfg, stamp), _embed_dim(embed_model))
            try:
                resuming = docstore.is_file() and table_exists(conn, table.name)
                held = _resumable(conn, table.name, docstore) if resuming else None
                remove_unpublished(conn, cfg, keep=table.name if held is not None else None)
                found = published(conn, cfg, with_docstore=True)
                if found and json.loads(found[0].catalog)["settings_key"] != settings_key(self.settings):
                    rebuild = True
                if held is not None:
                    log.warning("resuming the build of %s: %d passages were saved", table.name, held[1])
                else:
                    docstore.unlink(missing_ok=True)  # its table is gone: start over
                    table.create()
                    if found and not rebuild:
                        table.copy_from(conn, found[0].table)
                        conn.commit()
                        # written once the copy is committed: a folder with a docstore and a
                        # table is resumable (the database's docstore, whatever this machine holds)
                        write_atomically(docstore, found[1])
                documents, embedded = run_pipeline(
                    self.settings,
                    embed_model,
                    docstore,
                    articles,
                    table.store,
                    progress,
                    after_batch=_committed,
                    batch_articles=self.settings.store.batch_articles,
                    held=held[0] if held else None,
                )
                counts = table.finish(conn)
                conn.commit()
                catalog = build_catalog(articles, documents, counts, self.settings)
                catalog.write(folder)
                write_atomically(folder / PG_FILE, json.dumps({"table": table.name}))
            finally:
                table.close()
        finally:
            conn.close()
        return Ingested(catalog, embedded, (table.name, f"gen-{stamp}"))

    def publish(self, folder: Path, ingested: Ingested) -> None:
        table, name = ingested.handle
        docstore = (folder / "docstore.json").read_text(encoding="utf-8")
        conn = connect(self.cfg)
        try:
            with database_trouble():
                publish(conn, self.cfg, Generation(name, table, catalog_json(ingested.catalog)), docstore)
        finally:
            conn.close()

    def discard(self, ingested: Ingested | None) -> None:
        # an unfinished table stays for the next run to resume (or drop); a whole one is dropped
        if ingested is not None and ingested.handle is not None:
            self._drop(ingested.handle[0])

    def _drop(self, table: str) -> None:
        with suppress(Exception):
            conn = connect(self.cfg)
            try:
                drop_table(conn, table)
                conn.commit()
            finally:
                conn.close()

    def open(self, generation: Path) -> PgSearcher:
        return open_pg_searcher(generation, self.cfg)

    def follow(self, index_root: Path) -> bool:
        return sync_generation(self.settings, index_root)


def sync_generation(settings: Settings, index_root: Path) -> bool:
    """Point ``index/CURRENT`` at the generation published in the database; True if it moved.

    Skipped while a reindex of this data directory runs (it switches CURRENT itself).
    """
    conn = connect(settings.store)
    try:
        found = published(conn, settings.store)
    finally:
        conn.close()
    if found is None:
        return False
    gen = found[0]
    local = current_generation(index_root)
    if local is not None and local.name == gen.name:
        return False
    with unless_reindexing(index_root) as free:
        if not free:
            return False
        _materialize(index_root, gen)
        write_atomically(index_root / CURRENT_FILE, gen.name)
    for old in index_root.glob("gen-*"):
        if old.name != gen.name and generation_table(old) is not None:
            shutil.rmtree(old, ignore_errors=True)
    return True


def _materialize(index_root: Path, gen: Generation) -> None:
    target = index_root / gen.name
    if (target / CATALOG_FILE).is_file():
        return
    shutil.rmtree(target, ignore_errors=True)
    tmp = index_root / f"syncing-{gen.name}-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    write_atomically(tmp / CATALOG_FILE, gen.catalog)
    write_atomically(tmp / PG_FILE, json.dumps({"table": gen.table}))
    tmp.rename(target)


def published_generation(cfg: StoreSettings) -> str | None:
    """The name of the generation published in the database (None when there is none)."""
    conn = connect(cfg)
    try:
        found = published(conn, cfg)
    finally:
        conn.close()
    return found[0].name if found else None


def migrate_to_postgres(settings: Settings, index_root: Path, batch: int = 1000) -> tuple[str, int]:
    """Copy the current (embedded) generation, vectors included, into a published postgres one."""
    from retrieval.backends.embedded import generation_nodes

    source = current_generation(index_root)
    if source is None or generation_table(source) is not None:
        raise StoreError(f"no Qdrant index in {index_root} to migrate; run 'newsdesk index' first")
    target = settings.model_copy(update={"store": settings.store.model_copy(update={"backend": "postgres"})})
    cfg = target.store
    nodes = generation_nodes(source)
    stamp = new_stamp()
    previous = Catalog.read(source)
    catalog = dataclasses.replace(previous, settings_key=settings_key(target), store_url=None)
    docstore = (source / "docstore.json").read_text(encoding="utf-8")
    with reindex_lock(cfg):
        conn = connect(cfg)
        table = PassageTable(cfg, _table_name(cfg, stamp), len(nodes[0].embedding) if nodes else 384)
        try:
            ensure_schema(conn, cfg)
            table.create()
            for start in range(0, len(nodes), batch):
                table.store.add(nodes[start : start + batch])
            table.finish(conn)
            conn.commit()
            publish(conn, cfg, Generation(f"gen-{stamp}", table.name, catalog_json(catalog)), docstore)
        except BaseException:
            with suppress(Exception):
                conn.rollback()
                drop_table(conn, table.name)
                conn.commit()
            raise
        finally:
            table.close()
            conn.close()
    return f"gen-{stamp}", len(nodes)
