"""Fixtures shared by the backend tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Settings
from prompts.desk import Desk
from retrieval.catalog import current_generation


@pytest.fixture
def built(tmp_path: Path, settings: Settings, corpus_copy: Path) -> tuple[Desk, Path]:
    """A desk that has indexed the sample corpus, and its index generation."""
    desk = Desk.open(settings, tmp_path / "data", build=False)
    desk.reindex(corpus_copy)
    generation = current_generation(desk.index_root)
    assert generation is not None
    return desk, generation
