"""Fixtures for the offline core: settings, the bundled seed corpus and its index."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Settings, load_settings
from corpus import SAMPLE_CORPUS
from prompts.desk import Desk
from retrieval.minilm import MiniLMEncoder


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def encoder() -> MiniLMEncoder:
    return MiniLMEncoder()


@pytest.fixture(scope="session")
def seed_data_dir(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Path:
    """A data directory holding an index of the bundled seeds, built once per session."""
    folder = tmp_path_factory.mktemp("seed-index")
    desk = Desk.open(settings, folder)
    desk.close()
    return folder


@pytest.fixture(scope="session")
def seed_desk(seed_data_dir: Path, settings: Settings) -> Iterator[Desk]:
    desk = Desk.open(settings, seed_data_dir, build=False)
    yield desk
    desk.close()


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the seed corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, target)
    return target
