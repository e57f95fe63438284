"""Judged relevance labels: which pooled articles can state the answer, and the judgements file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bench.data import Question
from bench.judgments import (
    Judgment,
    agreement,
    answer_forms,
    judged_labels,
    judges_agree,
    load_judgments,
    pool_for,
    record,
    states_answer,
)


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        ("4", "the four astronauts docked"),
        ("70,000", "some 70000 people were jailed"),
        ("3.134 seconds", "solved it in 3.13 seconds"),
        ("House Speaker Kevin McCarthy", "Kevin McCarthy announced an inquiry"),
        ("Giant African land snails", "a giant African land snail was spotted"),
        ("Worm", "two worms were revived"),
        ("Beyoncé", "BEYONCE posed with Swift"),
    ],
)
def test_an_answer_variant_counts_as_stating_it(answer: str, text: str) -> None:
    assert states_answer(answer, text)


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        ("Northeast Greenland National Park", "the national park was busy"),
        ("Texas Rangers", "a Texas ranger"),  # a proper name keeps its number
        ("4", "the 40 delegates"),  # word-aligned
    ],
)
def test_no_loose_variant_beyond_the_listed_rules(answer: str, text: str) -> None:
    assert not states_answer(answer, text)


def test_answer_forms_are_padded_for_word_aligned_matching() -> None:
    assert all(f.startswith(" ") and f.endswith(" ") for f in answer_forms("Mike Pence"))
    assert answer_forms("   ") == set()


def test_the_pool_is_each_systems_top_ten_plus_the_silver_ones() -> None:
    ranked = {"newsdesk": [f"n{i}" for i in range(12)], "bm25-articles": ["n0", "b1"], "other": ["x"]}
    pool = pool_for(ranked, ["s1", "n1"])
    assert pool[:10] == [f"n{i}" for i in range(10)]
    assert pool[10:] == ["b1", "s1"]


def test_recorded_verdicts_round_trip_and_label_the_questions(tmp_path: Path) -> None:
    (tmp_path / "keys-report.json").write_text(
        json.dumps({"r000": ["q1", "a"], "r001": ["q1", "b"], "r002": ["q2", "c"]})
    )
    verdicts = tmp_path / "v.tsv"
    verdicts.write_text("r000\t1\treports the event\nr001\t0\tolder story\nr002\t0\tunrelated\n")
    out = tmp_path / "judgments.tsv"
    assert record([verdicts], tmp_path, out) == 3
    judgments = load_judgments(out)
    assert Judgment("q1", "a", True, "reports the event") in judgments
    assert judged_labels(judgments) == {"q1": ("a",), "q2": ()}


def test_agreement_counts_silver_against_the_judgements() -> None:
    q = Question("q1", "?", ("x",), 0, date(2023, 6, 22), silver=("a", "b"))
    judgments = [
        Judgment("q1", "a", False, ""),
        Judgment("q1", "b", False, ""),
        Judgment("q1", "c", True, ""),
    ]
    report = agreement([q], judgments)["report"]
    assert (report["silver_judged_relevant"], report["silver_judged_not"]) == (0, 2)
    assert (report["relevant_not_silver"], report["questions_no_silver_relevant"]) == (1, 1)


def test_a_missing_judgements_file_means_no_labels(tmp_path: Path) -> None:
    assert load_judgments(tmp_path / "none.tsv") == []


def test_judges_agree_counts_agreement_and_kappa() -> None:
    def j(q: str, d: str, rel: bool) -> Judgment:
        return Judgment(q, d, rel, "r")

    first = [j("q1", "a", True), j("q1", "b", False), j("q2", "c", True), j("q2", "d", False)]
    second = [j("q1", "a", True), j("q1", "b", False), j("q2", "c", False), j("q9", "z", True)]
    out = judges_agree(first, second)
    assert (out["pairs"], out["both_relevant"], out["both_not"], out["first_only"]) == (3, 1, 1, 1)
    assert out["agreement"] == round(2 / 3, 3)
    assert out["kappa"] == 0.4  # chance agreement 4/9 ... (2/3 - 4/9) / (5/9)
    assert [d["article"] for d in out["disagreements"]] == ["c"]
    assert judges_agree(first, [])["pairs"] == 0
