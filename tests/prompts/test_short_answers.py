"""The direct answer line is a span of the kind asked for, given only when the evidence ties it to
the question (hand-made passages; no index)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from prompts import short_answers
from prompts.answer_kinds import Span, kind_of
from prompts.answer_weights import SHORT_FEATURES, TIED_CONFIDENCE, TIED_NEAR
from prompts.extractive import answer_extractively
from prompts.sentence_scoring import Candidate, Question, read_question, score_sentences
from prompts.short_answers import (
    by_the_noun,
    direct_answer,
    short_answer,
    short_features,
    short_lines,
    short_span,
    tied,
)
from retrieval.models import SearchHit
from tests.prompts.seed_hits import text_hit


def _hit(text: str, doc: str = "d", score: float = 0.7) -> SearchHit:
    return text_hit(text, doc=doc, outlet="Herald", published=date(2023, 9, 1), score=score)


def _line(question: str, text: str) -> tuple[int, str] | None:
    """The direct answer line before the gate: (which of the best sentences, its text)."""
    read = read_question(question)
    candidates = score_sentences(read, [_hit(text)])
    found = short_answer(read, candidates)
    if found is None:
        return None
    i, span = found
    assert candidates[i].text[span.start : span.end] == span.text  # verbatim, offsets in the sentence
    return i, span.text


def _short(question: str, text: str) -> str | None:
    found = _line(question, text)
    return found[1] if found else None


@pytest.mark.parametrize(
    ("question", "text", "short"),
    [
        (  # a place the sentence puts something in, not the body named before it
            "The Continental Congress adopted the Declaration of Independence in which city?",
            "Independence Day\n\nThe Declaration of Independence was adopted by delegates to the "
            "Second Continental Congress in Philadelphia. Fireworks followed in later years.",
            "Philadelphia",
        ),
        (  # "which state": the state, not the longer name around it or another country
            "Which state is adding more homeless people than any other?",
            "Homelessness report\n\nCalifornia Governor Gavin Newsom said the state is adding more "
            "homeless people every year than Mexico and Canada combined.",
            "California",
        ),
        (  # "which country": not the country the question already names ("the US")
            "The US bought the Louisiana Territory from which country?",
            "Louisiana Purchase\n\nThe treaty between the United States and France gave the US "
            "the Louisiana Territory for 15 million dollars.",
            "France",
        ),
        (  # "when": the date with the clock time that follows it
            "When does daylight saving time end?",
            "Clocks change\n\nDaylight saving time officially ends Sunday, Nov. 5 at 2 a.m. Clocks "
            "will fall back one hour.",
            "Sunday, Nov. 5 at 2 a.m.",
        ),
        (  # "in what time?" is how long, with the unit the question does not name
            "The teenager solved the cube in what time?",
            "Cube record\n\nThe teenager solved the cube in a time of 3.13 seconds at a contest in "
            "Wuhu on Saturday, a world record time.",
            "3.13 seconds",
        ),
    ],
)
def test_the_short_answer_is_of_the_kind_asked(question: str, text: str, short: str) -> None:
    assert _short(question, text) == short


def test_who_is_answered_by_a_performer_not_the_venue() -> None:
    text = (
        "Halftime show\n\nThe halftime show at Allegiant Stadium will be headlined by Usher, the "
        "league announced on Sunday."
    )
    assert _short("Who will headline the halftime show?", text) == "Usher"


def test_in_what_time_asks_for_a_number_and_what_time_for_a_time() -> None:
    assert kind_of("She solved the cube in what time?") == "number"
    assert kind_of("What time does the show start?") == "when"


def test_the_short_answer_comes_from_the_second_sentence_when_the_lead_has_none() -> None:
    text = (
        "Halftime show\n\nThe Super Bowl halftime show at Allegiant Stadium will be headlined by a "
        "star act, the league said on Sunday. The singer chosen to headline is R&B star Usher, who "
        "has sold millions of records."
    )
    question = "Who will headline the Super Bowl halftime show?"
    answer = answer_extractively(question, [_hit(text)], min_relevance=0.25, max_sentences=4)
    assert "Allegiant Stadium" in answer.citations[0].quote  # the lead names only the venue
    assert _line(question, text) == (1, "Usher")


@pytest.mark.parametrize(
    ("question", "text", "short"),
    [
        (  # the name right before the noun asked by
            "Thousands of people were recently stranded at which festival?",
            "Desert exodus\n\nThousands of people began to leave the Burning Man festival in the "
            "Nevada desert on Monday after rain-soaked roads dried up.",
            "Burning Man",
        ),
        (  # the noun, then an appositive naming it
            "Which major pharmacy chain filed for bankruptcy?",
            "Drugstore bankruptcy\n\nOne of the largest pharmacy chains in the country, Rite Aid "
            "filed for bankruptcy on Sunday in New Jersey.",
            "Rite Aid",
        ),
        (  # "called": the name the noun is given
            "Scientists named a newly found frog species after which singer?",
            "New frog species\n\nScientists in Brazil named a newly found frog species after the "
            "singer called Taylor Swift in a paper published on Monday.",
            "Taylor Swift",
        ),
        (  # an appositive of a name the question gives
            "Which breed of dog is Commander, the president's dog that bit Secret Service agents?",
            "Biting incidents\n\nThe president's dog bit Secret Service agents: Commander, a German "
            "Shepherd who was gifted to the Bidens in 2021, bit an agent in October.",
            "German Shepherd",
        ),
    ],
)
def test_which_x_is_answered_by_a_name_the_sentence_ties_to_x(question: str, text: str, short: str) -> None:
    assert _short(question, text) == short


@pytest.mark.parametrize(
    ("question", "text"),
    [
        (  # names, but none tied to "animal": no short line rather than a wrong one
            "Scientists found the cause of high radioactivity in which wild European animal?",
            "Radioactive animals\n\nScientists in Germany found the cause of high radioactivity in "
            "Europe's wild animals, a study published on Monday said.",
        ),
        (  # a lone modifier before the noun is not its name
            "Jordan Ray will compete in which two events at the Olympics?",
            "Two sports\n\nJordan Ray will compete in two Olympic events at the Olympics in Paris, "
            "his coach said.",
        ),
        (  # "what" with no noun wants more than a span
            "Elon Musk has rebranded Twitter as what?",
            "Rebrand\n\nElon Musk said on Monday that Twitter will be rebranded as X in San Francisco.",
        ),
    ],
)
def test_which_x_gets_no_short_line_without_a_tied_name(question: str, text: str) -> None:
    assert _short(question, text) is None


# -- the gate: a line only when the evidence ties it to what was asked -----------------------


def test_an_unsure_answer_keeps_its_sentences_but_gives_no_line() -> None:
    text = (
        "Port reopens\n\nThe dock workers' strike at the port of Eastbay ended on Tuesday after eleven "
        "days, union leader Maria Kovacs said. Ships began to unload on Wednesday."
    )
    question = "How long did the dock strike last?"
    answer = answer_extractively(question, [_hit(text, score=0.7)], min_relevance=0.25, max_sentences=4)
    assert answer.grounded and "eleven days" in answer.citations[0].quote
    assert answer.confidence is not None and answer.confidence < TIED_CONFIDENCE
    assert _short(question, text) == "eleven days"  # the line the gate was asked about
    assert answer.short is None  # one report, an unsure answerer: the sentence says it, no line


@pytest.mark.parametrize(
    ("confidence", "near", "tied_"),
    [
        (0.95, 0.80, True),  # most of the question right around the line, and a sure answerer
        (0.95, 0.50, False),  # the question's words are elsewhere in the sentence
        (0.60, 1.00, False),  # the answerer is unsure
    ],
)
def test_a_line_is_tied_by_the_question_s_words_around_it_when_the_answerer_is_sure(
    confidence: float, near: float, tied_: bool
) -> None:
    assert tied((confidence, 0.5, 0.25, near)) is tied_


def _features(question: str, text: str, confidence: float = 0.9) -> tuple[float, ...]:
    read = read_question(question)
    candidates = score_sentences(read, [_hit(text)])
    found = short_answer(read, candidates)
    assert found is not None
    i, span = found
    return short_features(read, candidates[i], span, confidence)


def test_the_gate_reads_the_question_s_words_near_the_span() -> None:
    near = SHORT_FEATURES.index("near")
    close = _features("When did Xi last visit Russia?", "Visits\n\nXi last visited Russia in 2019.")
    far = _features(
        "When did Xi last visit Russia?",
        "Visits\n\nXi last visited Russia, the Kremlin said in a long statement about energy, grain, "
        "trade and many other matters on Tuesday, in 2019.",
    )
    assert close[near] >= TIED_NEAR > far[near]


def test_the_gate_counts_the_spans_of_the_kind_asked_in_the_sentence() -> None:
    spans = SHORT_FEATURES.index("spans")
    one = _features("Who wrote the anthem?", "Anthem\n\nFrancis Scott Key wrote the anthem in 1814.")
    many = _features(
        "Who wrote the anthem?",
        "Anthem\n\nFrancis Scott Key wrote the anthem, John Smith said, as Mary Jones and Peter "
        "Brown and Anna Lee looked on.",
    )
    assert one[spans] < many[spans]
    assert one[0] == many[0] == 0.9  # the refusal's confidence, as given


# -- where the line may come from: any of the three sentences, the likeliest (session 9) -------


_DST = (
    "Clocks change\n\nStandard time will be in effect until Sunday, March 12 at 2 a.m., when "
    "clocks spring forward. Prices of lamps rose in the autumn. Daylight saving time officially "
    "ends Sunday, Nov. 5 at 2 a.m. as it does every year."
)


def _sentences(
    question: str, text: str, order: tuple[int, ...], scores: tuple[float, ...]
) -> tuple[Question, list[Candidate]]:
    """The sentences of ``text`` as candidates, in ``order`` (by position), with ``scores``."""
    read = read_question(question)
    by_place = sorted(score_sentences(read, [_hit(text)]), key=lambda c: c.start)
    return read, [replace(by_place[k], score=p) for k, p in zip(order, scores, strict=True)]


def test_every_answer_sentence_up_to_three_offers_a_line() -> None:
    read, picked = _sentences(
        "When does daylight saving time officially end?", _DST, (0, 1, 2), (0.6, 0.5, 0.5)
    )
    lines = [(i, span.text) for i, span in short_lines(read, picked)]
    assert lines == [(0, "Sunday, March 12 at 2 a.m."), (2, "Sunday, Nov. 5 at 2 a.m.")]  # the 2nd has none
    assert short_answer(read, picked) == short_lines(read, picked)[0]  # the lead-most, before the gate


def test_the_line_tied_to_the_question_comes_from_the_third_sentence() -> None:
    """The lead's date answers another question (when clocks spring forward); the third
    sentence's stands right by "daylight saving time officially ends"."""
    read, picked = _sentences(
        "When does daylight saving time officially end?", _DST, (0, 1, 2), (0.6, 0.5, 0.5)
    )
    found = direct_answer(read, picked, confidence=0.9)
    assert found is not None
    i, span = found
    assert (i, span.text) == (2, "Sunday, Nov. 5 at 2 a.m.")
    assert picked[i].text[span.start : span.end] == span.text  # verbatim, offsets in its sentence


