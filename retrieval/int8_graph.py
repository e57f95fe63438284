"""The bundled MiniLM's int8 weights run as int8 matrix products, for query vectors.

The packaged model stores each weight matrix as int8 with one scale per output column, and its
graph turns them back into float (``Cast`` then ``Mul``) before a float ``MatMul``; onnxruntime
folds that into float weights at load, so the int8 buys nothing at run time (65% of a query's
kernel time was float MatMuls). :func:`int8_query_graph` rewrites each such ``MatMul`` into
onnxruntime's ``DynamicQuantizeMatMul`` over the *same* int8 weights and scales (nothing is
quantised again), which quantises the activations to 8 bits per product and uses the CPU's
integer dot-product instructions.

A few input channels of each product carry values 4-15x the others' (the known outlier
dimensions of BERT-like models), and quantising those with the rest cost most of the accuracy
(cosine 0.995 against the float graph). So, as in LLM.int8(), the :data:`OUTLIERS` channels
with the largest magnitudes on a few calibration sentences (:data:`CALIBRATION`) are taken out
of the int8 product and multiplied in float by the same weights: cosine 0.9997, ~1.8x faster
than the float graph (BENCHMARKS.md section 4).

Passages are still embedded by the float graph, so existing indexes stay valid. The rewrite
runs in memory when the first query is embedded (~0.5 s: ``onnx`` reads and writes the graph,
the calibration runs the float graph); the packaged file is checked by sha256 before, as
always, and nothing derived is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: The operator the rewrite uses (onnxruntime's contrib domain, in every CPU build).
OPERATOR = "DynamicQuantizeMatMul"
_DOMAIN = "com.microsoft"
#: Input channels of each product kept in float (of 384 or 1,536).
OUTLIERS = 8
#: Texts whose activations pick the outlier channels (they are the model's, not the text's:
#: any few sentences find the same ones).
CALIBRATION = (
    "What did the central bank decide about interest rates this week?",
    "Which country hosted the summit, and who attended it?",
    "The company said on Tuesday that its profits fell by 12 percent in the third quarter.",
    "How many people were killed when the earthquake struck the region?",
    "Officials announced a new agreement on grain exports after talks in Istanbul.",
    "Who was named the new head of the football federation?",
)

Feeds = dict[str, np.ndarray]


class NotQuantised(ValueError):
    """The graph holds no int8 weight matrix that the rewrite recognises."""


def int8_query_graph(model: Path, calibration: Sequence[Feeds]) -> bytes:
    """The serialised graph of ``model`` with each dequantised-weight ``MatMul`` run as an int8
    product plus a float product of its outlier channels (picked on the ``calibration``
    inputs); NotQuantised when the graph has no such ``MatMul``."""
    import onnx

    proto = onnx.load(str(model))
    products = _products(proto.graph)
    if not products:
        raise NotQuantised(f"{model} holds no int8 weight matrix to run as int8")
    magnitudes = _input_magnitudes(proto, sorted({node.input[0] for node, _ in products}), calibration)
    _rewrite(proto, products, magnitudes)
    return bytes(proto.SerializeToString())


def _products(graph: Any) -> list[tuple[Any, tuple[Any, Any, Any, Any]]]:
    """Each ``MatMul(x, Cast(w_int8) * scale)`` of the graph with its (cast, mul, w, scale)."""
    inits = {i.name: i for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    readers: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    found = [(node, _int8_weight(node, producer, inits, readers)) for node in graph.node]
    return [(node, parts) for node, parts in found if parts is not None]


def _int8_weight(
    node: Any, producer: dict[str, Any], inits: dict[str, Any], readers: dict[str, int]
) -> tuple[Any, Any, Any, Any] | None:
    """(cast, mul, int8 weights, scales) when ``node`` is ``MatMul(x, Cast(w_int8) * scale)``
    with one scale per output column and the float weights read by this node alone."""
    import onnx

    if node.op_type != "MatMul" or readers.get(node.input[1], 0) != 1:
        return None
    mul = producer.get(node.input[1])
    if mul is None or mul.op_type != "Mul" or mul.input[1] not in inits:
        return None
    cast = producer.get(mul.input[0])
    if (
        cast is None
        or cast.op_type != "Cast"
        or cast.input[0] not in inits
        or readers.get(mul.input[0], 0) != 1
    ):
        return None
    weights, scale = inits[cast.input[0]], inits[mul.input[1]]
    if weights.data_type != onnx.TensorProto.INT8 or len(weights.dims) != 2:
        return None
    if int(np.prod(scale.dims)) != weights.dims[1]:
        return None
    return cast, mul, weights, scale


def _input_magnitudes(proto: Any, inputs: list[str], calibration: Sequence[Feeds]) -> dict[str, np.ndarray]:
    """Each input's largest magnitude per channel over the calibration runs of the float graph."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    probe = onnx.ModelProto()
    probe.CopyFrom(proto)
    for name in inputs:
        probe.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # basic: half the session's set-up time of "all", for the six runs it is made for
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    largest: dict[str, np.ndarray] = {}
    for feeds in calibration:
        for name, value in zip(inputs, session.run(inputs, feeds), strict=True):
            rows = np.abs(np.asarray(value, dtype=np.float32)).reshape(-1, value.shape[-1]).max(axis=0)
            largest[name] = np.maximum(largest[name], rows) if name in largest else rows
    return largest


