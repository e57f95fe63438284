"""The record of which folder a data directory's index was built from."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from retrieval.corpus_folder import RECORD_FILE, record_folder, recorded_folder


def test_a_relative_folder_is_recorded_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "articles").mkdir()
    monkeypatch.chdir(tmp_path)
    record_folder(tmp_path, Path("articles"))
    assert recorded_folder(tmp_path) == tmp_path.resolve() / "articles"


def test_no_record_is_none_and_a_damaged_one_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert recorded_folder(tmp_path) is None
    (tmp_path / RECORD_FILE).write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert recorded_folder(tmp_path) is None
    assert "ignoring unreadable" in caplog.text


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_data_folder_only_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tmp_path.chmod(0o500)
    try:
        with caplog.at_level(logging.WARNING):
            record_folder(tmp_path, tmp_path)
    finally:
        tmp_path.chmod(0o700)
    assert "could not remember the corpus folder" in caplog.text