def test_the_likeliest_line_is_shown_not_the_lead_most() -> None:
    """No line is tied; the gate's chance is higher for the sentence the answerer trusts more."""
    text = (
        "Strike\n\nWorkers at a plant owned by Acme Corp walked out, as did staff at Bolt Inc and "
        "Cobalt Ltd and Dyna Group. The union said Kellogg workers walked off the job on Tuesday."
    )
    question = "Workers at which company walked off the job?"
    read, picked = _sentences(question, text, (0, 1), (0.45, 0.9))
    lines = short_lines(read, picked)
    assert [i for i, _ in lines] == [0, 1]
    features = [short_features(read, picked[i], s, 0.8) for i, s in lines]
    assert not any(tied(f) for f in features)  # the answerer is not sure enough for the tie rule
    found = direct_answer(read, picked, confidence=0.8)
    assert found is not None and found[0] == 1 and found[1].text == "Kellogg"


def test_no_line_when_no_sentence_s_line_is_likely_enough() -> None:
    read, picked = _sentences(
        "When does daylight saving time officially end?", _DST, (0, 1, 2), (0.1, 0.1, 0.1)
    )
    assert direct_answer(read, picked, confidence=0.3) is None  # unsure and untied: none


@pytest.mark.parametrize(
    ("question", "sentence", "name", "tied_"),
    [
        # the name holds the noun asked by
        ("Which team was knocked out by Sweden?", "Sweden defeated Team USA 0-0 (5-4).", "Team USA", True),
        # a player of the team is not the team
        (
            "Which team was knocked out by Sweden?",
            "U.S. goalkeeper Alyssa Naeher starred in the loss against Sweden.",
            "Alyssa Naeher",
            False,
        ),
        # the sentence ties the name to the noun ("the Burning Man festival")
        (
            "Thousands were stranded at which festival?",
            "Thousands left the Burning Man festival on Monday.",
            "Burning Man",
            True,
        ),
        # an appositive of a name the question gives
        (
            "Which breed of dog is Commander?",
            "An agent was bitten by Commander, a German Shepherd gifted in 2021.",
            "German Shepherd",
            True,
        ),
        # no noun asked by: never tied
        ("Who was knocked out by Sweden?", "Sweden defeated Team USA 0-0 (5-4).", "Team USA", False),
        # a lone word is not "the team" even when it is the noun
        ("Which team won?", "The team won on Sunday, fans of Team said.", "Team", False),
    ],
)
def test_a_line_is_by_the_noun_when_the_sentence_ties_it_to_x_or_it_holds_x(
    question: str, sentence: str, name: str, tied_: bool
) -> None:
    start = sentence.index(name)
    span = Span(start, start + len(name), name)
    assert by_the_noun(read_question(question), sentence, span) is tied_


