"""What the bot remembers: answers and votes, conversations, source status, reindex jobs.

The answer methods keep the signatures of the bot's first ``AnswerLog`` so the Discord front
end can switch to :class:`StateStore` without other changes. A maintainer reviews bad answers
with plain SQL, e.g. ``SELECT question, answer, citations FROM answers JOIN votes USING
(answer_id) WHERE vote < 0``.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.state.database import Database, open_database
from bot.state.migrations import migrate
from config.errors import RunFailed, one_line
from config.settings import Settings
from prompts.citations import Answer
from retrieval.collecting import SourceStatus


@dataclass(frozen=True, slots=True)
class ReindexJob:
    job_id: int
    kind: str
    source: str | None
    holder: str
    status: str
    started_at: float
    finished_at: float | None
    summary: str | None


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class StateStore:
    """The state database, migrated on open; safe to call from worker threads."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.version = migrate(db)

    # -- answers, conversations, feedback (the AnswerLog interface) ------------------------

    def record(
        self,
        answer: Answer,
        *,
        message_ids: list[int],
        conversation: str,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int | None,
    ) -> int:
        """Store ``answer`` as posted in ``message_ids``; returns its answer id."""
        citations = json.dumps([c.to_json() for c in answer.citations], ensure_ascii=False)
        row = (
            conversation,
            guild_id,
            channel_id,
            user_id,
            answer.question,
            answer.text,
            citations,
            int(answer.grounded),
            answer.mode,
            time.time(),
        )
        with self.db.transaction() as tx:
            found = tx.one(
                "INSERT INTO answers (conversation, guild_id, channel_id, user_id, question, answer,"
                " citations, grounded, mode, created_at) VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING answer_id",
                row,
            )
            answer_id = int(found[0]) if found else 0
            for message_id in message_ids:
                tx.run(
                    "INSERT INTO answer_messages (message_id, answer_id) VALUES (?, ?)"
                    " ON CONFLICT (message_id) DO UPDATE SET answer_id = excluded.answer_id",
                    (message_id, answer_id),
                )
        return answer_id

    def conversation_of(self, message_id: int) -> str | None:
        """The conversation a posted message belongs to, or None if the bot never posted it."""
        row = self.db.one(
            "SELECT conversation FROM answers JOIN answer_messages USING (answer_id) WHERE message_id = ?",
            (message_id,),
        )
        return str(row[0]) if row else None

    def history(self, conversation: str, limit: int) -> list[tuple[str, str]]:
        """The last ``limit`` (question, answer) turns of ``conversation``, oldest first."""
        rows = self.db.rows(
            "SELECT question, answer FROM answers WHERE conversation = ? ORDER BY answer_id DESC LIMIT ?",
            (conversation, limit),
        )
        return [(q, a) for q, a in reversed(rows)]

    def vote(self, message_id: int, user_id: int, vote: int) -> bool:
        """Record ``user_id``'s vote (+1/-1) on the answer in ``message_id``; False if unknown.
        A database that fails the write (locked past its busy timeout, down) is :class:`RunFailed`."""
        try:
            with self.db.transaction() as tx:
                row = tx.one("SELECT answer_id FROM answer_messages WHERE message_id = ?", (message_id,))
                if row is None:
                    return False
                tx.run(
                    "INSERT INTO votes (answer_id, user_id, vote, created_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (answer_id, user_id) DO UPDATE SET vote = excluded.vote,"
                    " created_at = excluded.created_at",
                    (row[0], user_id, vote, time.time()),
                )
        except self.db.failures as exc:
            raise RunFailed(f"the bot's database cannot record the vote: {one_line(exc)}") from exc
        return True

    def feedback(self) -> list[dict[str, Any]]:
        """Every vote with its question, answer and citations (newest first), for review."""
        rows = self.db.rows(
            "SELECT v.vote, v.user_id, a.question, a.answer, a.citations FROM votes v"
            " JOIN answers a USING (answer_id) ORDER BY v.created_at DESC"
        )
        keys = ("vote", "user_id", "question", "answer", "citations")
        return [dict(zip(keys, row, strict=True)) | {"citations": json.loads(row[4])} for row in rows]

    # -- sources -----------------------------------------------------------------------------

    def source_checked(self, status: SourceStatus) -> None:
        """Remember how the last refresh of a source went (every bot sharing the database sees it)."""
        with self.db.transaction() as tx:
            tx.run(
                "INSERT INTO source_status (source, checked_at, ok, articles, error, status)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT (source) DO UPDATE SET"
                " checked_at = excluded.checked_at, ok = excluded.ok, articles = excluded.articles,"
                " error = excluded.error, status = excluded.status",
                (
                    status.name,
                    time.time(),
                    int(status.ok),
                    status.articles,
                    status.last_error,
                    json.dumps(status.to_json()),
                ),
            )

    def source_statuses(self) -> dict[str, SourceStatus]:
        """Each source's last refresh, by name."""
        rows = self.db.rows(
            "SELECT source, checked_at, ok, articles, error, status FROM source_status ORDER BY source"
        )
        found: dict[str, SourceStatus] = {}
        for name, checked_at, ok, articles, error, status in rows:
            try:
                found[name] = SourceStatus.from_json(json.loads(status))
            except (TypeError, ValueError):  # a row from before migration 3
                when = datetime.fromtimestamp(float(checked_at), UTC).isoformat(timespec="seconds")
                found[name] = SourceStatus(
                    name, "", when, when if ok else None, error, articles=int(articles)
                )
        return found

    # -- reindex jobs --------------------------------------------------------------------------

    def job_started(self, kind: str = "reindex", source: str | None = None) -> int:
        """Record a reindex that starts now (in this process); returns its job id."""
        with self.db.transaction() as tx:
            row = tx.one(
                "INSERT INTO reindex_jobs (kind, source, holder, status, started_at)"
                " VALUES (?, ?, ?, 'running', ?) RETURNING job_id",
                (kind, source, _holder(), time.time()),
            )
        return int(row[0]) if row else 0

    def job_finished(self, job_id: int, status: str, summary: str | None = None) -> None:
        """Close job ``job_id`` as ``done``, ``failed``, ``stopped`` (the bot shut down) or ``busy``,
        with a one-line summary."""
        with self.db.transaction() as tx:
            tx.run(
                "UPDATE reindex_jobs SET status = ?, finished_at = ?, summary = ? WHERE job_id = ?",
                (status, time.time(), summary, job_id),
            )

    def jobs(self, limit: int = 20) -> list[ReindexJob]:
        """The latest reindex jobs of every process, newest first."""
        rows = self.db.rows(
            "SELECT job_id, kind, source, holder, status, started_at, finished_at, summary"
            " FROM reindex_jobs ORDER BY job_id DESC LIMIT ?",
            (limit,),
        )
        return [
            ReindexJob(
                int(r[0]), r[1], r[2], r[3], r[4], float(r[5]), None if r[6] is None else float(r[6]), r[7]
            )
            for r in rows
        ]

    def close(self) -> None:
        self.db.close()


def open_state(settings: Settings, sqlite_path: Path | str) -> StateStore:
    """The bot's state: SQLite at ``sqlite_path``, or the index's PostgreSQL on backend postgres.
    An SQLite file that cannot be used is :class:`RunFailed`: one line naming it, not a traceback."""
    try:
        return StateStore(open_database(settings.store, sqlite_path))
    except sqlite3.OperationalError as exc:  # read-only, a folder, no room, locked too long
        raise RunFailed(f"the bot's database {sqlite_path} cannot be used: {exc}") from None
    except sqlite3.DatabaseError as exc:  # not a database, or a malformed one
        raise RunFailed(
            f"the bot's database {sqlite_path} is damaged ({exc}): restore it from a backup "
            "(docs/deploy.md), or move it aside and the bot starts a new one"
        ) from None
