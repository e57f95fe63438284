"""Hostile input at the command line: one line, the right exit code, nothing secret shown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.cli import main


def test_refresh_never_shows_the_password_in_a_source_url(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "sources:\n"
        "  - name: wire\n"
        "    kind: urls\n"
        "    internal: true\n"
        "    urls: ['http://bob:s3cretpw@127.0.0.1:9/story']\n"
        "fetch:\n"
        "  attempts: 1\n"
        "  timeout_s: 2\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.INFO):
        code = main(["--data-dir", str(tmp_path / "data"), "--config", str(config), "refresh"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "s3cretpw" not in out + err + caplog.text
    assert "127.0.0.1" in out + err


def test_indexing_an_empty_folder_is_one_line_exit_2_and_keeps_the_last_index(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from retrieval.catalog import current_generation

    data = tmp_path / "data"
    good = tmp_path / "good"
    good.mkdir()
    (good / "a.txt").write_text("Harbour reopens\n\n" + "The harbour reopened to ferries. " * 20, "utf-8")
    assert main(["--data-dir", str(data), "index", "--corpus", str(good)]) == 0
    before = current_generation(data / "index")
    empty = tmp_path / "empty"
    empty.mkdir()
    capsys.readouterr()
    code = main(["--data-dir", str(data), "index", "--corpus", str(empty)])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines() == ["newsdesk: error: no article could be read, so nothing was indexed"]
    assert current_generation(data / "index") == before
