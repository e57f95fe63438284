"""What the CLI prints for people: answers, passages, summaries and status as plain text.

Everything passes through :func:`printable` on the way out: articles are cleaned of control
characters at ingest, but an index built before that may still hold some.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from config.counts import counted
from config.errors import escape_controls
from config.redaction import redact
from retrieval.cleaning import without_controls


def printable(text: str) -> str:
    """``text`` without terminal control characters (JSON output escapes them instead)."""
    return without_controls(text)


def answer_text(answer: Any) -> str:
    """The answer, its notice, then its sources grouped by article with their URLs."""
    short = getattr(answer, "short", None)  # the direct answer first, then its support
    lines = [short.render(), "", answer.text] if short else [answer.text]
    if answer.notice:
        lines.append(f"({redact(answer.notice)})")
    if answer.citations:
        lines.append("")
        lines.append(f"Sources ({answer.coverage.describe()}):")
    groups: dict[str, list[Any]] = {}
    for c in answer.citations:
        groups.setdefault(c.doc_id, []).append(c)
    for cites in groups.values():
        c = cites[0]
        when = c.published.isoformat() if c.published else "undated"
        marks = "".join(f"[{x.n}]" for x in cites)
        more = f" +{counted(len(c.also_outlets), 'outlet')}" if c.also_outlets else ""
        lines.append(f'{marks} {c.outlet or "Unknown outlet"}, "{c.title}" ({when}){more}')
        if c.url:
            lines.append(f"    {c.url}")
    return printable("\n".join(lines))


def summary_text(result: Any) -> str:
    """A summary or timeline: its heading, then the cited answer it renders as."""
    answer = result.as_answer()
    return printable(f"{answer.question}\n\n{answer_text(answer)}")


def hits_text(hits: Sequence[Any]) -> str:
    """Ranked passages, two lines each: rank, scores and place, then the passage's start."""
    lines: list[str] = []
    for i, h in enumerate(hits, 1):
        dense = f"{h.dense_score:.3f}" if h.dense_score is not None else "-"
        lines.append(
            f"{i:>2}. {h.score:.4f} (dense {dense}, keyword #{h.keyword_rank or '-'}) "
            f"{escape_controls(h.passage.doc_id, keep='')} [{h.passage.start}:{h.passage.end}]"
        )
        lines.append(printable(f"    {' '.join(h.passage.text.split())[:200]}"))
    return "\n".join(lines)


def status_text(status: Any) -> str:
    return printable("\n".join(status.lines()))
