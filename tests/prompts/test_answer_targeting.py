"""The offline answerer leads with the sentence that answers, gives a direct short answer, and
refuses only when the evidence is silent (hand-made passages; no index needed)."""

from __future__ import annotations

from datetime import date

from prompts.answer_weights import FEATURES
from prompts.citations import CANNOT_ANSWER
from prompts.extractive import MAX_SENTENCES, answer_extractively
from prompts.sentence_scoring import (
    folded_terms,
    passage_terms,
    read_question,
    score_sentences,
    sentence_features,
)
from prompts.short_answers import short_answer
from retrieval.models import Passage, SearchHit
from tests.prompts.seed_hits import text_hit

FERRY = (
    "Council approves harbour ferry\n\n"
    "The city council approved the new harbour ferry service on Tuesday after a long debate. "
    "The ferry will link the old town with the airport and carry 300 passengers. "
    "The first crossing is scheduled for 14 April, the operator said. "
    "Tickets will cost four dollars, the same as the bus."
)


def hit(
    text: str, *, doc: str = "ferry", published: date | None = date(2026, 3, 2), score: float = 0.6
) -> SearchHit:
    return text_hit(text, doc=doc, outlet="Harbour Herald", published=published, score=score)


def ask(question: str, *hits: SearchHit):
    return answer_extractively(question, list(hits), min_relevance=0.25, max_sentences=4)


def line(question: str, *hits: SearchHit) -> str | None:
    """The direct answer line before the gate (:func:`prompts.short_answers.short_answer`)."""
    read = read_question(question)
    found = short_answer(read, score_sentences(read, list(hits)))
    return found[1].text if found else None


def test_a_when_question_leads_with_the_sentence_carrying_the_date() -> None:
    answer = ask("When is the first crossing?", hit(FERRY))
    assert answer.citations[0].quote == "The first crossing is scheduled for 14 April, the operator said."
    assert line("When is the first crossing?", hit(FERRY)) == "14 April"


#: A second report of the same date: the answerer is sure, and the line is given.
FERRY_WIRE = (
    "Harbour ferry starts in April\n\n"
    "The first crossing of the harbour ferry is on 14 April, the operator said on Wednesday. "
    "Tickets cost four dollars."
)


def test_the_short_answer_is_a_verbatim_span_with_article_offsets() -> None:
    question = "When is the first crossing of the harbour ferry?"
    answer = ask(question, hit(FERRY), hit(FERRY_WIRE, doc="wire", score=0.58))
    assert answer.short is not None
    cited = answer.citations[answer.short.n - 1]
    article = FERRY if cited.doc_id == "ferry" else FERRY_WIRE
    assert article[answer.short.start : answer.short.end] == answer.short.text == "14 April"
    assert answer.to_json()["short"] == {
        "text": "14 April",
        "citation": answer.short.n,
        "start": answer.short.start,
        "end": answer.short.end,
    }


def test_a_how_many_question_gets_the_number() -> None:
    assert line("How many passengers will the ferry carry?", hit(FERRY)) == "300"


#: A one-article folder (a user's): the answer is a frequency, and the question's "often" is in
#: no sentence.
ISLAND_FERRY = (
    "Ferry: cut back\n\n"
    "The ferry service to the island will run twice a day from December, the operator said."
)


def test_the_word_after_how_is_no_term_of_the_question() -> None:
    for question in ("How often will the ferry run?", "How many ferries run?", "How long did it take?"):
        assert not read_question(question).terms & folded_terms("often many long")
    assert read_question("How often will the ferry run?").terms == folded_terms("ferry run")


def test_a_how_often_question_is_answered_with_the_frequency() -> None:
    question = "How often will the ferry run?"
    answer = ask(question, hit(ISLAND_FERRY, doc="island"))
    assert answer.text != CANNOT_ANSWER
    assert answer.citations[0].quote.startswith("The ferry service to the island will run twice a day")
    assert line(question, hit(ISLAND_FERRY, doc="island")) == "twice a day"


def test_a_how_long_question_gets_the_whole_duration() -> None:
    text = "Bridge reopens\n\nThe Kessler Bridge reopened after being closed for fourteen months."
    bridge = hit(text, doc="bridge")
    assert line("How long was the Kessler Bridge closed?", bridge) == "fourteen months"


def test_never_a_headline_and_at_most_three_sentences() -> None:
    answer = ask("What did the council approve about the harbour ferry?", hit(FERRY))
    quotes = [c.quote for c in answer.citations]
    assert "Council approves harbour ferry" not in quotes
    assert 1 <= len(quotes) <= MAX_SENTENCES == 3


def test_a_month_named_only_by_the_article_date_does_not_refuse() -> None:
    answer = ask("What did the council approve at its March meeting?", hit(FERRY))
    assert answer.grounded and answer.citations


