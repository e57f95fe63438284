"""The bot's state layer on SQLite and on PostgreSQL: same calls, same answers, migrations."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.state import MIGRATIONS, SourceStatus, StateStore, database, open_state
from config import Settings
from config.errors import RunFailed
from prompts.citations import Answer, Citation


def _settings(settings: Settings, backend: str) -> Settings:
    return settings.model_copy(update={"store": settings.store.model_copy(update={"backend": backend})})


@pytest.fixture(params=["sqlite", "postgres"])
def state_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "postgres":
        request.getfixturevalue("postgres_dsn")
        return _settings(settings, "postgres")
    return _settings(settings, "qdrant")


@pytest.fixture
def state(state_settings: Settings, tmp_path: Path) -> Iterator[StateStore]:
    store = open_state(state_settings, tmp_path / "newsdesk.sqlite3")
    yield store
    store.close()


def _answer(question: str, text: str = "It rained. [1]") -> Answer:
    cite = Citation(1, "doc-1", "Weather", "It rained.", 0, 10, "Daily", None, None, "k1")
    return Answer(question, text, (cite,), True, "extractive")


def test_a_fresh_database_is_migrated_to_the_latest_version(state: StateStore) -> None:
    assert state.version == len(MIGRATIONS)


def test_answers_give_threads_their_history(state: StateStore) -> None:
    ids = [
        state.record(
            _answer(f"Q{i}", f"A{i}"),
            message_ids=[100 + i],
            conversation="thread-1",
            guild_id=1,
            channel_id=2,
            user_id=3,
        )
        for i in range(4)
    ]
    assert len(set(ids)) == 4
    assert state.history("thread-1", 2) == [("Q2", "A2"), ("Q3", "A3")]
    assert state.conversation_of(101) == "thread-1"
    assert state.conversation_of(999) is None


def test_a_vote_is_stored_once_per_user_and_can_change(state: StateStore) -> None:
    state.record(
        _answer("Did it rain?"),
        message_ids=[7, 8],
        conversation="c",
        guild_id=None,
        channel_id=None,
        user_id=None,
    )
    assert state.vote(8, user_id=42, vote=1)
    assert state.vote(7, user_id=42, vote=-1)
    assert not state.vote(9, user_id=42, vote=1)
    [row] = state.feedback()
    assert (row["vote"], row["question"], row["citations"][0]["quote"]) == (-1, "Did it rain?", "It rained.")


def test_a_vote_the_database_cannot_take_is_one_line(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer holds SQLite's lock past the busy timeout: RunFailed with sqlite's words,
    for the bot to tell the voter (bot/discord/feedback.py), not sqlite3's OperationalError."""
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.1)
    path = tmp_path / "newsdesk.sqlite3"
    state = open_state(_settings(settings, "qdrant"), path)
    state.record(
        _answer("Q"), message_ids=[7], conversation="c", guild_id=None, channel_id=None, user_id=None
    )
    other = sqlite3.connect(str(path), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(
            RunFailed, match=r"^the bot's database cannot record the vote: database is locked$"
        ):
            state.vote(7, user_id=42, vote=1)
    finally:
        other.rollback()
        other.close()
    assert state.vote(7, user_id=42, vote=1)  # nothing half-done: the next vote goes in
    state.close()


def test_discord_snowflakes_fit(state: StateStore) -> None:
    big = 1_234_567_890_123_456_789
    state.record(_answer("Q"), message_ids=[big], conversation="c", guild_id=big, channel_id=big, user_id=big)
    assert state.vote(big, user_id=big, vote=1)


def test_source_status_keeps_the_last_check(state: StateStore) -> None:
    six, seven = "2026-11-30T06:00:00+00:00", "2026-11-30T07:00:00+00:00"
    agency = SourceStatus("agency", "urls", seven, seven, articles=3, fetched=3)
    state.source_checked(SourceStatus("wire", "feed", six, six, articles=10))
    state.source_checked(SourceStatus("wire", "feed", seven, six, "HTTP 503", articles=10))
    state.source_checked(agency)
    statuses = state.source_statuses()
    assert (statuses["wire"].ok, statuses["wire"].last_error) == (False, "HTTP 503")
    assert statuses["agency"] == agency


def test_reindex_jobs_are_recorded_with_their_outcome(state: StateStore) -> None:
    first = state.job_started()
    second = state.job_started(source="wire")
    state.job_finished(first, "done", "5 added")
    jobs = state.jobs()
    assert [j.job_id for j in jobs] == [second, first]
    assert (jobs[1].status, jobs[1].summary, jobs[0].status) == ("done", "5 added", "running")
    assert jobs[1].finished_at is not None and ":" in jobs[0].holder


def test_processes_starting_together_migrate_once(state_settings: Settings, tmp_path: Path) -> None:
    stores: list[StateStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            stores.append(open_state(state_settings, tmp_path / "shared.sqlite3"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and [s.version for s in stores] == [len(MIGRATIONS)] * 3
    assert stores[0].db.rows("SELECT version FROM newsdesk_schema ORDER BY version") == [
        (n,) for n in range(1, len(MIGRATIONS) + 1)
    ]
    for s in stores:
        s.close()


def test_the_first_bot_database_is_adopted_with_its_answers(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)  # the schema bot/discord/store.py created before migrations
    old.executescript(
        "CREATE TABLE answers (answer_id INTEGER PRIMARY KEY, conversation TEXT NOT NULL,"
        " guild_id INTEGER, channel_id INTEGER, user_id INTEGER, question TEXT NOT NULL,"
        " answer TEXT NOT NULL, citations TEXT NOT NULL, grounded INTEGER NOT NULL, mode TEXT NOT NULL,"
        " created_at REAL NOT NULL);"
        "CREATE TABLE answer_messages (message_id INTEGER PRIMARY KEY, answer_id INTEGER NOT NULL);"
        "CREATE TABLE votes (answer_id INTEGER NOT NULL, user_id INTEGER NOT NULL, vote INTEGER NOT NULL,"
        " created_at REAL NOT NULL, PRIMARY KEY (answer_id, user_id));"
        "INSERT INTO answers VALUES (1, 'c', 1, 2, 3, 'Old question?', 'Old answer.', '[]', 1,"
        " 'extractive', 0);"
        "INSERT INTO answer_messages VALUES (55, 1);"
    )
    old.commit()
    old.close()
    state = open_state(_settings(settings, "qdrant"), path)
    assert state.version == len(MIGRATIONS)
    assert state.history("c", 5) == [("Old question?", "Old answer.")]
    assert state.vote(55, user_id=9, vote=1)
    state.close()


def test_a_connection_the_postgres_server_dropped_is_replaced_before_the_next_answer(
    settings: Settings, postgres_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restart or failover of the database between two answers: the next is stored as usual."""
    import psycopg2

    import bot.state.database

    monkeypatch.setattr(bot.state.database, "_PING_AFTER_S", 0.0, raising=False)
    store = open_state(_settings(settings, "postgres"), tmp_path / "unused.sqlite3")
    try:
        store.record(
            _answer("Before"), message_ids=[1], conversation="t", guild_id=1, channel_id=2, user_id=3
        )
        admin = psycopg2.connect(postgres_dsn)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        admin.close()
        store.record(_answer("After"), message_ids=[2], conversation="t", guild_id=1, channel_id=2, user_id=3)
        assert [q for q, _ in store.history("t", 5)] == ["Before", "After"]
    finally:
        store.close()


def test_a_damaged_database_file_is_one_line_naming_it(settings: Settings, tmp_path: Path) -> None:
    from config.errors import RunFailed

    path = tmp_path / "newsdesk.sqlite3"
    path.write_bytes(b"not an SQLite file, e.g. a half-copied backup " * 4)
    with pytest.raises(RunFailed) as caught:  # was sqlite3.DatabaseError's traceback at 'newsdesk bot'
        open_state(_settings(settings, "qdrant"), path)
    assert str(caught.value) == (
        f"the bot's database {path} is damaged (file is not a database): restore it from a backup "
        "(docs/deploy.md), or move it aside and the bot starts a new one"
    )


def test_a_database_path_that_is_a_folder_is_one_line(settings: Settings, tmp_path: Path) -> None:
    from config.errors import RunFailed

    with pytest.raises(
        RunFailed, match=r"^the bot's database .* cannot be used: unable to open database file$"
    ):
        open_state(_settings(settings, "qdrant"), tmp_path)
