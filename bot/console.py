"""The installed ``newsdesk`` command: ``bot.cli.main`` with Ctrl-C covered from the first moment.

A Ctrl-C while Python is still importing (``bot.cli`` itself, or onnxruntime, whose extension
turns the interrupt into ``ImportError: initialization failed``) would otherwise end in a
traceback. Here any failure that follows a Ctrl-C is the one line "interrupted", exit 130.

And after a Ctrl-C the process ends within :data:`GRACE_S` seconds, whatever it was doing. An
interrupt that lands inside Python's import machinery can leave the interpreter's import lock
held while a library catches the error it became and carries on: the next import, in any
thread, then waits for ever (seen under load: the answer's search threads, each importing, and
the command waiting for them).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

#: After Ctrl-C, the longest the process may take to end before it is ended (exit 130).
GRACE_S = 10.0


class _Interrupt:
    """Remembers that Ctrl-C was pressed, then interrupts as Python's own handler does."""

    def __init__(self) -> None:
        self.seen = False
        self._said = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if not self.seen:
            self.seen = True
            deadline = threading.Timer(GRACE_S, self._end)
            deadline.daemon = True
            deadline.start()
        signal.default_int_handler(signum, frame)

    def say(self) -> None:
        """The one line, once."""
        if not self._said:
            self._said = True
            print("newsdesk: interrupted", file=sys.stderr, flush=True)

    def _end(self) -> None:
        self.say()
        os._exit(130)


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
        interrupt.say()
        return 130


if __name__ == "__main__":
    sys.exit(main())