def _rewrite(
    proto: Any, products: list[tuple[Any, tuple[Any, Any, Any, Any]]], magnitudes: dict[str, np.ndarray]
) -> None:
    """``y = x @ W`` becomes ``DynamicQuantizeMatMul(x * keep, W_int8, scales) + x[:, out] @ W[out]``
    (``out``: the input's :data:`OUTLIERS` largest channels, ``keep`` zero there)."""
    from onnx import helper, numpy_helper

    graph = proto.graph
    replaced = {id(node): parts for node, parts in products}
    dropped = {id(part) for parts in replaced.values() for part in parts[:2]}
    split: set[str] = set()
    nodes: list[Any] = []
    added: list[Any] = []
    for node in graph.node:
        parts = replaced.get(id(node))
        if parts is None:
            if id(node) not in dropped:
                nodes.append(node)
            continue
        _cast, _mul, weights, scale = parts
        x, name = node.input[0], node.name or node.output[0]
        largest = magnitudes[x]
        outliers = np.sort(np.argsort(-largest, kind="stable")[: min(OUTLIERS, len(largest))]).astype(
            np.int64
        )
        if x not in split:
            split.add(x)
            keep = np.ones(len(largest), dtype=np.float32)
            keep[outliers] = 0.0
            added += [
                numpy_helper.from_array(keep, f"{x}_int8_keep"),
                numpy_helper.from_array(outliers, f"{x}_outliers"),
            ]
            nodes.append(helper.make_node("Mul", [x, f"{x}_int8_keep"], [f"{x}_int8_in"]))
            nodes.append(helper.make_node("Gather", [x, f"{x}_outliers"], [f"{x}_outlier_in"], axis=-1))
        columns = numpy_helper.to_array(scale).reshape(-1).astype(np.float32)
        outlier_rows = numpy_helper.to_array(weights)[outliers].astype(np.float32) * columns[None, :]
        added += [
            numpy_helper.from_array(columns, f"{name}_column_scales"),
            numpy_helper.from_array(outlier_rows, f"{name}_outlier_rows"),
        ]
        nodes += [
            helper.make_node(
                OPERATOR,
                [f"{x}_int8_in", weights.name, f"{name}_column_scales"],
                [f"{name}_int8"],
                domain=_DOMAIN,
            ),
            helper.make_node("MatMul", [f"{x}_outlier_in", f"{name}_outlier_rows"], [f"{name}_outliers"]),
            helper.make_node("Add", [f"{name}_int8", f"{name}_outliers"], list(node.output)),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(added)
    if not any(o.domain == _DOMAIN for o in proto.opset_import):
        proto.opset_import.append(helper.make_opsetid(_DOMAIN, 1))