def test_a_month_the_evidence_neither_says_nor_is_dated_refuses() -> None:
    answer = ask("What did the council approve at its August meeting?", hit(FERRY))
    assert answer.text == CANNOT_ANSWER


def test_a_name_the_evidence_never_mentions_lowers_the_confidence_and_is_named() -> None:
    plain = ask("When is the first crossing?", hit(FERRY))
    named = ask("When is Macron's first crossing?", hit(FERRY))
    assert named.confidence is not None and plain.confidence is not None
    assert named.confidence < plain.confidence
    assert named.notice is not None and "doesn't mention Macron" in named.notice
    assert plain.notice is None


def test_a_question_whose_names_the_evidence_never_mentions_refuses() -> None:
    answer = ask("What did Emmanuel Macron say about pension reform?", hit(FERRY))
    assert (answer.text, answer.citations, answer.short) == (CANNOT_ANSWER, (), None)


def test_the_unanswered_part_of_a_two_part_question_is_named() -> None:
    answer = ask("When is the first crossing, and who built the ferry?", hit(FERRY))
    assert answer.grounded and "14 April" in answer.text
    assert answer.notice is not None and "who built the ferry" in answer.notice


def test_the_first_sentence_of_a_body_whose_title_is_metadata_can_answer() -> None:
    """A Markdown article keeps its title in front matter: its text starts with a sentence."""
    body = (
        "Dock workers returned to the container terminal on Tuesday after the union accepted a "
        "four percent raise. The strike had stopped ships for nine days."
    )
    passage = hit(body, doc="port")
    titled = SearchHit(
        Passage(
            **{
                **{f: getattr(passage.passage, f) for f in passage.passage.__slots__},
                "title": "Port strike ends after nine days",
            }
        ),
        0.6,
        dense_score=0.6,
    )
    answer = ask("What raise did the union accept?", titled)
    assert "four percent raise" in answer.citations[0].quote


def test_a_which_country_question_gets_a_country_or_no_short_answer() -> None:
    text = (
        "Prisoner deal agreed\n\n"
        "Five Americans detained in Iran were released on Monday under a deal with Washington. "
        "The Department of Justice said the release followed months of talks."
    )
    question = "The US made a deal with which country to free five detained Americans?"
    assert line(question, hit(text, doc="deal")) == "Iran"


def test_a_passage_s_terms_are_its_sentences_terms_or_its_whole_text_s() -> None:
    text = "Putin met Xi in Moscow.  They signed a gas deal."
    covered = Passage("k1", "d", "t", text, 0, len(text), sentences=((0, 23), (25, len(text))))
    partial = Passage("k2", "d", "t", text, 0, len(text), sentences=((0, 23),))
    assert passage_terms(covered) == folded_terms(text)
    assert passage_terms(partial) == folded_terms(text)  # "gas deal" is outside its sentences
    assert "gas" in passage_terms(partial)


AIRLINE = (
    "Airline to weigh passengers\n\n"
    "Staff at Gimpo Airport in Seoul will weigh passengers before domestic flights, a newspaper reported. "
    "Korean Air said it will weigh passengers along with their carry-on bags before flights."
)
AIRLINE_WIRE = (
    "Passengers to step on the scales\n\n"
    "Korean Air will weigh some passengers before flights from next week to update its safety data."
)


def _agree(question: str, *hits: SearchHit) -> dict[str, float]:
    found = sentence_features(read_question(question), list(hits))
    return {c.text: c.features[FEATURES.index("agree")] for c in found}


def test_a_span_other_reports_also_name_is_backed_by_them() -> None:
    agree = _agree(
        "Which airline will begin weighing passengers before flights?",
        hit(AIRLINE, doc="a"),
        hit(AIRLINE_WIRE, doc="b"),
    )
    backed = [t for t, a in agree.items() if a == 1.0]
    assert backed and all("Korean Air" in t for t in backed)
    assert agree[AIRLINE.split("\n\n")[1].split(". ")[0] + "."] == 0.0  # Gimpo, Seoul: no one else


def test_statements_and_relative_dates_are_not_backed() -> None:
    said = _agree(
        "What did Korean Air say about the scales?", hit(AIRLINE, doc="a"), hit(AIRLINE_WIRE, doc="b")
    )
    assert set(said.values()) == {0.0}  # "what did X say" is answered by a statement, not a span
    weekly = (
        "Scales at the gate\n\nThe weighing starts next week at Gimpo. Officials said the data will be "
        "ready next week."
    )
    dated = _agree("When will the airline weigh passengers?", hit(weekly, doc="c"), hit(weekly, doc="d"))
    assert set(dated.values()) == {0.0}  # each article's own "next week"
