"""A generation records its embedder; another embedder is told plainly to reindex."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from config import Settings, load_settings
from prompts.desk import Desk
from retrieval.catalog import (
    CATALOG_FILE,
    MINILM_MODEL,
    Catalog,
    IndexMismatch,
    current_generation,
    write_atomically,
)


@pytest.fixture
def data_copy(seed_data_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(seed_data_dir, target)
    return target


def openai_settings() -> Settings:
    # never contacted: the mismatch is found before any query is embedded
    return load_settings(embedding={"provider": "openai", "base_url": "http://127.0.0.1:9/v1"})


def test_a_generation_records_provider_model_and_dimension(seed_data_dir: Path) -> None:
    generation = current_generation(seed_data_dir / "index")
    assert generation is not None
    catalog = Catalog.read(generation)
    assert (catalog.embedder, catalog.embedding_model, catalog.dimension) == ("minilm", MINILM_MODEL, 384)


def test_asking_with_another_embedder_says_to_reindex(data_copy: Path) -> None:
    desk = Desk.open(openai_settings(), data_copy, build=False)
    try:
        with pytest.raises(IndexMismatch) as caught:
            desk.ask_offline("Who is the head of Rosneft?")
    finally:
        desk.close()
    assert str(caught.value) == (
        f"the index was built with the minilm embedder ({MINILM_MODEL}, 384 dimensions) but the config "
        "asks for openai (text-embedding-3-small); run 'newsdesk index --rebuild'"
    )


def test_the_cli_says_it_in_one_line_with_exit_2(
    data_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "openai.yaml"
    config.write_text("embedding:\n  provider: openai\n  base_url: http://127.0.0.1:9/v1\n")
    code = main(["--data-dir", str(data_copy), "--config", str(config), "ask", "Who heads Rosneft?"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.endswith("run 'newsdesk index --rebuild'\n")


def test_an_index_from_before_the_embedder_was_recorded_keeps_answering(
    data_copy: Path, settings: Settings
) -> None:
    generation = current_generation(data_copy / "index")
    assert generation is not None
    path = generation / CATALOG_FILE
    data = json.loads(path.read_text())
    del data["embedding_model"], data["dimension"]
    path.write_text(json.dumps(data))
    desk = Desk.open(settings, data_copy, build=False)
    try:
        answer = desk.ask_offline("Who is the head of Rosneft?")
    finally:
        desk.close()
    assert "Igor Sechin" in answer.text


needs_dev_full = pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")


@needs_dev_full
def test_a_write_that_fills_the_disk_keeps_the_old_file_and_leaves_no_partial_one(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    path.write_text("old")
    (tmp_path / ".status.json.tmp").symlink_to("/dev/full")  # every write: ENOSPC
    with pytest.raises(OSError, match="No space left") as caught:
        write_atomically(path, "new" * 10_000)
    assert caught.value.filename == str(path)  # what could not be written, not None
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["status.json"]
