"""The installed ``newsdesk`` command: ``bot.cli.main`` with Ctrl-C covered from the first moment.

A Ctrl-C while Python is still importing (``bot.cli`` itself, or onnxruntime, whose extension
turns the interrupt into ``ImportError: initialization failed``) would otherwise end in a
traceback. Here any failure that follows a Ctrl-C is the one line "interrupted", exit 130.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


class _Interrupt:
    """Remembers that Ctrl-C was pressed, then interrupts as Python's own handler does."""

    def __init__(self) -> None:
        self.seen = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.seen = True
        signal.default_int_handler(signum, frame)


def main() -> int:
    interrupt = _Interrupt()
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not when started ignoring it
        signal.signal(signal.SIGINT, interrupt)
    try:
        from bot.cli import main as run

        return run()
    except BaseException as exc:
        if not (interrupt.seen or isinstance(exc, KeyboardInterrupt)):
            raise
        print("newsdesk: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