def test_the_gate_reads_whether_the_line_is_by_the_noun() -> None:
    noun = SHORT_FEATURES.index("noun")
    text = "World Cup\n\nSweden defeated Team USA 0-0 (5-4) in a penalty shootout on Sunday."
    by_noun = _features("Which team was knocked out by Sweden in a penalty shootout?", text)
    plain = _features("Who was knocked out by Sweden in a penalty shootout?", text)
    assert len(by_noun) == len(SHORT_FEATURES)
    assert (by_noun[noun], plain[noun]) == (1.0, 0.0)


def test_a_line_by_the_noun_is_verbatim_with_its_offsets() -> None:
    read = read_question("Which team was knocked out by Sweden in a penalty shootout?")
    [cand] = score_sentences(read, [_hit("World Cup\n\nSweden defeated Team USA 0-0 on Sunday.")])
    span = short_span(read, cand)
    assert span is not None and cand.text[span.start : span.end] == span.text == "Team USA"


def test_a_line_by_the_noun_counts_only_the_names_by_that_noun() -> None:
    """Three names, one of them a breed: the line is as unambiguous as a sentence's only name."""
    spans = SHORT_FEATURES.index("spans")
    text = (
        "Biting incidents\n\nAn agent was bitten by Commander, a German Shepherd who was gifted to "
        "the Bidens in December after another dog, Major, left the White House."
    )
    by_noun = _features("Which breed of dog is Commander?", text)
    assert by_noun[SHORT_FEATURES.index("noun")] == 1.0
    assert by_noun[spans] == 0.25


