"""The bot's local database: every answer it posted, and the 👍/👎 votes on them.

A maintainer reviews bad answers with plain SQL, e.g.
``SELECT question, answer, citations FROM answers JOIN votes USING (answer_id) WHERE vote < 0``.
The same table gives a thread its conversation history for follow-up questions.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from prompts.citations import Answer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    answer_id INTEGER PRIMARY KEY,
    conversation TEXT NOT NULL,
    guild_id INTEGER, channel_id INTEGER, user_id INTEGER,
    question TEXT NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL,
    grounded INTEGER NOT NULL, mode TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_by_conversation ON answers (conversation, answer_id);
CREATE TABLE IF NOT EXISTS answer_messages (
    message_id INTEGER PRIMARY KEY,
    answer_id INTEGER NOT NULL REFERENCES answers (answer_id)
);
CREATE TABLE IF NOT EXISTS votes (
    answer_id INTEGER NOT NULL REFERENCES answers (answer_id),
    user_id INTEGER NOT NULL, vote INTEGER NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (answer_id, user_id)
);
"""


class AnswerLog:
    """SQLite store of posted answers and feedback; safe to call from worker threads."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.executescript(_SCHEMA)

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
        row = (conversation, guild_id, channel_id, user_id, answer.question, answer.text,
               citations, int(answer.grounded), answer.mode, time.time())
        with self._lock, self._db:
            cur = self._db.execute(
                "INSERT INTO answers (conversation, guild_id, channel_id, user_id, question,"
                " answer, citations, grounded, mode, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                row,
            )
            answer_id = int(cur.lastrowid or 0)
            self._db.executemany(
                "INSERT OR REPLACE INTO answer_messages VALUES (?, ?)",
                [(mid, answer_id) for mid in message_ids],
            )
        return answer_id

    def conversation_of(self, message_id: int) -> str | None:
        """The conversation a posted message belongs to, or None if the bot never posted it."""
        with self._lock:
            row = self._db.execute(
                "SELECT conversation FROM answers JOIN answer_messages USING (answer_id)"
                " WHERE message_id = ?",
                (message_id,),
            ).fetchone()
        return row[0] if row else None

    def history(self, conversation: str, limit: int) -> list[tuple[str, str]]:
        """The last ``limit`` (question, answer) turns of ``conversation``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT question, answer FROM answers WHERE conversation = ?"
                " ORDER BY answer_id DESC LIMIT ?",
                (conversation, limit),
            ).fetchall()
        return [(q, a) for q, a in reversed(rows)]

    def vote(self, message_id: int, user_id: int, vote: int) -> bool:
        """Record ``user_id``'s vote (+1/-1) on the answer in ``message_id``; False if unknown."""
        with self._lock, self._db:
            row = self._db.execute(
                "SELECT answer_id FROM answer_messages WHERE message_id = ?", (message_id,)
            ).fetchone()
            if row is None:
                return False
            self._db.execute(
                "INSERT OR REPLACE INTO votes VALUES (?, ?, ?, ?)",
                (row[0], user_id, vote, time.time()),
            )
        return True

    def feedback(self) -> list[dict]:
        """Every vote with its question, answer and citations (newest first), for review."""
        with self._lock:
            rows = self._db.execute(
                "SELECT v.vote, v.user_id, a.question, a.answer, a.citations FROM votes v"
                " JOIN answers a USING (answer_id) ORDER BY v.created_at DESC"
            ).fetchall()
        keys = ("vote", "user_id", "question", "answer", "citations")
        return [dict(zip(keys, row, strict=True)) | {"citations": json.loads(row[4])}
                for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
