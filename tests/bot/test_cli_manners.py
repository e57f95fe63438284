"""The command behaves in a shell: a closed pipe ends it quietly, --version, status."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """No model configured here, whatever the developer's shell holds (status would probe it)."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def data_dir(seed_data_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(seed_data_dir, target)
    return target


def newsdesk(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot", *args]


def test_a_reader_that_goes_away_ends_the_command_quietly(data_dir: Path) -> None:
    proc = subprocess.Popen(  # noqa: S603
        newsdesk("--data-dir", str(data_dir), "search", "Putin and Xi"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head` having read its fill before newsdesk writes
    err = proc.stderr.read().decode()
    assert proc.wait(120) == 141  # 128 + SIGPIPE, as for `cat` in the same place
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


def test_output_piped_into_head_shows_only_the_first_lines(data_dir: Path) -> None:
    shell = f"{sys.executable} -m bot --data-dir {data_dir} search 'Putin and Xi' | head -n 1"
    done = subprocess.run(  # noqa: S602 - a real shell pipe is the point
        shell, shell=True, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert done.returncode == 0
    assert done.stdout.startswith(" 1. ") and done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_a_question_leaves_the_users_home_as_it_was(data_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    drop = {"XDG_CACHE_HOME", "ORT_DISABLE_TELEMETRY", "OPENAI_API_KEY"}
    env = {k: v for k, v in os.environ.items() if k not in drop} | {"HOME": str(home)}
    done = subprocess.run(  # noqa: S603
        newsdesk("--data-dir", str(data_dir), "ask", "Who is the head of Rosneft?"),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert list(home.rglob("*")) == []  # onnxruntime's telemetry wrote ~/.cache/Microsoft


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.startswith("newsdesk 0.")


def test_status_prints_what_discord_status_shows(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(data_dir), "status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("articles: 5, passages: ")
    for start in (
        "outlets: 4 (Al Jazeera",
        "dates: 2021-12-15 to 2023-03-17",
        "index: gen-",
        "store: qdrant",
        "embedder: minilm",
        "answer mode: offline",
        "model: not configured",
        "sources: none",
    ):
        assert f"\n{start}" in out, start


def test_status_json_has_every_field(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(data_dir), "status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {
        "articles",
        "passages",
        "outlets",
        "start",
        "end",
        "generation",
        "built_at",
        "age_s",
        "index_problem",
        "store",
        "embedder",
        "mode",
        "model",
        "sources",
    }
    assert data["articles"] == 5 and data["generation"].startswith("gen-") and data["age_s"] >= 0


def test_status_without_an_index_says_so_exits_3_and_builds_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(tmp_path / "empty"), "status"]) == 3  # a monitor can tell
    assert "index: no index in" in capsys.readouterr().out
    assert not (tmp_path / "empty" / "index").exists()


def test_status_of_an_index_the_config_cannot_use_prints_everything_and_exits_3(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "other-embedder.yaml"
    config.write_text("embedding:\n  provider: wordllama\n", encoding="utf-8")
    assert main(["--data-dir", str(data_dir), "--config", str(config), "status", "--json"]) == 3
    out, err = capsys.readouterr()
    problem = json.loads(out)["index_problem"]
    assert "run 'newsdesk index --rebuild'" in problem and err == ""


def test_status_of_a_damaged_index_says_so_once_on_its_index_line(
    data_dir: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Not a WARNING log line and then the same words again as ``index:``."""
    import logging

    from retrieval.catalog import CATALOG_FILE, current_generation

    generation = current_generation(data_dir / "index")
    assert generation is not None
    (generation / CATALOG_FILE).write_text("{broken", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert main(["--data-dir", str(data_dir), "status"]) == 3
    out, err = capsys.readouterr()
    assert [line for line in out.splitlines() if "is damaged" in line] == [
        next(line for line in out.splitlines() if line.startswith("index: the index in"))
    ]
    assert err == "" and not caplog.records
