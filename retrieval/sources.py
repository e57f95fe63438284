"""Reading a folder of articles (.txt, .md with front matter, .html) plus a metadata manifest.

A file that cannot be used (unreadable, empty, binary, not UTF-8, no text left after cleaning)
is skipped with a :class:`SourceProblem` naming it; one bad file never stops a run.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from config.errors import UserError
from retrieval.cleaning import clean_text
from retrieval.models import Article

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm"})
MAX_FILE_BYTES = 5_000_000
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(\n|\Z)", re.DOTALL)


class CorpusError(UserError, ValueError):
    """The corpus as a whole cannot be read (missing folder, broken manifest)."""


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """A file skipped during reading, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.source}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Metadata:
    """What is known of an article from outside its text."""

    title: str | None = None
    outlet: str | None = None
    published: date | None = None
    url: str | None = None

    def merged_over(self, other: Metadata) -> Metadata:
        """These values, falling back to ``other``'s where unknown."""
        return Metadata(
            self.title or other.title,
            self.outlet or other.outlet,
            self.published or other.published,
            self.url or other.url,
        )


def parse_date(value: Any) -> date | None:
    """A date from YAML (date, datetime or ISO string); None when absent or unparseable."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
        except ValueError:
            return None
    return None


def _metadata_from(entry: dict[str, Any]) -> Metadata:
    def text(key: str) -> str | None:
        value = entry.get(key)
        return str(value).strip() or None if value not in (None, "") else None

    return Metadata(
        title=text("title") or text("headline"),
        outlet=text("outlet") or text("source") or text("site"),
        published=parse_date(entry.get("published") or entry.get("date")),
        url=text("url"),
    )


def load_manifest(path: Path) -> dict[str, Metadata]:
    """Metadata by file name (relative to the corpus root) from a YAML list of entries."""
    if not path.exists():
        return {}
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CorpusError(f"manifest {path} cannot be read: {exc}") from None
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise CorpusError(f"manifest {path} must be a list of entries with a 'file' key")
    found: dict[str, Metadata] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("file"), str):
            found[entry["file"]] = _metadata_from(entry)
    return found


def _decode(raw: bytes) -> str:
    if not raw.strip():
        raise ValueError("the file is empty")
    if b"\x00" in raw[:8192]:
        raise ValueError("the file is binary, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"the file is not UTF-8 text (byte {exc.start})") from None


def _split_front_matter(text: str) -> tuple[Metadata, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return Metadata(), text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return Metadata(), text
    meta = _metadata_from(data) if isinstance(data, dict) else Metadata()
    return meta, text[match.end() :]


def _from_html(html: str) -> tuple[Metadata, str]:
    import trafilatura  # heavy import, only when a corpus holds HTML

    doc: Any = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    if doc is None or not getattr(doc, "text", None):
        raise ValueError("no article text could be extracted from the HTML")
    meta = Metadata(
        title=doc.title or None,
        outlet=doc.sitename or None,
        published=parse_date(doc.date),
        url=doc.url or None,
    )
    body = str(doc.text)
    if meta.title and not body.lstrip().startswith(meta.title):
        body = f"{meta.title}\n\n{body}"
    return meta, body


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def read_article(path: Path, doc_id: str, known: Metadata) -> Article:
    """One article from ``path``; raises ValueError with a reason when it cannot be used."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ValueError(f"the file is larger than {MAX_FILE_BYTES:,} bytes")
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"the file cannot be read ({exc.strerror or exc})") from None
    text = _decode(raw)
    if path.suffix.lower() in {".html", ".htm"}:
        found, text = _from_html(text)
    elif path.suffix.lower() in {".md", ".markdown"}:
        found, text = _split_front_matter(text)
    else:
        found = Metadata()
    meta = known.merged_over(found)
    cleaned = clean_text(text, meta.title)
    if len(cleaned.split()) < 5:
        raise ValueError("no article text is left after removing site furniture")
    return Article(
        doc_id=doc_id,
        title=meta.title or _first_line(cleaned),
        text=cleaned,
        outlet=meta.outlet,
        published=meta.published,
        url=meta.url,
        source=str(path),
    )


def read_folder(
    root: Path, manifest_name: str = "manifest.yaml"
) -> tuple[list[Article], list[SourceProblem]]:
    """Every usable article under ``root``, and the files skipped with their reasons."""
    if not root.is_dir():
        raise CorpusError(f"corpus folder {root} does not exist or is not a folder")
    manifest = load_manifest(root / manifest_name)
    articles: list[Article] = []
    problems: list[SourceProblem] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink()):
        rel = path.relative_to(root)
        if path.suffix.lower() not in ARTICLE_SUFFIXES or any(p.startswith(".") for p in rel.parts):
            continue
        doc_id = rel.with_suffix("").as_posix()
        try:
            articles.append(read_article(path, doc_id, manifest.get(rel.as_posix(), Metadata())))
        except ValueError as exc:
            problem = SourceProblem(rel.as_posix(), str(exc))
            log.warning("%s", problem)
            problems.append(problem)
    return articles, problems
