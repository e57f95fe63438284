"""Numbered schema migrations, applied in order, each once, in one transaction per database.

Version 1 is the schema of the bot's first SQLite file (``answers``, ``answer_messages``,
``votes``, created with IF NOT EXISTS), so an existing ``newsdesk.sqlite3`` adopts it as is.
Add a migration by appending to :data:`MIGRATIONS`; never edit a released one.
"""

from __future__ import annotations

import time

from bot.state.database import Database, Transaction

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: answers as posted, the messages they were posted in, votes on them
        """CREATE TABLE IF NOT EXISTS answers (
            answer_id {serial}, conversation TEXT NOT NULL,
            guild_id {bigint}, channel_id {bigint}, user_id {bigint},
            question TEXT NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL,
            grounded INTEGER NOT NULL, mode TEXT NOT NULL, created_at {real} NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS answers_by_conversation ON answers (conversation, answer_id)",
        """CREATE TABLE IF NOT EXISTS answer_messages (
            message_id {bigint} PRIMARY KEY,
            answer_id {bigint} NOT NULL REFERENCES answers (answer_id))""",
        """CREATE TABLE IF NOT EXISTS votes (
            answer_id {bigint} NOT NULL REFERENCES answers (answer_id),
            user_id {bigint} NOT NULL, vote INTEGER NOT NULL, created_at {real} NOT NULL,
            PRIMARY KEY (answer_id, user_id))""",
    ),
    (  # 2: how each configured source fared, and every reindex run
        """CREATE TABLE source_status (
            source TEXT PRIMARY KEY, checked_at {real} NOT NULL, ok INTEGER NOT NULL,
            articles INTEGER NOT NULL, error TEXT)""",
        """CREATE TABLE reindex_jobs (
            job_id {serial}, kind TEXT NOT NULL, source TEXT, holder TEXT NOT NULL,
            status TEXT NOT NULL, started_at {real} NOT NULL, finished_at {real}, summary TEXT)""",
        "CREATE INDEX reindex_jobs_by_status ON reindex_jobs (status, job_id)",
    ),
    (  # 3: the whole status of a source's last refresh (retrieval.collecting.SourceStatus, JSON)
        "ALTER TABLE source_status ADD COLUMN status TEXT",
    ),
)

_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS newsdesk_schema (version INTEGER PRIMARY KEY, applied_at {real} NOT NULL)"
)


def _serialise(tx: Transaction, dialect: str) -> None:
    """Two processes starting at once: the second waits, then finds the work done."""
    if dialect == "postgres":
        tx.run("SELECT pg_advisory_xact_lock(hashtext('newsdesk-state-migrations'))")
    # SQLite: the transaction began with BEGIN IMMEDIATE, which already excludes other writers


def migrate(db: Database) -> int:
    """Apply the migrations ``db`` lacks; returns its schema version."""
    with db.transaction() as tx:
        _serialise(tx, db.dialect)
        tx.run(db.ddl(_VERSIONS))
        row = tx.one("SELECT COALESCE(MAX(version), 0) FROM newsdesk_schema")
        version = int(row[0]) if row else 0
        for number, statements in enumerate(MIGRATIONS, 1):
            if number <= version:
                continue
            for statement in statements:
                tx.run(db.ddl(statement))
            tx.run("INSERT INTO newsdesk_schema (version, applied_at) VALUES (?, ?)", (number, time.time()))
            version = number
    return version
