"""The newsdesk command: output formats, JSON lines, and one-line errors with exit code 2."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture
def cli_data_dir(seed_data_dir: Path, tmp_path: Path) -> Path:
    """A copy of the seed index (the session's Desk holds the original's store open)."""
    target = tmp_path / "cli-data"
    shutil.copytree(seed_data_dir, target)
    return target


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_prints_answer_then_numbered_sources(
    capsys: pytest.CaptureFixture[str], cli_data_dir: Path
) -> None:
    code, out, _ = run(capsys, "--data-dir", str(cli_data_dir), "ask", "When did Xi last visit Russia?")
    assert code == 0
    assert out.splitlines()[0] == "2019 [1]"  # the direct answer, then the sentences
    assert "2019" in out.splitlines()[2]
    assert re.search(
        r'^\[1\](\[\d\])* El Comercio \(via Global Happenings, AFP copy\), "Russia and China mark', out, re.M
    )
    assert "(2023-03-17)" in out


def test_ask_json_has_the_documented_shape(capsys: pytest.CaptureFixture[str], cli_data_dir: Path) -> None:
    code, out, _ = run(
        capsys, "--data-dir", str(cli_data_dir), "ask", "Who is the head of Rosneft?", "--json"
    )
    data = json.loads(out)
    assert code == 0
    assert set(data) >= {"question", "answer", "grounded", "mode", "citations", "coverage", "timings_ms"}
    assert data["mode"] == "extractive" and data["grounded"] is True
    cited = {"n", "doc_id", "title", "outlet", "published", "url", "quote", "also_in", "also_outlets"}
    assert set(data["citations"][0]) == cited
    assert set(data["coverage"]) == {"articles", "from", "to"}
    assert data["short"]["text"] in data["citations"][data["short"]["citation"] - 1]["quote"]
    assert "Sechin" in data["short"]["text"]


def test_jsonl_answers_each_line(
    capsys: pytest.CaptureFixture[str], cli_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        sys, "stdin", io.StringIO("Who is the head of Rosneft?\n\nWhat is the capital of Australia?\n")
    )
    code, out, _ = run(capsys, "--data-dir", str(cli_data_dir), "ask", "--jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["grounded"] for r in rows] == [True, False]


def test_search_lists_ranked_passages(capsys: pytest.CaptureFixture[str], cli_data_dir: Path) -> None:
    code, out, _ = run(
        capsys, "--data-dir", str(cli_data_dir), "search", "gas agreements", "--k", "3", "--json"
    )
    rows = json.loads(out)
    assert code == 0 and [r["rank"] for r in rows] == [1, 2, 3]


@pytest.mark.parametrize(
    ("args", "config", "message"),
    [
        (["ask", ""], None, "question is empty"),
        (["ask", "x" * 20_000], None, "20,000 characters"),
        (["ask", "hello"], "colour: blue\n", "unknown key 'colour'"),
        (["ask", "hello"], "search:\n  top_k: many\n", "'search.top_k'"),
        (["ask", "hello"], "search: [unclosed\n", "not valid YAML"),
        (["index", "--corpus", "/does/not/exist"], None, "does not exist"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], config: str | None, message: str
) -> None:
    data = tmp_path / "data"
    prefix = ["--data-dir", str(data)]
    if config is not None:
        (tmp_path / "c.yaml").write_text(config, encoding="utf-8")
        prefix += ["--config", str(tmp_path / "c.yaml")]
    code, out, err = run(capsys, *prefix, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("newsdesk: error:") and message in err
    assert not data.exists()


def test_fresh_process_answers_from_an_existing_index(cli_data_dir: Path) -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot", "--data-dir", str(cli_data_dir), "ask", "Who is the head of Rosneft?"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Sechin" in done.stdout and done.stderr == ""


def test_an_offline_answer_imports_neither_llama_index_nor_openai(cli_data_dir: Path) -> None:
    """Start-up time: those imports cost 1.5 s and 0.75 s; the offline query path needs neither."""
    code = (
        "import sys\n"
        "from bot.cli import main\n"
        f"assert main(['--data-dir', {str(cli_data_dir)!r}, 'ask', 'Who is the head of Rosneft?']) == 0\n"
        "heavy = [m for m in ('openai', 'llama_index.core', 'qdrant_client') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def test_a_failed_run_is_one_line_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prompts.desk import Desk
    from retrieval.store import StoreError

    def unreachable(*_args: object, **_kwargs: object) -> Desk:
        raise StoreError("cannot connect to PostgreSQL (NEWSDESK_POSTGRES_DSN): connection refused\n")

    monkeypatch.setattr(Desk, "open", unreachable)
    code, out, err = run(capsys, "--data-dir", str(tmp_path / "data"), "ask", "Who met in Moscow?")
    assert (code, out) == (1, "")
    line = "cannot connect to PostgreSQL (NEWSDESK_POSTGRES_DSN): connection refused"
    assert err == f"newsdesk: error: {line}\n"


@pytest.mark.parametrize(
    ("module", "name", "exit_code"),
    [
        ("config.settings", "ConfigError", 2),
        ("prompts.questions", "QuestionError", 2),
        ("prompts.templates", "TemplateError", 2),
        ("retrieval.sources", "CorpusError", 2),
        ("retrieval.ingest", "ReindexBusy", 75),
        ("retrieval.minilm", "EmbedderError", 1),
        ("retrieval.store", "StoreError", 1),
    ],
)
def test_the_cores_user_errors_share_one_vocabulary(module: str, name: str, exit_code: int) -> None:
    import importlib

    from config.errors import UserError

    error = getattr(importlib.import_module(module), name)
    assert issubclass(error, UserError) and error.exit_code == exit_code


def test_help_speaks_to_users_and_names_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    out = capsys.readouterr().out
    assert caught.value.code == 0
    assert ":class:" not in out and "``" not in out  # no docstring markup
    codes = " ".join(out.split("exit codes:")[1].split())
    assert codes.startswith("0 done 1 the run could not complete 2 bad input or config 3 status: the index")
    assert "75 another reindex or refresh is running" in codes and codes.endswith("130 interrupted")


def test_control_characters_in_an_article_never_reach_the_terminal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "esc.txt").write_text(
        "Putin \x1b]0;pwned\x07visits \x1b[2JMoscow\n\n"
        "Putin met Xi in Moscow on Monday \x1b[31mred\x1b[0m and they talked about trade, energy and gas"
        " pipelines for a long time.\x08\x08 More talks followed.\n",
        encoding="utf-8",
    )
    data = ["--data-dir", str(tmp_path / "data")]
    assert main([*data, "index", "--corpus", str(corpus)]) == 0
    asks = (["ask", "What did Putin and Xi talk about?"], ["search", "Putin"], ["timeline", "--topic", "Xi"])
    for argv in asks:
        code, out, _ = run(capsys, *data, *argv)
        assert code == 0 and "Moscow" in out
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", out), (argv, out)
