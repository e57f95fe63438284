"""The one error vocabulary: what a user should see as one line, never as a traceback.

Every layer raises these (config is the lowest layer, so retrieval, prompts and bot all can);
the CLI prints ``newsdesk: error: <line>`` and exits with :attr:`UserError.exit_code`, the
Discord bot replies with the line, ephemerally, once (``bot/discord/errors.py``).
Anything else is a bug: logged with its traceback, and the user gets an apology.
"""

from __future__ import annotations

import re
from typing import ClassVar

#: Exit codes of the CLI (``newsdesk --help`` and docs/deploy.md list them for operators).
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
#: ``newsdesk status`` printed everything, but the index cannot answer (none yet, one that needs
#: a rebuild, a database that is down): a monitor's alarm, not a failure of status itself.
EXIT_INDEX_UNUSABLE = 3
#: Another reindex or refresh holds the lock: nothing was done and nothing is wrong; the next
#: run catches up. sysexits.h's EX_TEMPFAIL, so cron wrappers and systemd can let it pass.
EXIT_BUSY = 75


class UserError(Exception):
    """Wrong input or configuration: fix it and try again (exit 2)."""

    exit_code: ClassVar[int] = EXIT_BAD_INPUT


class RunFailed(UserError):
    """The input was fine but the run could not complete (a store, a file, a lock; exit 1)."""

    exit_code: ClassVar[int] = EXIT_FAILED


class Busy(RunFailed):
    """Someone else is doing this already (a reindex holds the lock): try again later (exit 75)."""

    exit_code: ClassVar[int] = EXIT_BUSY


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def escape_controls(text: str, keep: str = "\t\n") -> str:
    """``text`` with control characters but ``keep`` written out as ``\\x1b``: a file named with an
    escape sequence or a newline is shown as such, never acted on by the terminal."""
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else f"\\x{ord(m.group()):02x}", text)


#: the control characters that str.split() folds as whitespace
_SPACES = "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def one_line(error: object) -> str:
    """An error's message (or a warning) on one line: whitespace folded, other control
    characters written out, redacted like everything shown."""
    from config.redaction import redact

    line = redact(" ".join(escape_controls(str(error), keep=_SPACES).split()))
    return line or (type(error).__name__ if isinstance(error, BaseException) else "")
