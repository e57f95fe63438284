"""Secrets never leave the process: refused where a variable name belongs, redacted everywhere."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from config import ConfigError, load_settings
from config.redaction import MASK, RedactingFilter, redact, remember

PASTED = {
    "llm": ("api_key_env", "sk-proj-4f9Q2x7LmN8pR3sT6vW1yZ0a"),
    "discord": ("token_env", "MTAxMjM0NTY3ODkwMTIzNDU2Nw.GhIjKl.abcdefghijklmnopqrstuvwxyz0123"),
    "store": ("postgres_dsn_env", "postgresql://newsdesk:hunter2@db.example:5432/newsdesk"),
    "embedding": ("api_key_env", "a8f3k29dj3kd92kdf93kd0s1"),
}


@pytest.mark.parametrize("section", sorted(PASTED))
def test_a_secret_pasted_where_its_variable_name_belongs_is_refused_unrepeated(
    tmp_path: Path, section: str
) -> None:
    key, secret = PASTED[section]
    path = tmp_path / "config.yaml"
    path.write_text(f"{section}:\n  {key}: '{secret}'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert f"'{section}.{key}'" in message and "NAME of an environment variable" in message
    assert secret not in message and "hunter2" not in message


def test_ordinary_variable_names_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("llm:\n  api_key_env: MY_LLM_KEY_2\ndiscord:\n  token_env: newsdesk_token\n", "utf-8")
    settings = load_settings(path)
    assert (settings.llm.api_key_env, settings.discord.token_env) == ("MY_LLM_KEY_2", "newsdesk_token")


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("refresh failed: https://bob:s3cret@feeds.example/rss: HTTP 500", "s3cret"),
        ("invalid dsn: postgresql://newsdesk:hunter2@db:5432/x", "hunter2"),
        ("connection info: host=db password=hunter2 user=x", "hunter2"),
        ("HTTP 401: Incorrect API key provided: sk-abcdefghijklmnop1234", "sk-abcdefghijklmnop1234"),
        ("Authorization: Bearer abcdefghijklmnop.qrstu", "abcdefghijklmnop"),
        ("token MTAxMjM0NTY3ODkwMTIzNDU2Nw.GhIjKl.abcdefghijklmnopqrstuvwxyz0123", "GhIjKl"),
    ],
)
def test_credential_shaped_text_is_redacted(text: str, gone: str) -> None:
    out = redact(text)
    assert gone not in out and MASK in out


def test_secrets_read_from_the_environment_are_redacted_wherever_they_appear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "plainsecretvalue42")
    load_settings()
    assert redact("the server said: plainsecretvalue42 is wrong") == f"the server said: {MASK} is wrong"


def test_log_records_are_redacted_with_their_arguments(caplog: pytest.LogCaptureFixture) -> None:
    remember("zz-top-secret-zz")
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "fetch %s failed: %s", None, None)
    record.args = ("https://u:pw@h.example/feed", "key zz-top-secret-zz")
    assert RedactingFilter().filter(record)
    assert record.getMessage() == f"fetch https://{MASK}@h.example/feed failed: key {MASK}"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ('url="https://h.example/rss?token=abc123"', f'url="https://h.example/rss?token={MASK}"'),
        ("url='https://h.example/rss?token=abc123'", f"url='https://h.example/rss?token={MASK}'"),
        ("(see https://h.example/rss?api_key=abc123)", f"(see https://h.example/rss?api_key={MASK})"),
        ("<https://h.example/rss?password=abc123>", f"<https://h.example/rss?password={MASK}>"),
        ("[https://h.example/rss?token=abc123], next", f"[https://h.example/rss?token={MASK}], next"),
        ('"https://bob:pw@h.example/rss"', f'"https://{MASK}@h.example/rss"'),
        ("(https://bob:pw@h.example/rss)", f"(https://{MASK}@h.example/rss)"),
        ("<https://bob:pw@h.example/rss>", f"<https://{MASK}@h.example/rss>"),
        ("'postgresql://bob:p@ss@db/x'", f"'postgresql://{MASK}@db/x'"),
        ('password="abc")', f"password={MASK})"),
        ("host=db password=hunter2 user=x", f"host=db password={MASK} user=x"),
    ],
)
def test_redaction_keeps_the_quote_or_bracket_that_closes_around_a_url(text: str, shown: str) -> None:
    assert redact(text) == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("GET https://h.example/?token=abc123: HTTP 404", f"GET https://h.example/?token={MASK}: HTTP 404"),
        ("the key was api_key=abc123.", f"the key was api_key={MASK}."),
        ("token=a.b.c and more", f"token={MASK} and more"),
    ],
)
def test_a_colon_or_full_stop_after_a_secret_is_punctuation_and_stays(text: str, shown: str) -> None:
    assert redact(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "refresh: https://h.example/rss?token=abc123: HTTP 404",
        'url="https://h.example/rss?password=abc123"',
        "(https://bob:pw@h.example/rss) password=hunter2 [https://h.example/?api_key=k1]",
    ],
)
def test_redacting_twice_changes_nothing(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
