"""Index progress on stderr: a bar on a terminal, plain lines only when asked, else nothing."""

from __future__ import annotations

import io

from bot.progress import PlainLines, progress_bar


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_written_when_stderr_is_not_a_terminal_and_nobody_asked() -> None:
    out = io.StringIO()
    with progress_bar(stream=out) as progress:
        progress(10, 100, "embedding passages")
    assert out.getvalue() == ""


def test_json_output_stays_quiet_even_when_asked() -> None:
    out = io.StringIO()
    with progress_bar(quiet=True, asked=True, stream=out) as progress:
        progress(10, 100, "embedding passages")
    assert out.getvalue() == ""


def test_asked_for_lines_give_the_rate_and_the_time_left_at_most_every_ten_seconds() -> None:
    out, clock = io.StringIO(), _Clock()
    lines = PlainLines(out, every_s=10, clock=clock)
    lines.update(0, 0, "read 5 articles")  # no total yet: nothing to show
    lines.update(0, 1000, "embedding passages")
    clock.now = 4
    lines.update(200, 1000, "embedding passages")  # too soon after the first line
    clock.now = 10
    lines.update(500, 1000, "embedding passages")
    clock.now = 12
    lines.update(1000, 1000, "embedding passages")  # the last one always shows
    assert out.getvalue().splitlines() == [
        "embedding passages: 0/1,000 (0/s)",
        "embedding passages: 500/1,000 (50/s, about 10 s left)",
        "embedding passages: 1,000/1,000 (83/s)",
    ]
