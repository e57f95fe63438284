"""Countries named in a sentence, and questions that ask for one."""

from __future__ import annotations

import pytest

from prompts.places import ASKS_FOR_COUNTRY, countries_in


@pytest.mark.parametrize(
    ("sentence", "found"),
    [
        ("Five Americans imprisoned in Iran were freed.", ("Iran",)),
        ("Talks between the United States and the U.K. resumed.", ("United States", "U.K.")),
        ("Papua New Guinea and New Zealand signed a pact.", ("Papua New Guinea", "New Zealand")),
        ("The Indianapolis Colts won on Sunday.", ()),
        ("Georgia's governor spoke.", ("Georgia",)),
    ],
)
def test_countries_are_found_as_written(sentence: str, found: tuple[str, ...]) -> None:
    assert countries_in(sentence) == found


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("Which country may be officially changing its name?", True),
        ("The US made a deal with which country to free five Americans?", True),
        ("Which European nations joined the pact?", True),
        ("Which team won the World Cup?", False),
        ("What did the country's president say?", False),
    ],
)
def test_questions_asking_for_a_country(question: str, asks: bool) -> None:
    assert bool(ASKS_FOR_COUNTRY.search(question)) is asks
