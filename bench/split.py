"""The agreed split of RealTimeQA: tune on one half, report on the other.

By the ISO week of the question's quiz date: an even week number is the tuning half, an odd one
the held-back (reporting) half. A question without a date is held back.
"""

from __future__ import annotations

from typing import Literal

from bench.data import Question

Half = Literal["tune", "report"]


def half(q: Question) -> Half:
    if q.date is None:
        return "report"
    return "tune" if q.date.isocalendar().week % 2 == 0 else "report"


__all__ = ["Half", "half"]
