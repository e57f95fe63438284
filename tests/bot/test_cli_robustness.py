"""Hostile input at the command line: one line, the right exit code, nothing secret shown."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@pytest.fixture
def data_copy(seed_data_dir: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "cli-data"
    shutil.copytree(seed_data_dir, target)
    return target


def one_line(capsys: pytest.CaptureFixture[str], code: int, expected_code: int, words: str) -> None:
    _, err = capsys.readouterr()
    assert code == expected_code
    lines = [line for line in err.splitlines() if line.startswith("newsdesk")]
    assert len(lines) == 1 and words in lines[0], err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["ask", "\udcff\udcfe what happened?"], "not valid UTF-8 text"),
        (["ask", "Putin", "--since", "2023-01-01", "--until", "2022-01-01"], "is after --until"),
        (["ask", "Putin", "--outlet", "Nowhere Times"], "its outlets: Al Jazeera"),
        (["summary", "--topic", "Putin", "--since", "2023-01-01", "--until", "2022-01-01"], "swap them"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], data_copy: Path, argv: list[str], words: str
) -> None:
    one_line(capsys, main(["--data-dir", str(data_copy), *argv]), 2, words)


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["ask", "--json", "   "], 2),
        (["ask", "--json", "Putin", "--outlet", "Nowhere Times"], 2),
        (["search", "--json", ""], 2),
        (["summary", "--json", "--topic", " "], 2),
        (["timeline", "--json", "--topic", "Putin", "--since", "2023-01-01", "--until", "2022-01-01"], 2),
        (["status", "--json", "--config", "/nonexistent/newsdesk.yaml"], 2),
    ],
)
def test_an_error_with_json_is_the_stderr_line_and_nothing_on_stdout(
    capsys: pytest.CaptureFixture[str], data_copy: Path, argv: list[str], code: int
) -> None:
    assert main(["--data-dir", str(data_copy), *argv]) == code
    out, err = capsys.readouterr()
    assert out == ""  # README: no partial JSON for a program to misread
    assert err.startswith("newsdesk: error: ") and err.count("\n") == 1


@pytest.mark.parametrize("k", ["0", "-3", "many"])
def test_nonsense_k_is_refused(capsys: pytest.CaptureFixture[str], data_copy: Path, k: str) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--data-dir", str(data_copy), "search", "Putin", "--k", k])
    assert caught.value.code == 2
    assert "argument --k" in capsys.readouterr().err


def test_a_data_dir_that_is_a_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    one_line(capsys, main(["--data-dir", str(afile), "ask", "Who?"]), 2, "is a file, not a folder")
    one_line(capsys, main(["--data-dir", str(afile / "sub"), "ask", "Who?"]), 2, "is a file")


def test_one_bad_line_in_jsonl_does_not_abort_the_batch(
    capsys: pytest.CaptureFixture[str], data_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import json
    import sys

    raw = b"Who is the head of Rosneft?\n\xff\xfe broken\nWhen did Xi last visit Russia?\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    code = main(["--data-dir", str(data_copy), "ask", "--jsonl"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(rows) == 3
    assert rows[1] == {"line": 2, "error": "line 2 is not UTF-8 text (byte 0)"}
    assert "answer" in rows[0] and "answer" in rows[2]


def _garble(piece: Path) -> None:
    piece.write_text("garbage", encoding="utf-8")


def _remove(piece: Path) -> None:
    shutil.rmtree(piece) if piece.is_dir() else piece.unlink()


@pytest.mark.parametrize(
    ("piece", "harm", "said", "rebuild"),
    [
        ("catalog.json", _garble, "damaged", ["--rebuild"]),
        ("dense.npy", _garble, "damaged", ["--rebuild"]),
        ("dense.npy", _remove, "missing", []),  # an incomplete index is rebuilt by a plain index
        ("bm25", _remove, "missing", []),
    ],
    ids=["catalog-garbage", "dense-garbage", "dense-missing", "bm25-missing"],
)
def test_a_damaged_index_is_one_line_not_an_answer_and_indexing_replaces_it(
    capsys: pytest.CaptureFixture[str],
    data_copy: Path,
    piece: str,
    harm: Callable[[Path], None],
    said: str,
    rebuild: list[str],
) -> None:
    from retrieval.catalog import current_generation

    generation = current_generation(data_copy / "index")
    assert generation is not None
    harm(generation / piece)
    one_line(capsys, main(["--data-dir", str(data_copy), "ask", "Who is the head of Rosneft?"]), 1, said)
    assert main(["--data-dir", str(data_copy), "index", *rebuild]) == 0
    assert main(["--data-dir", str(data_copy), "ask", "Who is the head of Rosneft?"]) == 0


def test_a_malformed_dsn_is_one_line_without_the_password(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "pg.yaml"
    config.write_text("store:\n  backend: postgres\n", encoding="utf-8")
    monkeypatch.setenv("NEWSDESK_POSTGRES_DSN", "postgresql://newsdesk:hunter2@[broken")
    code = main(["--data-dir", str(tmp_path / "d"), "--config", str(config), "index"])
    _, err = capsys.readouterr()
    assert code == 2 and "hunter2" not in err and "Traceback" not in err
    assert "NEWSDESK_POSTGRES_DSN is not a valid PostgreSQL DSN" in err


def test_several_first_asks_on_an_empty_data_folder_all_answer(tmp_path: Path) -> None:
    """One process builds the first index; the others wait for it and then answer."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NEWSDESK_DATA_DIR": str(tmp_path / "data"), "OMP_NUM_THREADS": "1"}
    env.pop("NEWSDESK_CONFIG", None)
    command = [sys.executable, "-m", "bot", "ask", "Who is the head of Rosneft?"]
    logs = [(tmp_path / f"out{i}", tmp_path / f"err{i}") for i in range(3)]
    procs = []
    for out, err in logs:  # files, not pipes: a full pipe would stall the builder
        with out.open("w") as stdout, err.open("w") as stderr:
            procs.append(subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr))  # noqa: S603
    codes = [p.wait(timeout=300) for p in procs]
    outs = [out.read_text() for out, _ in logs]
    errs = [err.read_text() for _, err in logs]
    assert codes == [0, 0, 0], errs
    assert all("Sechin" in out for out in outs)
    assert sum("waiting up to" in err for err in errs) >= 1


