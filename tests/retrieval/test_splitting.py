"""Passages: sentence-aware, sized for the embedder, with exact offsets."""

from __future__ import annotations

from corpus import SAMPLE_CORPUS
from retrieval.minilm import MiniLMEncoder
from retrieval.sources import read_folder
from retrieval.splitting import pack_sentences, sentence_spans, split_article


def test_every_passage_fits_the_embedder_and_matches_its_offsets(encoder: MiniLMEncoder) -> None:
    articles, _ = read_folder(SAMPLE_CORPUS)
    for article in articles:
        passages = split_article(article.text, encoder.count_tokens, 200, 1)
        assert passages
        for start, end, sentences in passages:
            text = article.text[start:end]
            assert encoder.count_tokens(text) <= 200 + 60  # one long sentence may overflow
            assert all(text[a:b].strip() == text[a:b] and text[a:b] for a, b in sentences)
        covered = {
            s for start, _, sentences in passages for s in [(start + a, start + b) for a, b in sentences]
        }
        assert covered == set(sentence_spans(article.text))


def test_sentences_never_span_paragraphs() -> None:
    text = "First paragraph has no full stop\n\nSecond one does. And a third sentence."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "First paragraph has no full stop",
        "Second one does.",
        "And a third sentence.",
    ]


def test_abbreviations_do_not_end_sentences() -> None:
    text = "U.S. President Joe Biden met Mr. Putin in Geneva. They talked for hours."
    assert len(sentence_spans(text)) == 2


def test_packing_overlaps_by_one_sentence_and_always_advances() -> None:
    spans = [(i, i + 1) for i in range(6)]
    assert list(pack_sentences(spans, [50] * 6, 100, 1)) == [(0, 2), (1, 3), (2, 4), (3, 5), (4, 6)]
    assert list(pack_sentences(spans, [500] * 6, 100, 1)) == [(i, i + 1) for i in range(6)]
