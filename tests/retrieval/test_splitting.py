"""Passages: sentence-aware, sized for the embedder, with exact offsets."""

from __future__ import annotations

import pytest
from nltk.tokenize.punkt import PunktTokenizer

from corpus import SAMPLE_CORPUS
from retrieval.minilm import MiniLMEncoder
from retrieval.sources import read_folder
from retrieval.splitting import join_spans, pack_sentences, sentence_spans, split_article


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


#: Sentence ends Punkt's English model makes in the RealTimeQA corpus, each before its own
#: continuation (retrieval.splitting.ABBREVIATIONS / COLLOCATIONS).
CONTINUED = [
    'In one video, playing off the singer\'s song "Confessions, Pt. II," Kim Kardashian calls Usher.',
    "Florida Gov. Ron DeSantis signed the bill on Monday.",
    "The series was No. 1 in the United Kingdom and No. 2 in France.",
    "Colleyville Police Sgt. Dara Nelson said the hostages were safe.",
    '"Guardians of the Galaxy Vol. 3" made an estimated $32 million.',
    "The service was conducted by the Rev. David Hoyle at Westminster Abbey.",
    "They placed camera traps on the slopes of Mt. Kilkerran last year.",
    "• Avg. ticket price: $9.11.",
]


@pytest.mark.parametrize("sentence", CONTINUED)
def test_news_abbreviations_do_not_end_sentences(sentence: str) -> None:
    text = f"{sentence} Then came the next sentence."
    assert [text[a:b] for a, b in sentence_spans(text)] == [sentence, "Then came the next sentence."]


def test_a_sentence_that_ends_in_a_word_like_an_abbreviation_still_ends() -> None:
    # "no" joins only a number; a title before a word that starts sentences still ends one
    voted = "Most of them voted no. Musk said he would abide by it."
    for text in (voted, "He was a gov. The rest is history."):
        assert len(sentence_spans(text)) == 2


def _old_spans(text: str) -> list[tuple[int, int]]:
    """What the splitter stored before it knew ABBREVIATIONS: Punkt's English model alone."""
    punkt = PunktTokenizer("english")
    return [(a, b) for a, b in punkt.span_tokenize(text)]


def test_spans_stored_by_the_old_splitter_read_as_the_new_one_splits() -> None:
    text = " ".join(CONTINUED) + " Most of them voted no. He was a gov. The rest is history."
    old = _old_spans(text)
    assert len(old) > len(sentence_spans(text))  # the old model split after the abbreviations
    assert join_spans(text, old) == sentence_spans(text)
    assert join_spans(text, sentence_spans(text)) == sentence_spans(text)


def test_stored_spans_are_not_joined_across_paragraphs() -> None:
    text = "He met Gov.\n\nRon DeSantis later."
    spans = sentence_spans(text)
    assert len(spans) == 2
    assert join_spans(text, spans) == spans


def test_packing_overlaps_by_one_sentence_and_always_advances() -> None:
    spans = [(i, i + 1) for i in range(6)]
    assert list(pack_sentences(spans, [50] * 6, 100, 1)) == [(0, 2), (1, 3), (2, 4), (3, 5), (4, 6)]
    assert list(pack_sentences(spans, [500] * 6, 100, 1)) == [(i, i + 1) for i in range(6)]