# Type checks per asked kind (prompts.short_answers.TYPE_CHECKS; each measured on the tuning half).


@pytest.mark.parametrize(
    ("question", "text", "unchecked"),
    [
        (  # "which candidate": a country by itself is where, not who ("who-not-country")
            "Which candidate will skip the debate?",
            "Debate\n\nOfficials said Mexico will skip the debate next week.",
            "Mexico",
        ),
        (  # "in what time": a number that is not a time ("duration")
            "In what time did she solve the cube?",
            "Cube\n\nThe 21 contestants watched her solve the cube in Wuhu.",
            "21 contestants",
        ),
        (  # "where": a name the sentence does not put anything in or at ("where-place")
            "Where did the debate take place?",
            "Debate\n\nThe GOP debate took place on Wednesday, the Republican National Committee said.",
            "GOP",
        ),
    ],
)
def test_a_line_not_of_the_kind_asked_is_not_offered(
    question: str, text: str, unchecked: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _short(question, text) is None  # the shipped checks
    monkeypatch.setattr(short_answers, "TYPE_CHECKS", frozenset())
    assert _short(question, text) == unchecked


def test_a_which_team_line_may_be_a_country() -> None:
    text = "Final\n\nIn the final, Spain beat the hosts on Sunday."
    assert _short("Which team won the World Cup?", text) == "Spain"


def test_a_plain_who_line_may_be_a_country() -> None:  # a country hosts, wins, sanctions
    text = "Summit\n\nThe summit will be hosted by France next year, officials said."
    assert _short("Who will host the summit?", text) == "France"


def test_a_duration_keeps_its_time_unit() -> None:
    text = "Cube\n\nThe teenager solved it in 3.13 seconds, ahead of 21 rivals."
    assert _short("In what time did the teenager solve it?", text) == "3.13 seconds"


@pytest.mark.parametrize(
    ("check", "question", "text", "unchecked"),
    [
        (  # not shipped: a number of another measure ("four years" for "how many titles")
            "measure",
            "How many titles has the team won?",
            "Rugby\n\nThe team has played the sport for 32 years.",
            "32 years",
        ),
        (  # not shipped: a number of another thing ("39 hospitals" for "how many employees")
            "count",
            "How many hospital employees walked off the job?",
            "Strike\n\nWorkers at 39 hospitals walked off the job on Wednesday.",
            "39 hospitals",
        ),
        (  # not shipped: a "who" line the sentence puts something in
            "who-not-in",
            "Who said he would skip the debate?",
            "Debate\n\nThe debate will be held at the library in Simi Valley on Wednesday.",
            "Simi Valley",
        ),
    ],
)
def test_the_measured_checks_not_shipped_drop_their_lines_when_set(
    check: str, question: str, text: str, unchecked: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert check in short_answers.ALL_CHECKS and check not in short_answers.TYPE_CHECKS
    assert _short(question, text) == unchecked
    monkeypatch.setattr(short_answers, "TYPE_CHECKS", frozenset({check}))
    assert _short(question, text) is None


def test_the_shipped_checks_are_measurable_ones() -> None:
    assert short_answers.TYPE_CHECKS <= set(short_answers.ALL_CHECKS)


def test_how_long_may_ask_a_length_or_a_time() -> None:
    bridge = "Bridge\n\nThe new bridge over the bay runs 1.7 miles from shore to shore."
    assert _short("How long is the new bridge?", bridge) == "1.7 miles"
    strike = "Strike\n\nThe 75 workers stayed on strike for 46 days before a deal."
    assert _short("How long did the workers strike?", strike) == "46 days"
    assert _short("In what time did the bridge open?", bridge) is None  # a length is no time
