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
    return model.SerializeToString(), rewritten


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
