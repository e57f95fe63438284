"""Where the runtime cannot be had, the tier says why in one line (these run in every suite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.realmodel import server
from tests.realmodel.server import RuntimeUnavailable, find_runtime


def test_a_missing_runtime_names_the_install_command(tmp_path: Path):
    with pytest.raises(RuntimeUnavailable, match=r"python -m tests.realmodel.server --install"):
        find_runtime(tmp_path / "no-venv")


def test_no_compiler_and_no_cached_wheel_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NEWSDESK_WHEELS", str(tmp_path / "wheels"))
    monkeypatch.setattr(server.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeUnavailable, match="needs cmake and a C\\+\\+ compiler") as caught:
        server.install(tmp_path / "venv")
    assert "\n" not in str(caught.value)


def test_the_weights_checksum_is_checked(tmp_path: Path):
    fake = tmp_path / server.WEIGHTS_FILE
    fake.write_bytes(b"not a model")
    with pytest.raises(RuntimeUnavailable, match="unexpected SHA-256"):
        server.check_weights(fake)
