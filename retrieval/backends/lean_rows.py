"""The passages' lean rows (``bm25/passages.jsonl``): what the embedded backend shows a passage from.

One JSON object a line, the :class:`Passage`'s own fields, flat, in the BM25 corpus's order,
after a header line naming the splitter whose sentence spans the rows hold
(:data:`retrieval.splitting.SPLITTER`) and the key terms stored for each sentence
(:data:`retrieval.terms.TERMS`). Rows stamped with the current splitter are read as they are;
rows without a stamp (written before it existed) or stamped by another splitter get
:func:`retrieval.splitting.join_spans` applied as they are read, as every row did before; stored
terms are used only under the current :data:`TERMS`. :func:`upgrade` rewrites stale rows once
(on the next reindex): joining spans as they were read was ~1-4 ms of a new question's answer
at 2,837 articles, tokenising and stemming its new sentences ~1 (BENCHMARKS.md section 2).
An upgrade writes a whole new file and renames it into place, so a killed one leaves the old
file, which still reads correctly; a process that has the old file open keeps reading it.
"""

from __future__ import annotations

import dataclasses
import json
import mmap
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from retrieval.catalog import replacing
from retrieval.models import Passage
from retrieval.splitting import SPLITTER, join_spans
from retrieval.store import passage_from_payload
from retrieval.terms import TERMS, sentence_terms

#: The lean rows' file, beside the BM25 corpus.
LEAN_ROWS = "passages.jsonl"
#: The header's format number (a file without a header is format 1).
FORMAT = 2
#: A lean row's keys: the passage's own fields.
_PASSAGE_FIELDS = tuple(f.name for f in dataclasses.fields(Passage))


def lean_row(row: dict[str, Any]) -> dict[str, Any]:
    """What a passage shown from the corpus ``row`` needs, flat (no nested node JSON to decode
    twice); its sentence spans joined by the current splitter, as reading ``row`` joins them,
    and each sentence's key terms."""
    p = passage_from_payload(row["node_id"], row)
    lean = {name: getattr(p, name) for name in _PASSAGE_FIELDS}
    lean["published"] = p.published.isoformat() if p.published else None
    lean["terms"] = sentence_terms(p.text, p.sentences)
    return lean


def passage_from_lean(row: dict[str, Any], joined: bool = False, termed: bool = False) -> Passage:
    """The passage of a decoded lean row; ``joined``: its spans are the current splitter's
    (else they are joined here, as an unstamped row's always were); ``termed``: its stored
    terms are the current :data:`TERMS`'s (else they are left out)."""
    published = row["published"]
    spans = [(a, b) for a, b in row["sentences"]]
    return Passage(
        **{
            **row,
            "published": date.fromisoformat(published) if published else None,
            "sentences": tuple(spans if joined else join_spans(row["text"], spans)),
            "terms": row.get("terms", "") if joined and termed else "",
        }
    )


def header() -> dict[str, Any]:
    """The first line of a lean-rows file written now."""
    return {"lean_rows": FORMAT, "splitter": SPLITTER, "terms": TERMS}


def _current(found: dict[str, Any] | None) -> tuple[bool, bool]:
    """Whether a header's spans are the current splitter's, and its terms the current ones."""
    if found is None:
        return False, False
    return found.get("splitter") == SPLITTER, found.get("terms") == TERMS


def _read_header(line: bytes) -> dict[str, Any] | None:
    """The header in a file's first line, or None when that line is a row (format 1)."""
    try:
        first = json.loads(line)
    except ValueError:
        return None
    return first if isinstance(first, dict) and "lean_rows" in first else None


def _write(path: Path, lines: Iterable[dict[str, Any]]) -> None:
    """A header and ``lines``, one JSON object each, as a whole new file renamed into place."""
    with replacing(path, temporary=path.name + ".partial") as fh:
        fh.write(json.dumps(header()))
        fh.write("\n")
        for line in lines:
            fh.write(json.dumps(line, ensure_ascii=False))
            fh.write("\n")


def write_lean_rows(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """One :func:`lean_row` of each corpus row a line, in corpus order, after the header."""
    _write(path, (lean_row(row) for row in rows))


def is_current(path: Path) -> bool:
    """Whether the file at ``path`` holds spans of the current splitter (nothing to upgrade)."""
    with path.open("rb") as fh:
        found = _read_header(fh.readline())
    return all(_current(found))


def upgrade(path: Path) -> bool:
    """Rewrite the lean rows at ``path`` with their spans joined by the current splitter, as
    reading them would join them, and each sentence's key terms, stamped so; False when they
    already are. Nothing else in a row changes, and nothing is embedded again."""
    if is_current(path):
        return False

    def joined() -> Iterable[dict[str, Any]]:
        with path.open("rb") as fh:
            for line in fh:
                row = json.loads(line)
                if "lean_rows" in row:  # another splitter's header
                    continue
                spans = join_spans(row["text"], [(a, b) for a, b in row["sentences"]])
                row["sentences"] = spans
                row["terms"] = sentence_terms(row["text"], spans)
                yield row

    _write(path, joined())
    return True


class LeanRows:
    """An open lean-rows file: row ``i`` decoded on demand from a memory map."""

    def __init__(self, fh: BinaryIO, offsets: np.ndarray, current: tuple[bool, bool]) -> None:
        self._fh = fh
        self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        self._offsets = offsets
        #: the rows' spans are the current splitter's (read as they are), their terms the current ones
        self.joined, self.termed = current
        self.size = len(offsets) - 1

    @classmethod
    def open(cls, path: Path) -> LeanRows | None:
        """The rows at ``path`` (None when the file holds none)."""
        fh = path.open("rb")
        offsets = [0]
        for line in fh:
            offsets.append(offsets[-1] + len(line))
        found = None
        if len(offsets) > 1:
            fh.seek(0)
            found = _read_header(fh.readline())
        if found is not None:
            offsets = offsets[1:]
        if len(offsets) < 2:
            fh.close()
            return None
        return cls(fh, np.asarray(offsets, dtype=np.int64), _current(found))

    def passage(self, i: int) -> Passage:
        row = json.loads(self._map[self._offsets[i] : self._offsets[i + 1]])
        return passage_from_lean(row, self.joined, self.termed)

    def close(self) -> None:
        self._map.close()
        self._fh.close()
