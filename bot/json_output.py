"""What the CLI prints for programs: answers, passages, summaries and status as JSON, and the
error rows of ``ask --jsonl`` (one JSON document per line)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def dumps(document: Any) -> str:
    """One line of JSON, non-ASCII text kept readable (control characters are escaped)."""
    return json.dumps(document, ensure_ascii=False)


def hits_json(hits: Sequence[Any]) -> list[dict[str, Any]]:
    """Ranked passages with their scores, place in the article and text; ``also_in`` names the
    collapsed copies (doc ids) and ``also_outlets`` the other outlets among them."""
    return [
        {
            "rank": i,
            "score": round(h.score, 5),
            "dense": h.dense_score,
            "keyword_rank": h.keyword_rank,
            "doc_id": h.passage.doc_id,
            "title": h.passage.title,
            "start": h.passage.start,
            "end": h.passage.end,
            "also_in": list(h.also_in),
            "also_outlets": list(h.also_outlets),
            "text": h.passage.text,
        }
        for i, h in enumerate(hits, 1)
    ]


def undecodable_line(number: int, error: UnicodeDecodeError) -> dict[str, Any]:
    """The row for a ``--jsonl`` input line that is not UTF-8."""
    return {"line": number, "error": f"line {number} is not UTF-8 text (byte {error.start})"}


def refused_question(question: str, error: Exception) -> dict[str, Any]:
    """The row for a ``--jsonl`` question the desk refused (empty, too long...)."""
    return {"question": question[:200], "error": str(error)}
