"""One redaction step for everything newsdesk prints, logs or posts.

Secrets reach newsdesk only through environment variables (``Settings.secret``); every value
read that way is remembered here and replaced wherever it appears. Beyond those, text that has
the shape of a credential is replaced too: the ``user:password@`` part of a URL, API keys
(``sk-...``), bearer tokens, Discord bot tokens and ``password=...`` pairs (as in a DSN).
"""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"

# up to the authority's LAST '@' (a password holding a bare '@' is still hidden whole); the
# authority ends at a path, query, fragment, space, or a quote or bracket around the URL
_USERINFO = re.compile(r"""(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#"'<>()\[\]{}]+@""")
_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),  # OpenAI-style API keys
    re.compile(r"\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}"),  # Discord bot tokens
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"),
)
# an unquoted value ends at a space, ',', ';' or '&', and leaves out the quotes and brackets that
# close around it ('url="https://h/?token=abc"', '(api_key=abc)') and a ':' or '.' before a space
# ('?token=abc: HTTP 404'): those are not the secret; a value already masked is left as it is, so
# redacting twice changes nothing
_END = r"""["'>)\]}]*[:.]?(?:[\s,;&]|$)"""
_PAIRS = re.compile(
    rf"(?i)(?<![\w/.-])(password|passwd|pwd|api[_-]?key|token|secret)(\s*[=:]\s*)(?!\[redacted\]{_END})"
    rf"""('[^']*'|"[^"]*"|[^\s,;&]+?(?={_END}))"""
)

_known: set[str] = set()


def remember(secret: str | None) -> None:
    """Redact ``secret`` (a value read from the environment) from everything shown from now on."""
    if secret and len(secret) >= 4:
        _known.add(secret)


def redact(text: str) -> str:
    """``text`` with every remembered secret and every credential-shaped string replaced."""
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    text = _USERINFO.sub(rf"\1{MASK}@", text)
    for pattern in _PATTERNS:
        text = pattern.sub(MASK, text)
    return _PAIRS.sub(rf"\1\2{MASK}", text)


class RedactingFilter(logging.Filter):
    """A handler filter that redacts each record's formatted message (and its traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        return True


def redact_logs(logger: logging.Logger | None = None) -> None:
    """Put a :class:`RedactingFilter` on every handler of ``logger`` (default: the root)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
