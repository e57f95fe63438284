"""The int8 first pass of the dense search: the same hits and scores as the float32 scan."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from retrieval import int8_scan
from retrieval.int8_scan import MIN_ROWS, Int8Scan, top_rows


def unit_rows(rows: int, seed: int = 0) -> np.ndarray:
    """Clustered unit vectors, like passages of a few stories (many near ties)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, 384)).astype(np.float32)
    matrix = centres[rng.integers(0, 40, rows)] + 0.6 * rng.standard_normal((rows, 384)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def matrix() -> np.ndarray:
    return unit_rows(MIN_ROWS + 1000)


@pytest.fixture(scope="module")
def first(matrix: np.ndarray) -> Int8Scan:
    return Int8Scan(matrix)


@pytest.mark.parametrize("limit", [1, 10, 60])
def test_the_first_pass_finds_the_float32_top_rows_and_scores(
    matrix: np.ndarray, first: Int8Scan, limit: int
) -> None:
    for query in unit_rows(20, seed=1):
        exact_rows, exact_scores = top_rows(matrix, None, query, limit, None)
        rows, scores = top_rows(matrix, first, query, limit, None)
        assert list(rows) == list(exact_rows)
        assert np.allclose(scores, exact_scores, atol=1e-6)


def test_masked_rows_never_come_back_and_few_admitted_rows_all_do(
    matrix: np.ndarray, first: Int8Scan
) -> None:
    mask = np.zeros(len(matrix), dtype=np.float32)
    mask[::97] = 1.0  # 53 rows admitted, fewer than asked for
    query = unit_rows(1, seed=2)[0]
    rows, _scores = top_rows(matrix, first, query, 60, mask)
    exact_rows, _ = top_rows(matrix, None, query, 60, mask)
    assert sorted(rows) == sorted(np.flatnonzero(mask)) == sorted(exact_rows)
    assert list(rows) == list(exact_rows)


def test_no_first_pass_for_a_small_matrix() -> None:
    assert int8_scan.int8_scan(unit_rows(MIN_ROWS - 1)) is None


def test_the_float32_scan_is_kept_when_the_first_pass_cannot_be_built(
    matrix: np.ndarray, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_matrix: np.ndarray) -> Int8Scan:
        raise ImportError("No module named 'onnx'")

    monkeypatch.setattr(int8_scan, "Int8Scan", broken)
    with caplog.at_level(logging.WARNING, logger="retrieval.int8_scan"):
        assert int8_scan.int8_scan(matrix) is None
    assert "float32" in caplog.text
