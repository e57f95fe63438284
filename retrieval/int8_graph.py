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
runs in memory when the query session is made (~0.2 s: ``onnx`` reads and writes the graph);
the packaged file is checked by sha256 before, as always, and nothing derived is stored. The
channels that calibration picks for the packaged model are kept in :data:`PACKAGED_OUTLIERS`
(keyed by its sha256), so a fresh process does not run the float graph on the calibration
sentences first (0.29 s of a one-question ``newsdesk ask``); any other model is calibrated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
Outliers = dict[str, list[int]]

#: What :data:`CALIBRATION` picks as each product input's :data:`OUTLIERS` channels for the
#: packaged all-MiniLM-L6-v2 int8 graph, by its sha256 (a test recomputes it).
PACKAGED_OUTLIERS: dict[str, Outliers] = {
    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6": {
        "gelu": [602, 691, 799, 856, 875, 887, 1181, 1477],
        "gelu_1": [336, 484, 532, 607, 869, 1157, 1250, 1292],
        "gelu_2": [218, 304, 427, 507, 653, 685, 1004, 1306],
        "gelu_3": [111, 166, 201, 358, 811, 978, 982, 1057],
        "gelu_4": [192, 373, 409, 754, 917, 1097, 1257, 1499],
        "gelu_5": [372, 784, 958, 1106, 1191, 1287, 1297, 1300],
        "layer_norm": [63, 98, 99, 126, 157, 281, 303, 342],
        "layer_norm_1": [63, 99, 157, 246, 267, 303, 347, 359],
        "layer_norm_10": [99, 157, 163, 223, 256, 338, 363, 383],
        "layer_norm_11": [99, 127, 157, 163, 223, 256, 319, 322],
        "layer_norm_2": [63, 99, 157, 163, 223, 267, 338, 347],
        "layer_norm_3": [63, 99, 157, 223, 267, 303, 338, 347],
        "layer_norm_4": [63, 99, 157, 163, 223, 256, 267, 338],
        "layer_norm_5": [63, 99, 157, 163, 223, 267, 338, 347],
        "layer_norm_6": [63, 99, 157, 163, 223, 256, 304, 338],
        "layer_norm_7": [63, 99, 157, 163, 223, 232, 338, 363],
        "layer_norm_8": [63, 99, 157, 163, 223, 232, 256, 338],
        "layer_norm_9": [63, 99, 127, 157, 163, 223, 338, 363],
        "view_11": [32, 41, 51, 54, 60, 128, 138, 256],
        "view_15": [47, 48, 49, 298, 352, 356, 360, 381],
        "view_19": [91, 107, 110, 119, 120, 124, 126, 362],
        "view_23": [81, 87, 166, 253, 259, 277, 297, 311],
        "view_3": [69, 76, 80, 83, 85, 93, 190, 311],
        "view_7": [244, 255, 262, 267, 272, 280, 286, 368],
    }
}


class NotQuantised(ValueError):
    """The graph holds no int8 weight matrix that the rewrite recognises."""


def int8_query_graph(
    model: Path, calibration: Callable[[], Sequence[Feeds]], known: Outliers | None = None
) -> bytes:
    """The serialised graph of ``model`` with each dequantised-weight ``MatMul`` run as an int8
    product plus a float product of its outlier channels: ``known`` ones when they name every
    product's input, else those picked on the ``calibration`` inputs; NotQuantised when the
    graph has no such ``MatMul``."""
    import onnx

    proto = onnx.load(str(model))
    products = _products(proto.graph)
    if not products:
        raise NotQuantised(f"{model} holds no int8 weight matrix to run as int8")
    inputs = sorted({node.input[0] for node, _ in products})
    outliers = known if known is not None and set(known) == set(inputs) else None
    if outliers is None:
        outliers = outlier_channels(_input_magnitudes(proto, inputs, calibration()))
    _rewrite(proto, products, outliers)
    return bytes(proto.SerializeToString())


def outlier_channels(magnitudes: dict[str, np.ndarray]) -> Outliers:
    """Each input's :data:`OUTLIERS` channels of largest magnitude, in channel order."""
    return {
        name: sorted(int(i) for i in np.argsort(-largest, kind="stable")[: min(OUTLIERS, len(largest))])
        for name, largest in magnitudes.items()
    }


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


def _rewrite(proto: Any, products: list[tuple[Any, tuple[Any, Any, Any, Any]]], channels: Outliers) -> None:
    """``y = x @ W`` becomes ``DynamicQuantizeMatMul(x * keep, W_int8, scales) + x[:, out] @ W[out]``
    (``out``: the input's outlier ``channels``, ``keep`` zero there)."""
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
        outliers = np.asarray(channels[x], dtype=np.int64)
        if x not in split:
            split.add(x)
            keep = np.ones(weights.dims[0], dtype=np.float32)
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
