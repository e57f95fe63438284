"""A first pass over the passage vectors in int8, rescored exactly in float32.

A question's dense search reads the whole float32 matrix (35,579 x 384 = 54.6 MB at the
benchmark's 2,837 articles), and right after the query's embedding has pushed it out of the
caches that read is the scan's cost: 2-7 ms here, memory-bound. :class:`Int8Scan` holds an
int8 copy (one scale per row, a quarter of the bytes) that onnxruntime's integer product
(``DynamicQuantizeMatMul``, VNNI) scans in about a quarter of the time; the best
``RESCORE_FACTOR`` x ``limit`` rows of that pass are then scored exactly against the float32
rows, so the hits and their scores are the float32 ones (to the last bits of a product over
fewer rows). Built in memory when an index is opened (~0.1 s, ~37 MiB at 35,579 rows);
nothing is stored.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Rows a first pass keeps per wanted hit (60 hits -> 300 rows rescored); the exact top 60 of
#: the benchmark's 200 questions were all within the int8 pass's top 300 (BENCHMARKS.md 4).
RESCORE_FACTOR = 5
RESCORE_MIN = 256
#: Below this many rows the float32 scan is already fast; no int8 copy is built.
MIN_ROWS = 4096


class Int8Scan:
    """Approximate scores of every row of a float32 matrix for a query vector (see module)."""

    def __init__(self, matrix: np.ndarray) -> None:
        import onnxruntime as ort

        from retrieval.minilm import session_options

        columns, scales = _quantised_columns(matrix)
        # one intra-op thread: the scan runs on a search's query worker, beside the keyword side
        options = session_options(1)
        # the int8 copy goes to onnxruntime as it is, not through a protobuf of the graph
        # (serialising it there cost ~50 MiB of memory that stayed taken)
        self._held = (columns, scales)  # onnxruntime reads these buffers: keep them alive
        options.add_external_initializers(
            ["rows", "scales"], [ort.OrtValue.ortvalue_from_numpy(a) for a in self._held]
        )
        self._session: Any = ort.InferenceSession(
            _scan_graph(columns.shape[1], matrix.shape[1]), options, providers=["CPUExecutionProvider"]
        )

    def scores(self, vector: np.ndarray) -> np.ndarray:
        query = np.asarray(vector, dtype=np.float32)[None, :]
        (out,) = self._session.run(["scores"], {"query": query})
        return np.asarray(out[0], dtype=np.float32)


def _quantised_columns(matrix: np.ndarray, block: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """``matrix`` transposed and quantised to int8 with one scale per row (its largest
    magnitude / 127), a block of rows at a time (whole-matrix temporaries took 10x as long)."""
    columns = np.empty((matrix.shape[1], matrix.shape[0]), dtype=np.int8)
    scales = np.empty(matrix.shape[0], dtype=np.float32)
    for start in range(0, len(matrix), block):
        rows = matrix[start : start + block]
        scale = np.maximum(rows.max(axis=1), -rows.min(axis=1)) / np.float32(127.0)
        scale[scale == 0] = 1.0
        scales[start : start + block] = scale
        columns[:, start : start + block] = np.rint(rows.T / scale[None, :])
    return columns, scales


def _scan_graph(rows: int, dimension: int) -> bytes:
    """``scores = DynamicQuantizeMatMul(query, rows, scales)``, its two constants declared as
    external data that the session is given from memory."""
    from onnx import TensorProto, helper

    def external(name: str, data_type: int, dims: list[int]) -> Any:
        tensor = TensorProto(name=name, data_type=data_type, dims=dims)
        tensor.data_location = TensorProto.EXTERNAL
        tensor.external_data.add(key="location", value=name)
        return tensor

    graph = helper.make_graph(
        [
            helper.make_node(
                "DynamicQuantizeMatMul", ["query", "rows", "scales"], ["scores"], domain="com.microsoft"
            )
        ],
        "int8_scan",
        [helper.make_tensor_value_info("query", TensorProto.FLOAT, [1, dimension])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, rows])],
        [
            external("rows", TensorProto.INT8, [dimension, rows]),
            external("scales", TensorProto.FLOAT, [rows]),
        ],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = min(model.ir_version, 9)  # what onnxruntime >= 1.20 reads
    return bytes(model.SerializeToString())


def int8_scan(matrix: np.ndarray) -> Int8Scan | None:
    """An :class:`Int8Scan` of ``matrix`` when it is large enough to gain from one; None (the
    float32 scan is used) for a small matrix, or when it cannot be built here."""
    if len(matrix) < MIN_ROWS:
        return None
    try:
        return Int8Scan(matrix)
    except Exception as exc:  # e.g. onnx missing: the float32 scan gives the same hits, slower
        log.warning("dense search scans the float32 vectors (no int8 first pass: %s)", exc)
        return None


def top_rows(
    matrix: np.ndarray, first: Int8Scan | None, vector: np.ndarray, limit: int, mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``limit`` best rows for ``vector`` (best first) and their exact float32 scores; rows
    the ``mask`` excludes are never returned."""
    if first is None:
        rows = np.arange(len(matrix))
        scores = np.asarray(matrix @ vector, dtype=np.float32)
    else:
        rows, scores = _rescored(matrix, first, vector, limit, mask)
    if mask is not None:
        scores = np.where(mask[rows] > 0, scores, -np.inf)
    limit = min(limit, len(scores))
    if limit <= 0:
        return rows[:0], scores[:0]
    top = np.argpartition(-scores, limit - 1)[:limit]
    top = top[np.argsort(-scores[top])]
    keep = top[np.isfinite(scores[top])]
    return rows[keep], scores[keep]


def _rescored(
    matrix: np.ndarray, first: Int8Scan, vector: np.ndarray, limit: int, mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    approx = first.scores(vector)
    if mask is not None:
        approx = np.where(mask > 0, approx, -np.inf)
    wanted = min(len(approx), max(RESCORE_FACTOR * limit, RESCORE_MIN))
    rows = np.argpartition(-approx, wanted - 1)[:wanted] if wanted < len(approx) else np.arange(len(approx))
    rows = np.sort(rows[np.isfinite(approx[rows])])
    return rows, np.asarray(matrix[rows] @ vector, dtype=np.float32)
