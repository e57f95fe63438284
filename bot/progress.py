"""A rich progress bar that speaks the core's ``progress(done, total, label)`` callback."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any


@contextmanager
def progress_bar(quiet: bool = False) -> Iterator[Callable[[int, int, str], None]]:
    """A callback drawing a bar on stderr once there is work to show; silent when ``quiet``."""
    if quiet:
        yield lambda done, total, label: None
        return
    state: dict[str, Any] = {}
    with ExitStack() as stack:

        def update(done: int, total: int, label: str) -> None:
            if not total:
                return
            if "bar" not in state:  # drawn lazily, so a run that fails early prints one line
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                )

                bar = Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=Console(file=sys.stderr),
                    transient=True,
                )
                stack.enter_context(bar)
                state["bar"], state["task"] = bar, bar.add_task(label, total=total)
            state["bar"].update(state["task"], completed=done, total=total, description=label)

        yield update
