"""The agreed split of RealTimeQA into a tuning half and a held-back (reporting) half.

By the ISO week of the question's quiz date: an even week number is for tuning, an odd one is
held back for reporting. Tune only on "tune"; report both, saying which is which.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, Protocol

Half = Literal["tune", "report"]


class Dated(Protocol):
    @property
    def date(self) -> date | None: ...


def half(q: Dated) -> Half:
    """ "tune" for an even ISO week of the quiz date, "report" for an odd one (or no date)."""
    if q.date is None:
        return "report"
    return "tune" if q.date.isocalendar().week % 2 == 0 else "report"
