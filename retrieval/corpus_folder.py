"""Which folder a data directory's index was built from, so a later plain ``newsdesk index``
(or the bot's ``/reindex``) re-reads that folder instead of replacing its articles with the
bundled sample.

Recorded as ``<data_dir>/corpus.json`` when a folder named explicitly (``--corpus``) has been read,
before its build (so a build stopped half way is continued from it); the
configured ``corpus.path`` still wins over it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from retrieval.catalog import write_atomically

log = logging.getLogger(__name__)

RECORD_FILE = "corpus.json"


def recorded_folder(data_dir: Path) -> Path | None:
    """The folder named by the last ``--corpus`` build of ``data_dir``, or None."""
    try:
        data = json.loads((data_dir / RECORD_FILE).read_text(encoding="utf-8"))
        return Path(data["path"]) if isinstance(data, dict) and isinstance(data.get("path"), str) else None
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s (%s)", data_dir / RECORD_FILE, exc)
        return None


def record_folder(data_dir: Path, folder: Path) -> None:
    """Remember ``folder`` (made absolute) as the one ``data_dir``'s index is built from."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)  # recorded as a first build starts
        write_atomically(data_dir / RECORD_FILE, json.dumps({"path": str(folder.resolve())}))
    except OSError as exc:  # the index itself is built; only the reminder is lost
        log.warning("could not remember the corpus folder in %s (%s)", data_dir, exc)
