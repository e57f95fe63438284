"""Index generations in PostgreSQL: build, publish, follow, migrate.

Every reindex fills a new passage table (a copy of the current one, then llama-index's
ingestion pipeline upserts and deletes what changed) and publishes it in one transaction that
records its catalog and docstore in ``<table>_generations`` and marks it current. A run killed
half way leaves the last published generation current; its unpublished table is dropped by
the next run. Reindexing takes a PostgreSQL advisory lock, so of several bot processes (on
one or many machines) one reindexes at a time; the others follow the published generation
with :func:`sync_generation`, which mirrors its catalog into the local ``index/gen-*`` folder.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config.settings import Settings, StoreSettings
from retrieval import index
from retrieval.catalog import CATALOG_FILE, CURRENT_FILE, Catalog, current_generation, write_atomically
from retrieval.models import Article
from retrieval.pgstore import PG_FILE, PassageTable, connect, drop_table, generation_table, identifier
from retrieval.store import StoreError


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
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
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


def current(conn: Any, cfg: StoreSettings, with_docstore: bool = False) -> tuple[Generation, str] | None:
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
                raise index.ReindexBusy("another newsdesk process is reindexing this database")
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


def remove_unpublished(conn: Any, cfg: StoreSettings) -> None:
    """Drop passage tables left by runs that died before publishing."""
    from psycopg2 import sql

    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename ~ %s"
                " AND tablename NOT IN (SELECT vector_table FROM {})"
            ).format(identifier(generations_table(cfg))),
            (f"^data_{cfg.table}_g[0-9]{{8}}t[0-9]+z$",),
        )
        leftovers = [r[0] for r in cur.fetchall()]
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


def ingest(
    builder: Any, folder: Path, articles: list[Article], rebuild: bool, progress: index.Progress | None
) -> tuple[Catalog, int]:
    """``IndexBuilder._ingest`` for the postgres backend: a new table, published when whole."""
    settings: Settings = builder.settings
    cfg = settings.store
    stamp = folder.name.removeprefix("building-")
    with reindex_lock(cfg):
        conn = connect(cfg)
        try:
            ensure_schema(conn, cfg)
            remove_unpublished(conn, cfg)
            found = current(conn, cfg, with_docstore=True)
            if found and json.loads(found[0].catalog)["settings_key"] != index.settings_key(settings):
                rebuild = True
            docstore_path = folder / "docstore.json"
            docstore_path.unlink(missing_ok=True)
            if found and not rebuild:  # the database's docstore, whatever this folder held
                docstore_path.write_text(found[1], encoding="utf-8")
            table = PassageTable(cfg, _table_name(cfg, stamp), _embed_dim(builder.embed_model))
            try:
                catalog, embedded = _fill(
                    conn,
                    table,
                    builder,
                    folder,
                    articles,
                    found[0].table if found and not rebuild else None,
                    progress,
                )
                gen = Generation(f"gen-{stamp}", table.name, catalog_json(catalog))
                write_atomically(folder / PG_FILE, json.dumps({"table": table.name}))
                publish(conn, cfg, gen, docstore_path.read_text(encoding="utf-8"))
            except BaseException:
                with suppress(Exception):
                    conn.rollback()
                    drop_table(conn, table.name)
                    conn.commit()
                raise
            finally:
                table.close()
            return catalog, embedded
        finally:
            conn.close()


def _fill(
    conn: Any,
    table: PassageTable,
    builder: Any,
    folder: Path,
    articles: list[Article],
    source: str | None,
    progress: index.Progress | None,
) -> tuple[Catalog, int]:
    table.create()
    if source is not None:
        table.copy_from(conn, source)
        conn.commit()
    documents, embedded = run_pipeline(builder, folder, articles, table.store, progress)
    counts = table.finish(conn)
    conn.commit()
    counted = [_Counted(doc) for doc, n in counts.items() for _ in range(n)]
    catalog = index._catalog(articles, documents, counted, builder.settings)
    catalog.write(folder)
    return catalog, embedded


@dataclass(frozen=True, slots=True)
class _Counted:
    ref_doc_id: str


def run_pipeline(
    builder: Any, folder: Path, articles: list[Article], store: Any, progress: index.Progress | None
) -> tuple[list[Any], int]:
    """llama-index's ingestion pipeline into ``store``, as ``IndexBuilder._ingest`` runs it."""
    from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
    from llama_index.core.storage.docstore import SimpleDocumentStore

    from retrieval.passages import PassageParser, article_document

    docstore_path = folder / "docstore.json"
    docstore = (
        SimpleDocumentStore.from_persist_path(str(docstore_path))
        if docstore_path.exists()
        else SimpleDocumentStore()
    )
    counter = index._Counter(progress)
    parser = PassageParser(
        max_tokens=builder.settings.splitting.max_tokens,
        overlap=builder.settings.splitting.overlap_sentences,
        count_tokens=index._token_counter(builder.embed_model),
    )
    pipeline = IngestionPipeline(
        transformations=[parser, index._Planned(counter), builder.embed_model],
        docstore=docstore,
        vector_store=store,
        docstore_strategy=DocstoreStrategy.UPSERTS_AND_DELETE,
        disable_cache=True,
    )
    documents = [article_document(a) for a in articles]
    index._set_batch_callback(builder.embed_model, counter.embedded)
    try:
        pipeline.run(documents=documents)
    finally:
        index._set_batch_callback(builder.embed_model, None)
    docstore.persist(str(docstore_path))
    return documents, counter.done


def sync_generation(settings: Settings, index_root: Path) -> bool:
    """Point ``index/CURRENT`` at the generation published in the database; True if it moved.

    Skipped while a reindex of this data directory runs (it switches CURRENT itself).
    """
    conn = connect(settings.store)
    try:
        found = current(conn, settings.store)
    finally:
        conn.close()
    if found is None:
        return False
    gen = found[0]
    local = current_generation(index_root)
    if local is not None and local.name == gen.name:
        return False
    index_root.mkdir(parents=True, exist_ok=True)
    with (index_root / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
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
        found = current(conn, cfg)
    finally:
        conn.close()
    return found[0].name if found else None


def migrate_to_postgres(settings: Settings, index_root: Path, batch: int = 1000) -> tuple[str, int]:
    """Copy the current (Qdrant) generation, vectors included, into a published postgres one."""
    from retrieval.store import open_client

    source = current_generation(index_root)
    if source is None or generation_table(source) is not None:
        raise StoreError(f"no Qdrant index in {index_root} to migrate; run 'newsdesk index' first")
    target = settings.model_copy(update={"store": settings.store.model_copy(update={"backend": "postgres"})})
    cfg = target.store
    client = open_client(settings.store, source / "qdrant")
    try:
        nodes = index._all_nodes(client, settings.store.collection)
    finally:
        client.close()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    previous = Catalog.read(source)
    catalog = dataclasses.replace(previous, settings_key=index.settings_key(target), store_url=None)
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
