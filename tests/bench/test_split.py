"""The agreed tuning / reporting split of RealTimeQA: by the ISO week of the quiz date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from bench.split import half


@dataclass
class Dated:
    date: date | None


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2023, 6, 22), "report"),  # ISO week 25
        (date(2023, 6, 29), "tune"),  # ISO week 26
        (date(2021, 1, 8), "report"),  # ISO week 1
        (None, "report"),
    ],
)
def test_half_follows_the_iso_week(day: date | None, expected: str) -> None:
    assert half(Dated(day)) == expected
