"""Reading the PostgreSQL DSN from the environment, and what every connection is opened with."""

from __future__ import annotations

from typing import Any

import pytest

from config import Settings
from config.errors import UserError
from retrieval.pgstore import dsn


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://newsdesk:Wr@ngPw99@db.example:5432/newsdesk",
        "postgres://newsdesk:a@b:c@d@db.example/newsdesk",
    ],
)
def test_a_password_with_a_bare_at_sign_is_one_line_without_the_password(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """libpq splits at the first '@' and would quote the password's tail as a host name."""
    monkeypatch.setenv(settings.store.postgres_dsn_env, value)
    with pytest.raises(UserError, match="percent-encode it as %40") as caught:
        dsn(settings.store)
    assert caught.value.exit_code == 2
    assert "ngPw99" not in str(caught.value) and "db.example" not in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://newsdesk:Wr%40ngPw99@db.example:5432/newsdesk",
        "postgresql://db.example/newsdesk",
        "host=db.example user=newsdesk password=p@ss@word",
    ],
)
def test_well_formed_dsns_are_taken_as_they_are(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(settings.store.postgres_dsn_env, value)
    assert dsn(settings.store) == value


_DEADLINES = {
    "connect_timeout": "10",
    "keepalives_idle": "15",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",
}


def test_every_connection_has_deadlines_for_a_server_that_goes_silent(
    settings: Settings, postgres_dsn: str
) -> None:
    """A database host that dies or drops off the network sends no reset: without keepalives
    and tcp_user_timeout a search or a reindex's write waited for its answer for ever."""
    from retrieval.pgstore import PassageTable, connect

    conn = connect(settings.store)
    try:
        assert _DEADLINES.items() <= conn.get_dsn_parameters().items()
    finally:
        conn.close()
    table = PassageTable(settings.store, "deadline_probe", embed_dim=4)  # llama-index's own writes
    with table._engine.connect() as through_sqlalchemy:
        raw: Any = through_sqlalchemy.connection.dbapi_connection
        assert _DEADLINES.items() <= raw.get_dsn_parameters().items()
    table._engine.dispose()


def test_the_postgres_backend_without_its_extra_is_one_line_naming_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from retrieval.pgstore import connect

    monkeypatch.setitem(sys.modules, "psycopg2", None)  # a wheel installed without [postgres]
    with pytest.raises(UserError) as caught:  # was ModuleNotFoundError's traceback from every command
        connect(settings.store)
    assert str(caught.value) == (
        "store.backend postgres needs the 'postgres' extra: pip install 'newsdesk[postgres]'"
    )
    assert caught.value.exit_code == 1
