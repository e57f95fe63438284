"""Progress of a long index build on stderr, speaking the core's ``progress(done, total, label)``.

A terminal gets a rich bar with the rate and the time left; anything else (a log file, a test,
a pipe) gets nothing unless asked (``newsdesk index --progress``), and then one plain line at
most every ``every_s`` seconds. JSON output never gets either.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TextIO

Callback = Callable[[int, int, str], None]


@contextmanager
def progress_bar(
    quiet: bool = False, asked: bool = False, stream: TextIO | None = None
) -> Iterator[Callback]:
    """A progress callback for ``stream`` (stderr): a bar on a terminal, plain lines when
    ``asked`` elsewhere, silent when ``quiet`` or when nobody is watching."""
    out = stream or sys.stderr
    if quiet or not (asked or out.isatty()):
        yield lambda done, total, label: None
    elif out.isatty():
        with _rich_bar(out) as update:
            yield update
    else:
        yield PlainLines(out).update


@contextmanager
def _rich_bar(out: TextIO) -> Iterator[Callback]:
    state: dict[str, Any] = {}
    with ExitStack() as stack:

        def update(done: int, total: int, label: str) -> None:
            if not total:
                return
            if "bar" not in state:  # drawn lazily, so a run that fails early prints one line
                bar = _new_bar(out)
                stack.enter_context(bar)
                state["bar"], state["task"] = bar, bar.add_task(label, total=total)
            state["bar"].update(state["task"], completed=done, total=total, description=label)

        yield update


def _new_bar(out: TextIO) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Items per second (passages, while embedding)."""

        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f}/s" if speed else "?/s", style="progress.data.speed")

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=Console(file=out),
        transient=True,
    )


class PlainLines:
    """One line per ``every_s`` seconds: what is done, the rate since the first report, the time left."""

    def __init__(
        self, out: TextIO, every_s: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.out = out
        self.every_s = every_s
        self.clock = clock
        self._start: tuple[float, int] | None = None
        self._last = -1e9

    def update(self, done: int, total: int, label: str) -> None:
        if not total:
            return
        now = self.clock()
        if self._start is None:
            self._start = (now, done)
        if now - self._last < self.every_s and done < total:
            return
        self._last = now
        started, first = self._start
        rate = (done - first) / (now - started) if now > started else 0.0
        left = f", about {_duration((total - done) / rate)} left" if rate > 0 and done < total else ""
        print(f"{label}: {done:,}/{total:,} ({rate:,.0f}/s{left})", file=self.out, flush=True)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
