"""The direct answer line's gate fit: a threshold that keeps the lines it can trust."""

from __future__ import annotations

import numpy as np
import pytest

from bench.fit_short import Line, Option, chance_of, chosen, figures, fit_gate, main, written_threshold


def _line(qid: str, short: str, right: bool, features: tuple[float, ...], answerable: bool = True) -> Line:
    return Line(
        id=qid,
        question=f"Who won {qid}?",
        answer_text="Ada Lovelace" if right else "Grace Hopper",
        answerable=answerable,
        judged=answerable,
        refused=False,
        lead=f"{short} won it on Sunday.",
        options=(Option(0, short, features, right and answerable),),
    )


def test_a_line_on_an_unanswerable_question_is_never_right() -> None:
    line = _line("u", "Ada Lovelace", True, (0.2, 0.2, 0.25, 0.0), answerable=False)
    assert not line.right


def test_the_threshold_keeps_only_lines_right_often_enough() -> None:
    rng = np.random.default_rng(0)
    lines = []
    for i in range(200):
        sure = float(rng.uniform())
        right = bool(rng.uniform() < sure)  # the surer the evidence, the likelier the line is right
        lines.append(_line(str(i), "Ada Lovelace", right, (sure, sure, 0.25, 0.5)))
    beta, threshold = fit_gate(lines, l2=1.0, precision=0.85)
    kept = np.array([chance_of(x.options[0], beta) >= threshold for x in lines])
    assert 0 < kept.sum() < len(lines)
    assert np.mean([x.right for x, k in zip(lines, kept, strict=True) if k]) >= 0.85


def test_figures_count_given_right_and_wrong_lines_and_the_first_sentence() -> None:
    right = _line("r", "Ada Lovelace", True, (0.9, 0.9, 0.25, 1.0))
    wrong = _line("w", "Charles Babbage", False, (0.9, 0.9, 0.25, 1.0))
    got = figures([right, wrong], {"r": "Ada Lovelace", "w": "Charles Babbage"})
    assert (got["given"], got["right"], got["wrong"], got["right_when_given"]) == (2, 1, 1, 0.5)
    gated = figures([right, wrong], {"r": "Ada Lovelace"})
    assert (gated["given"], gated["right"], gated["wrong"], gated["given_unanswerable"]) == (1, 1, 0, 0)
    assert gated["first_or_short_silver"] == got["first_or_short_silver"] == 0.5  # the lead still says it


def test_a_question_shows_its_likeliest_candidate_line() -> None:
    """One candidate per answer sentence; the gate weighs the one it finds likeliest."""
    beta = np.array([2.0, 2.0, -1.0, 0.0, 0.0, -2.0])  # confidence, sentence, spans, near, noun, bias
    lead = Option(0, "Charles Babbage", (0.9, 0.3, 1.0, 0.2, 0.0), False)
    third = Option(2, "Ada Lovelace", (0.9, 0.8, 0.25, 0.2, 0.0), True)
    line = Line("q", "Who won?", "Ada Lovelace", True, True, False, "Babbage spoke.", (lead, third))
    assert line.short == "Charles Babbage"  # the lead-most, before the gate
    assert chosen(line, beta) == third
    assert chance_of(third, beta) > chance_of(lead, beta)


def test_the_written_threshold_keeps_the_line_that_set_it() -> None:
    # Rounding .5156 to .516 once left out the line whose chance was the fitted threshold.
    assert written_threshold(0.5156) <= 0.5156
    assert written_threshold(0.5156) > 0.5156 - 1e-6
    assert written_threshold(0.5) == 0.5


def test_an_unknown_type_check_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["cv", "--checks", "bogus"])
    assert stop.value.code == 2
    assert "unknown check(s): bogus" in capsys.readouterr().err
