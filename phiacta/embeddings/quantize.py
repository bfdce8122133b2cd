"""Run the int8 model's matrix products in int8, rewriting its graph at load time.

The packaged model stores its weights as int8 with a float scale per output column, but
dequantizes them (`Cast` -> `Mul`) in front of ordinary float `MatMul`s, so
onnxruntime folds them back to float32 and computes in float: 5.5 CPU-seconds for 500
claim-length texts. Here each such product becomes an integer one
(`MatMulIntegerToFloat`, onnxruntime's u8 x s8 kernel, VNNI where the CPU has it) and
the activations are quantized per token row, symmetrically:

    y = x @ (W * w_scale)  ~=  ((x_q - 128) @ W) * w_scale * s,   s = max|x_row| / 127

Per-row quantization (rather than one scale per tensor) keeps every text's vector
independent of the batch it is embedded with, which `embed` promises. Measured on the
claim sentences of bench/embed.py: ~2.3x less CPU, cosine to the float computation
>= 0.996. The rows of one input shared by several products (Q, K and V) are quantized
once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import NodeProto, TensorProto, helper, numpy_helper

_MICROSOFT = "com.microsoft"
_EPSILON = "phiacta_q_eps"
_INV_127 = "phiacta_q_inv127"
_SHIFT = "phiacta_q_shift"
_ONE = "phiacta_q_one"
_ZERO_POINT_A = "phiacta_q_zp_a"
_ZERO_POINT_B = "phiacta_q_zp_b"


def quantized_model_bytes(model_path: Path) -> tuple[bytes, int]:
    """The serialized rewritten model and how many products now run in int8."""
    model = onnx.load(str(model_path))
    rewritten = quantize_matmuls(model)
    gather_before_dequantizing(model)
    return model.SerializeToString(), rewritten


def gather_before_dequantizing(model: onnx.ModelProto) -> int:
    """Look up embedding rows in the int8 table, then dequantize only those rows.

    The packaged model dequantizes its whole word-embedding table (`Cast` -> `Mul` by a
    scale per row) in front of a `Gather`; onnxruntime folds that into a float32 table
    at load time: 47 MB more for good, and about twice that for a moment while it folds
    (measured: the load peaks ~90 MB above where it settles). Gathering the int8 rows
    and their scales first computes the same products on the looked-up rows only, so
    the vectors are bit for bit the same. Rewrites `model` in place; the number of
    lookups rewritten."""
    graph = model.graph
    producers = {output: node for node in graph.node for output in node.output}
    initializers = {t.name: t for t in graph.initializer}
    nodes: list[NodeProto] = []
    dropped: set[str] = set()
    rewritten = 0
    for node in graph.node:
        table = _row_dequantized_table(node, producers, initializers)
        if table is None:
            nodes.append(node)
            continue
        quantized, scale, cast, mul = table
        prefix = f"phiacta_g{rewritten}_"
        axis = [helper.make_attribute("axis", 0)]
        gather_q = helper.make_node("Gather", [quantized, node.input[1]], [prefix + "q"])
        gather_s = helper.make_node("Gather", [scale, node.input[1]], [prefix + "s"])
        gather_q.attribute.extend(axis)
        gather_s.attribute.extend(axis)
        nodes += [
            gather_q,
            gather_s,
            helper.make_node("Cast", [prefix + "q"], [prefix + "f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [prefix + "f", prefix + "s"], [node.output[0]]),
        ]
        dropped.update({cast.output[0], mul.output[0]})
        rewritten += 1
    if not rewritten:
        return 0
    still_read = {name for node in nodes if node.output[0] not in dropped for name in node.input}
    kept = [n for n in nodes if n.output[0] not in dropped or set(n.output) & still_read]
    del graph.node[:]
    graph.node.extend(kept)
    return rewritten


def _row_dequantized_table(
    node: NodeProto, producers: dict[str, NodeProto], initializers: dict[str, TensorProto]
) -> tuple[str, str, NodeProto, NodeProto] | None:
    """(int8 table, row scales, Cast, Mul) when `node` gathers rows (axis 0) of
    `Cast(table) * scales` with one scale per row; else None."""
    if node.op_type != "Gather" or any(a.name == "axis" and a.i != 0 for a in node.attribute):
        return None
    mul = producers.get(node.input[0])
    if mul is None or mul.op_type != "Mul":
        return None
    cast = producers.get(mul.input[0])
    scale = initializers.get(mul.input[1])
    if cast is None or cast.op_type != "Cast" or scale is None:
        return None
    table = initializers.get(cast.input[0])
    if table is None or table.data_type != TensorProto.INT8 or len(table.dims) != 2:
        return None
    if list(scale.dims) != [table.dims[0], 1]:
        return None
    return table.name, scale.name, cast, mul


def quantize_matmuls(model: onnx.ModelProto) -> int:
    """Rewrite `model` in place; the number of products rewritten (0: nothing to do)."""
    graph = model.graph
    producers = {output: node for node in graph.node for output in node.output}
    initializers = {tensor.name for tensor in graph.initializer}
    nodes: list[NodeProto] = []
    dropped: set[str] = set()
    rows_of: dict[str, tuple[str, str]] = {}
    rewritten = 0
    for node in graph.node:
        weights = _int8_weights(node, producers, initializers)
        if weights is None:
            nodes.append(node)
            continue
        weight, column_scale, dequantized = weights
        dropped.update(dequantized)
        activations = node.input[0]
        if activations not in rows_of:
            prefix = f"phiacta_q{len(rows_of)}_"
            nodes += _quantize_rows(activations, prefix)
            rows_of[activations] = (prefix + "xq", prefix + "scale")
        quantized, row_scale = rows_of[activations]
        product = f"phiacta_m{rewritten}_y"
        nodes += [
            helper.make_node(
                "MatMulIntegerToFloat",
                [quantized, weight, _ONE, column_scale, _ZERO_POINT_A, _ZERO_POINT_B],
                [product],
                domain=_MICROSOFT,
            ),
            helper.make_node("Mul", [product, row_scale], [node.output[0]]),
        ]
        rewritten += 1
    if not rewritten:
        return 0
    # The dequantizing Cast/Mul pairs now feed nothing; keep them only if something else
    # still reads their output.
    still_read = {name for node in nodes if node.output[0] not in dropped for name in node.input}
    kept = [n for n in nodes if n.output[0] not in dropped or set(n.output) & still_read]
    del graph.node[:]
    graph.node.extend(kept)
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(1e-12, dtype=np.float32), _EPSILON),
            numpy_helper.from_array(np.array(1 / 127, dtype=np.float32), _INV_127),
            # Adding 128.5 and truncating in the uint8 Cast rounds to the nearest step.
            numpy_helper.from_array(np.array(128.5, dtype=np.float32), _SHIFT),
            numpy_helper.from_array(np.array(1.0, dtype=np.float32), _ONE),
            numpy_helper.from_array(np.array(128, dtype=np.uint8), _ZERO_POINT_A),
            numpy_helper.from_array(np.array(0, dtype=np.int8), _ZERO_POINT_B),
        ]
    )
    if not any(o.domain == _MICROSOFT for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(_MICROSOFT, 1))
    return rewritten


def _int8_weights(
    node: NodeProto, producers: dict[str, NodeProto], initializers: set[str]
) -> tuple[str, str, tuple[str, str]] | None:
    """(int8 weight, column scale, outputs of the Cast and Mul nodes) when `node` is a
    MatMul by dequantized int8 weights, else None."""
    if node.op_type != "MatMul":
        return None
    scaled = producers.get(node.input[1])
    if scaled is None or scaled.op_type != "Mul":
        return None
    cast = producers.get(scaled.input[0])
    if cast is None or cast.op_type != "Cast" or cast.input[0] not in initializers:
        return None
    if scaled.input[1] not in initializers:
        return None
    return cast.input[0], scaled.input[1], (cast.output[0], scaled.output[0])


def _quantize_rows(activations: str, prefix: str) -> list[NodeProto]:
    """Nodes making `prefix`xq (uint8, zero point 128) and `prefix`scale (one per row)."""
    return [
        helper.make_node("Abs", [activations], [prefix + "abs"]),
        helper.make_node("ReduceMax", [prefix + "abs"], [prefix + "max"], keepdims=1, axes=[-1]),
        helper.make_node("Max", [prefix + "max", _EPSILON], [prefix + "max_pos"]),
        helper.make_node("Mul", [prefix + "max_pos", _INV_127], [prefix + "scale"]),
        helper.make_node("Reciprocal", [prefix + "scale"], [prefix + "inverse"]),
        helper.make_node("Mul", [activations, prefix + "inverse"], [prefix + "steps"]),
        helper.make_node("Add", [prefix + "steps", _SHIFT], [prefix + "shifted"]),
        helper.make_node("Cast", [prefix + "shifted"], [prefix + "xq"], to=TensorProto.UINT8),
    ]
