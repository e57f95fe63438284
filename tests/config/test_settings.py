"""config.settings: an embedder's own fusion settings, and the user's word over them."""

from __future__ import annotations

from pathlib import Path

from config import load_settings
from config.settings import EMBEDDER_SEARCH


def test_the_default_embedder_keeps_the_shipped_fusion() -> None:
    search = load_settings().search
    assert (search.dense_weight, search.keyword_weight, search.rrf_k) == (1.0, 1.0, 30)


def test_wordllama_brings_its_tuned_fusion() -> None:
    search = load_settings(embedding={"provider": "wordllama"}).search
    tuned = EMBEDDER_SEARCH["wordllama"]
    assert (search.dense_weight, search.keyword_weight, search.rrf_k) == (
        tuned["dense_weight"],
        tuned["keyword_weight"],
        tuned["rrf_k"],
    )
    assert search.article_weight == load_settings().search.article_weight  # untouched


def test_a_value_the_user_sets_wins_over_the_embedders(tmp_path: Path) -> None:
    config = tmp_path / "newsdesk.yaml"
    config.write_text("embedding:\n  provider: wordllama\nsearch:\n  dense_weight: 1.0\n", encoding="utf-8")
    search = load_settings(config).search
    assert search.dense_weight == 1.0
    assert search.keyword_weight == EMBEDDER_SEARCH["wordllama"]["keyword_weight"]
    overridden = load_settings(embedding={"provider": "wordllama"}, search={"rrf_k": 60}).search
    assert overridden.rrf_k == 60