def test_index_prints_each_skipped_file_once_and_an_unreadable_date_too(tmp_path: Path) -> None:
    import subprocess
    import sys

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Harbour reopens\n\n" + "The harbour reopened to ferries. " * 20, "utf-8")
    (corpus / "broken.txt").write_bytes(b"caf\xe9 story")
    (corpus / "b.md").write_text("---\npublished: soon\n---\n" + "The ferry timetable changed. " * 9, "utf-8")
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot", "--data-dir", str(tmp_path / "data"), "index", "--corpus", str(corpus)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "WARNING retrieval.sources: b.md: 'soon' is not a date newsdesk can read (write it like 2026-11-18);"
        " the article is undated",
        "warning: skipped broken.txt: the file is not UTF-8 text (byte 3)",
    ]
    assert done.stdout.startswith("indexed: 2 added")


def test_ask_with_jsonl_and_a_question_is_refused(
    capsys: pytest.CaptureFixture[str], data_copy: Path
) -> None:
    one_line(capsys, main(["--data-dir", str(data_copy), "ask", "--jsonl", "Who?"]), 2, "without --jsonl")


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` (and the folders in it) read-only: by their modes, or (root ignores them) a
    read-only bind mount."""
    import os
    import subprocess

    folders = [folder, *(p for p in folder.rglob("*") if p.is_dir())]
    if os.geteuid() != 0:
        for each in folders:
            each.chmod(0o555)
        try:
            yield
        finally:
            for each in folders:
                each.chmod(0o755)
        return
    mount = shutil.which("mount")
    if mount is None or subprocess.run([mount, "--bind", str(folder), str(folder)], check=False).returncode:  # noqa: S603
        pytest.skip("running as root without bind mounts: no way to make a folder read-only")
    try:
        subprocess.run([mount, "-o", "remount,bind,ro", str(folder)], check=True)  # noqa: S603
        yield
    finally:
        subprocess.run([shutil.which("umount") or "umount", str(folder)], check=False)  # noqa: S603


@pytest.fixture
def read_only_index(data_copy: Path) -> Iterator[Path]:
    """The copy's index folder made read-only."""
    with read_only(data_copy / "index"):
        yield data_copy


def test_indexing_into_a_read_only_index_is_one_line_and_asking_still_answers(
    capsys: pytest.CaptureFixture[str], read_only_index: Path
) -> None:
    one_line(capsys, main(["--data-dir", str(read_only_index), "index", "--rebuild"]), 1, "cannot be written")
    assert main(["--data-dir", str(read_only_index), "ask", "Who is the head of Rosneft?"]) == 0


@pytest.fixture
def read_only_data(data_copy: Path) -> Iterator[Path]:
    """The whole data folder read-only, as a shared or archived index is mounted."""
    with read_only(data_copy):
        yield data_copy


@pytest.mark.parametrize(
    "argv",
    [
        ["ask", "Who is the head of Rosneft?"],
        ["search", "Rosneft"],
        ["summary", "--topic", "Rosneft chief"],
        ["timeline", "--topic", "Putin and Xi"],
        ["status"],
    ],
    ids=["ask", "search", "summary", "timeline", "status"],
)
def test_reading_commands_work_from_a_read_only_data_folder(
    capsys: pytest.CaptureFixture[str], read_only_data: Path, argv: list[str]
) -> None:
    code = main(["--data-dir", str(read_only_data), *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip() and "Traceback" not in err


@pytest.mark.parametrize("argv", [["index"], ["index", "--rebuild"]])
def test_writing_into_a_read_only_data_folder_is_one_line_exit_1(
    capsys: pytest.CaptureFixture[str], read_only_data: Path, argv: list[str]
) -> None:
    one_line(capsys, main(["--data-dir", str(read_only_data), *argv]), 1, "cannot be written")


@pytest.mark.parametrize("command", [["ask", "Who heads Rosneft?"], ["search", "Rosneft"], ["index"]])
def test_a_database_that_cannot_be_reached_is_one_line(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
) -> None:
    """Not a warning that it cannot check for a newer index and then the same error again."""
    import socket

    pytest.importorskip("psycopg2")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the block ends
    config = tmp_path / "pg.yaml"
    config.write_text("store:\n  backend: postgres\n", encoding="utf-8")
    monkeypatch.setenv("NEWSDESK_POSTGRES_DSN", f"postgresql://newsdesk:hunter22@127.0.0.1:{port}/newsdesk")
    code = main(["--data-dir", str(tmp_path / "d"), "--config", str(config), *command])
    _, err = capsys.readouterr()
    assert code == 1 and "hunter22" not in err
    assert err.splitlines() == [err.splitlines()[0]] and err.startswith(
        "newsdesk: error: cannot connect to PostgreSQL (NEWSDESK_POSTGRES_DSN)"
    ), err
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@contextmanager
def locked(lock: Path) -> Iterator[None]:
    """Hold ``lock`` as another newsdesk process would (an flock on the same file)."""
    import fcntl

    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def test_a_refresh_while_another_runs_is_one_busy_line_and_exit_75(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, corpus_copy: Path
) -> None:
    """Cron starting a refresh while a long one still runs: not an error, the next run catches up."""
    from retrieval.collecting import state_dir

    config = tmp_path / "config.yaml"
    config.write_text(f"sources:\n  - name: seeds\n    kind: folder\n    path: '{corpus_copy}'\n", "utf-8")
    data = tmp_path / "data"
    with locked(state_dir(data) / ".lock"):
        code = main(["--data-dir", str(data), "--config", str(config), "refresh"])
    out, err = capsys.readouterr()
    assert (code, out) == (75, "")
    assert err == "newsdesk: busy: the sources are being refreshed already; try again shortly\n"


def test_an_index_while_another_reindex_runs_is_one_busy_line_and_exit_75(
    capsys: pytest.CaptureFixture[str], data_copy: Path
) -> None:
    with locked(data_copy / "index" / ".lock"):
        code = main(["--data-dir", str(data_copy), "index"])
    _, err = capsys.readouterr()
    assert code == 75
    assert err == "newsdesk: busy: another process is reindexing this data directory\n"


def test_a_busy_index_finds_the_lock_before_reading_the_folder(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, data_copy: Path, tmp_path: Path
) -> None:
    """Nothing of the folder is read (no warnings about its files) and it is not remembered."""
    from retrieval.corpus_folder import recorded_folder

    corpus = tmp_path / "other"
    corpus.mkdir()
    story = "The harbour reopened to ferries. " * 20
    (corpus / "good.md").write_text(f"---\ndate: sometime\n---\n\nFerry late\n\n{story}", "utf-8")
    (corpus / "binary.txt").write_bytes(b"\x00\x01binary")
    before = recorded_folder(data_copy)
    with caplog.at_level(logging.INFO), locked(data_copy / "index" / ".lock"):
        code = main(["--data-dir", str(data_copy), "index", "--corpus", str(corpus)])
    out, err = capsys.readouterr()
    assert (code, out) == (75, "")
    assert err == "newsdesk: busy: another process is reindexing this data directory\n"
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert recorded_folder(data_copy) == before


def test_a_file_named_with_an_escape_sequence_is_warned_about_written_out(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    story = "The harbour reopened to ferries. " * 20
    (corpus / "good.txt").write_text(f"Harbour reopens\n\n{story}", "utf-8")
    (corpus / "bad\nname \x1b]0;pwned\x07.txt").write_bytes(b"\x00\x01binary")
    (corpus / "odd \x1b[31m.md").write_text(f"---\ndate: sometime\n---\n\nFerry late\n\n{story}", "utf-8")
    with caplog.at_level(logging.WARNING):
        code = main(["--data-dir", str(tmp_path / "data"), "index", "--corpus", str(corpus)])
    _, err = capsys.readouterr()
    assert code == 0
    assert "warning: skipped bad name \\x1b]0;pwned\\x07.txt: the file is binary, not text\n" in err
    assert "\x1b" not in err + caplog.text and "\x07" not in err + caplog.text
    assert "odd \\x1b[31m.md" in caplog.text  # the reader's own warnings, as logged


@pytest.mark.parametrize(("tty", "hint"), [(True, False), (False, True)])
def test_ask_without_a_question_says_how_stdin_is_read_when_it_is_piped(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    data_copy: Path,
    tty: bool,
    hint: bool,
) -> None:
    import io
    import sys

    stdin = io.StringIO("Who met in Moscow?\n")
    monkeypatch.setattr(stdin, "isatty", lambda: tty)
    monkeypatch.setattr(sys, "stdin", stdin)  # echo "..." | newsdesk ask
    one_line(capsys, main(["--data-dir", str(data_copy), "ask"]), 2, "give a question")
    main(["--data-dir", str(data_copy), "ask"])
    assert ("add --jsonl" in capsys.readouterr().err) is hint


def test_a_refresh_with_a_damaged_cache_and_a_failing_source_says_so_once_and_keeps_its_article(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    folder, data = tmp_path / "notes", tmp_path / "data"
    folder.mkdir()
    (folder / "tunnel.md").write_text("# Tunnel tolls rise\n\n" + "The tunnel toll rises in May. " * 20)
    config = tmp_path / "config.yaml"
    config.write_text(f"sources:\n  - name: notes\n    kind: folder\n    path: {folder}\n", encoding="utf-8")

    def refresh() -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bot", "--data-dir", str(data), "--config", str(config), "refresh"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    first = refresh()
    assert first.returncode == 0, first.stderr
    assert "notes (folder): ok, 1 article;" in first.stdout
    (data / "sources" / "cache-notes.json").write_text("{ damaged", encoding="utf-8")
    (folder / "tunnel.md").unlink()  # the share is unmounted: the source fails
    second = refresh()
    assert second.returncode == 1
    about_cache = [line for line in second.stderr.splitlines() if "cache-notes.json" in line]
    assert len(about_cache) == 1 and str(data) not in about_cache[0], second.stderr
    assert "notes (folder): FAILED, 1 article;" in second.stdout
    assert "indexed: 0 added, 0 changed, 0 removed, 1 unchanged" in second.stdout


def test_refresh_of_one_source_says_that_source_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """'refresh --source NAME' printed every configured source's line, so another source's last
    refresh (its failures, 'checked' time) read as if it had just run."""
    for name in ("harbour", "bridge"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}.txt").write_text(
            f"{name} news\n\n" + f"The {name} reopened on Monday. " * 20, "utf-8"
        )
    config = tmp_path / "config.yaml"
    config.write_text(
        "sources:\n"
        f"  - {{name: harbour, kind: folder, path: '{tmp_path / 'harbour'}'}}\n"
        f"  - {{name: bridge, kind: folder, path: '{tmp_path / 'bridge'}'}}\n",
        encoding="utf-8",
    )
    common = ["--data-dir", str(tmp_path / "data"), "--config", str(config), "refresh"]
    assert main(common) == 0
    out, _ = capsys.readouterr()
    assert [line.split(" ")[0] for line in out.splitlines()] == ["harbour", "bridge", "indexed:"]
    assert main([*common, "--source", "bridge"]) == 0
    out, _ = capsys.readouterr()
    assert [line.split(" ")[0] for line in out.splitlines()] == ["bridge", "indexed:"]
