"""Reading the PostgreSQL DSN from the environment (no database needed)."""

from __future__ import annotations

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
