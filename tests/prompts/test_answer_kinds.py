"""The kind of answer a question asks for, and spans of that kind (table tests)."""

from __future__ import annotations

import pytest

from prompts.answer_kinds import (
    asked_noun,
    asking_sentence,
    asks_which,
    candidate_spans,
    kind_of,
    new_spans,
    question_words,
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When is the first crossing?", "when"),
        ("What date did the talks start?", "when"),
        ("How many people were in the delegation?", "number"),
        ("How much did the contract cost?", "number"),
        ("What percentage of voters backed the plan?", "number"),
        ("Who is the head of Rosneft?", "who"),
        ("Which veteran US television host was hospitalised this week?", "who"),
        ("Which company bought the port?", "who"),
        ("Where did the leaders meet?", "where"),
        ("Which country did Blinken visit this week?", "where"),
        ("Why was the warrant issued?", "why"),
        ("What did Kirby say about a ceasefire?", "what"),
        # the kind comes from the sentence that asks, not a "when" or "who" in the context before it
        ("Sen. Laphonza Butler made history when she was sworn in. Which state does she represent?", "where"),
        ("An NFT recently commanded attention when it was sold for $2,844. What does NFT stand for?", "what"),
        ("Richard Barnett is one of the people who stormed the Capitol. What was he charged with?", "what"),
        ("Bunkers were built during WWII. They were nicknamed what?", "what"),
        ("When did Mr. Smith visit the plant?", "when"),  # "Mr." does not end a sentence
    ],
)
def test_kind_of_question(question: str, kind: str) -> None:
    assert kind_of(question) == kind


@pytest.mark.parametrize(
    ("sentence", "kind", "expected"),
    [
        ("The first crossing is due on 14 April, the operator said.", "when", "14 April"),
        ("Talks began on Monday in Geneva.", "when", "on Monday"),
        ("The ferries enter service in the spring of 2028.", "when", "the spring of 2028"),
        ("The NHS will vaccinate 13-14 million people.", "number", "13-14 million"),
        ("The contract is worth $64 million.", "number", "$64 million"),
        ("Russia's six-person delegation was smaller.", "number", "six"),
        ("It includes Igor Sechin, head of Rosneft.", "who", "Igor Sechin"),
    ],
)
def test_spans_of_the_kind_asked_for(sentence: str, kind: str, expected: str) -> None:
    assert expected in [s.text for s in candidate_spans(sentence, kind)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The Kessler Bridge was closed for fourteen months.", ["fourteen"]),
        ("Repairs took sixteen weeks and cost seventeen million.", ["sixteen", "seventeen million"]),
        ("Dozens of flights were cancelled; four were delayed.", ["Dozens", "four"]),
        ("The strike lasted eleven days.", ["eleven"]),
    ],
)
def test_a_number_word_is_read_whole(sentence: str, expected: list[str]) -> None:
    """ "four" is not the start of "fourteen": the alternation lists it first."""
    assert [s.text for s in candidate_spans(sentence, "number")] == expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The ferry service will run twice a day from December.", ["twice a day"]),
        ("Inspectors visit three times a year.", ["three times a year"]),
        ("Buses will run every two weeks.", ["every two weeks"]),
        ("The market opens once a week and the paper is published daily.", ["once a week", "daily"]),
        ("The report is updated monthly, with 40 new entries.", ["monthly", "40"]),
    ],
)
def test_a_frequency_is_an_answer_of_the_number_kind(sentence: str, expected: list[str]) -> None:
    """ "How often ...?" asks for a frequency: one span, not its number alone."""
    assert [s.text for s in candidate_spans(sentence, "number")] == expected


def test_a_sentence_opening_pronoun_is_not_a_name() -> None:
    spans = [s.text for s in candidate_spans("He and Xi agreed to extend the treaty.", "who")]
    assert spans == ["Xi"]


def test_spans_the_question_already_names_are_not_new() -> None:
    words = question_words("Who met Sergei Ryabkov in Moscow?")
    found = [s.text for s in new_spans("Karen Donfried met Sergei Ryabkov in Moscow.", "who", words)]
    assert found == ["Karen Donfried"]


@pytest.mark.parametrize(
    ("question", "which"),
    [
        ("Which airline will begin weighing passengers?", True),
        ("Which type of products were removed from the shelves?", True),
        ("What did Putin write about foreign policy?", False),
        ("Under what conditions can Russian athletes compete?", False),
        ("Which did the court choose?", False),
        ("Who won the World Series?", False),
    ],
)
def test_asks_which_names_a_thing_by_its_noun(question: str, which: bool) -> None:
    assert asks_which(question) is which


@pytest.mark.parametrize(
    ("question", "asking"),
    [
        (
            "Butler made history when she was sworn in. Which state does she represent?",
            "Which state does she represent?",
        ),
        ('He said "it is over." Who won?', "Who won?"),
        ("What did Dr. Smith say about the U.S. Army?", "What did Dr. Smith say about the U.S. Army?"),
        ("Name the winner of the race", "Name the winner of the race"),
        ("Bunkers were built in WWII. They were nicknamed what?", "They were nicknamed what?"),
        ("The vote is today. Congrats!  Now, tell me", "The vote is today. Congrats! Now, tell me"),
    ],
)
def test_asking_sentence_is_the_last_one_with_a_question_mark(question: str, asking: str) -> None:
    assert asking_sentence(question) == asking


def test_asks_which_reads_the_asking_sentence() -> None:
    assert asks_which("Who knew? Which airline will begin weighing passengers?")
    assert not asks_which("Which airline was it, she asked. Who won?")


@pytest.mark.parametrize(
    ("question", "noun"),
    [
        ("Thousands of people were recently stranded at which festival?", "festival"),
        ("Which breed of dog is Commander?", "breed"),
        ("Which type of pet belonging to the president was removed?", "pet"),
        ("Which major pharmacy chain filed for bankruptcy?", "chain"),
        ("Which legendary music artist recently retired?", "artist"),
        ("What team won the World Series?", "team"),
        ("The UK's bees are in danger from which invasive species, according to a report?", "species"),
        ("What did Kirby say about a ceasefire?", ""),
        ("Elon Musk has rebranded Twitter as what?", ""),
        ("Who won the race?", ""),
    ],
)
def test_asked_noun_is_the_noun_a_which_question_asks_by(question: str, noun: str) -> None:
    assert asked_noun(question) == noun
