"""Reading a folder of articles (.txt, .md with front matter, .html) plus a metadata manifest.

A file that cannot be used (unreadable, empty, binary, not UTF-8, no text left after cleaning)
is skipped with a :class:`SourceProblem` naming it; one bad file never stops a run.

Only regular files inside the corpus folder are read. A symbolic link is read only when it
points at a regular file inside the folder; links to folders are not followed; FIFOs, sockets
and devices are skipped unread; the size cap applies to the bytes actually read. An article's
id is its path under the folder without the extension, so two files that differ only in their
extension (``x.txt`` and ``x.md``) would share one id: the first in name order is read and the
other is skipped with a warning naming both.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import yaml

from config.errors import UserError
from config.redaction import redact
from retrieval.cleaning import clean_label, clean_text
from retrieval.models import Article

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm"})
MAX_FILE_BYTES = 5_000_000
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(\n|\Z)", re.DOTALL)


class CorpusError(UserError, ValueError):
    """The corpus as a whole cannot be read (missing folder, broken manifest)."""


class EmptyCorpus(CorpusError):
    """Not one article could be read, so there is nothing to index; the last index is kept."""

    def __init__(self, problems: list[SourceProblem] | tuple[SourceProblem, ...] = ()) -> None:
        self.problems = tuple(problems)
        first = f" (first problem: {self.problems[0]})" if self.problems else ""
        super().__init__(f"no article could be read, so nothing was indexed{first}")


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """A file skipped during reading, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return redact(f"skipped {self.source}: {self.reason}")


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


#: Dates as people write them in front matter and manifests, beyond ISO 8601 and RFC 2822.
_DATE_FORMATS = ("%Y/%m/%d", "%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y", "%d.%m.%Y")
_ORDINAL = re.compile(r"(?<=\d)(st|nd|rd|th)\b", re.IGNORECASE)


def parse_date(value: Any) -> date | None:
    """A date from YAML (date, datetime, an ISO string, ``Wed, 18 Nov 2026 10:00 +0000``,
    ``18 November 2026``, ``Nov 18, 2026``, ``2026/11/18``); None when absent or unparseable."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        pass
    plain = " ".join(_ORDINAL.sub("", text).replace(",", " ").split())
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(plain, fmt).date()  # noqa: DTZ007 (a calendar date, no zone)
        except ValueError:
            continue
    return None


class _MetadataLoader(yaml.SafeLoader):
    """``yaml.safe_load``'s loader, except that a date which cannot exist (``2026-02-30``) stays
    text for :func:`parse_date` to report (the article undated) instead of failing the file."""


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_MetadataLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


def load_metadata_yaml(text: str) -> Any:
    """Front matter or a manifest, read as ``yaml.safe_load`` reads it but for impossible dates."""
    return yaml.load(text, Loader=_MetadataLoader)  # noqa: S506 - a SafeLoader, one constructor changed


#: No fetched news page predates this; an earlier date is a CMS's or a feed's zero (1970-01-01).
EARLIEST_WEB_DATE = date(1990, 1, 1)


def plausible_date(value: date | None, today: date | None = None) -> date | None:
    """``value`` when a fetched article can have been published then, else None (no date beats a
    wrong one: it would answer 'latest' questions and date the coverage). From 1990 to tomorrow:
    a page's own clock may run a time zone ahead of UTC, never years."""
    if value is None:
        return None
    return value if EARLIEST_WEB_DATE <= value <= latest_date(today) else None


def latest_date(today: date | None = None) -> date:
    """The latest date an article can bear: tomorrow (UTC), as a clock a time zone ahead sees it."""
    return (today or datetime.now(UTC).date()) + timedelta(days=1)


def _metadata_from(entry: dict[str, Any], where: str) -> Metadata:
    def text(key: str) -> str | None:
        value = entry.get(key)
        return str(value).strip() or None if value not in (None, "") else None

    given = entry.get("published") or entry.get("date")
    published = parse_date(given)
    if published is None and given not in (None, ""):
        log.warning(
            "%s: %s is not a date newsdesk can read (write it like 2026-11-18); the article is undated",
            where,
            redact(repr(str(given))[:80]),
        )
    elif published is not None and published > latest_date():
        # a typo (2062 for 2026) would be the newest article of all: it would answer every
        # "latest" question and stretch the coverage's dates; an archive's old dates are kept
        log.warning("%s: its date %s is in the future; the article is undated", where, published.isoformat())
        published = None
    return Metadata(
        title=text("title") or text("headline"),
        outlet=text("outlet") or text("source") or text("site"),
        published=published,
        url=text("url"),
    )


def load_manifest(path: Path) -> dict[str, Metadata]:
    """Metadata by file name (relative to the corpus root) from a YAML list of entries."""
    if not path.exists():
        return {}
    try:
        entries = load_metadata_yaml(read_capped(path).decode("utf-8"))
    except (ValueError, yaml.YAMLError) as exc:  # UnicodeDecodeError is a ValueError
        raise CorpusError(f"manifest {path} cannot be read: {exc}") from None
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise CorpusError(f"manifest {path} must be a list of entries with a 'file' key")
    found: dict[str, Metadata] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("file"), str):
            found[entry["file"]] = _metadata_from(entry, f"{path.name}, entry {entry['file']}")
    return found


_DECLARED_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
#: labels browsers read as windows-1252 (WHATWG Encoding): its 0x80-0x9F are curly quotes and
#: dashes, where ISO-8859-1 has control characters
_AS_WINDOWS_1252 = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii"})


def declared_charset(raw: bytes) -> str | None:
    """The charset an HTML document's ``<meta>`` declares in its first 4 KB, if any."""
    found = _DECLARED_CHARSET.search(raw[:4096])
    return found.group(1).decode("ascii") if found else None


def decode_as(raw: bytes, charset: str) -> str:
    """``raw`` in ``charset`` as a browser reads the label (ISO-8859-1 as windows-1252);
    LookupError or ValueError (UnicodeError) when it is not."""
    if charset.lower() in _AS_WINDOWS_1252:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            pass
    return raw.decode(charset)


def _decode(raw: bytes, html: bool = False) -> str:
    """The text of ``raw``: UTF-8, or for HTML the charset its ``<meta>`` declares."""
    if not raw.strip():
        raise ValueError("the file is empty")
    if b"\x00" in raw[:8192]:
        raise ValueError("the file is binary, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        declared = declared_charset(raw) if html else None
        if declared is not None:
            try:
                return decode_as(raw, declared)
            except (LookupError, ValueError):  # an unknown label, or "undefined" (UnicodeError)
                pass
        raise ValueError(f"the file is not UTF-8 text (byte {exc.start})") from None


_PLAIN_FIELD = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]*(.*?)[ \t]*$")


def _plain_fields(block: str) -> dict[str, str]:
    """``key: value`` lines read as they are written (``title: Ferry: cut back``), for front
    matter that is not valid YAML; surrounding quotes are removed."""
    fields: dict[str, str] = {}
    for line in block.splitlines():
        match = _PLAIN_FIELD.match(line)
        if match:
            value = match.group(2)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            fields.setdefault(match.group(1), value)
    return fields


def _split_front_matter(text: str, where: str) -> tuple[Metadata, str]:
    """The front matter's metadata and the text after it; front matter that is not valid
    YAML is still removed from the text and read line by line, with a warning."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return Metadata(), text
    data: Any
    try:
        data = load_metadata_yaml(match.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 2})" if mark is not None else ""
        log.warning("%s: its front matter is not valid YAML%s; read as plain 'key: value' lines", where, at)
        data = _plain_fields(match.group(1))
    meta = _metadata_from(data, where) if isinstance(data, dict) else Metadata()
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


def read_capped(path: Path, cap: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at ``path``, at most ``cap`` of them (ValueError past that).

    Opened without blocking and checked after opening, so a FIFO or device that replaced a
    file since it was listed is refused instead of read (or waited on) without limit."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ValueError(f"the file cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("it is not a regular file")
        try:
            raw = fh.read(cap + 1)
        except OSError as exc:
            raise ValueError(f"the file cannot be read ({exc.strerror or exc})") from None
    if len(raw) > cap:
        raise ValueError(f"the file is larger than {cap:,} bytes")
    return raw


def read_article(path: Path, doc_id: str, known: Metadata) -> Article:
    """One article from ``path``; raises ValueError with a reason when it cannot be used."""
    raw = read_capped(path)
    is_html = path.suffix.lower() in {".html", ".htm"}
    text = _decode(raw, html=is_html)
    if is_html:
        found, text = _from_html(text)
    elif path.suffix.lower() in {".md", ".markdown"}:
        found, text = _split_front_matter(text, f"{doc_id}{path.suffix}")
    else:
        found = Metadata()
    meta = known.merged_over(found)
    cleaned = clean_text(text, meta.title)
    if len(cleaned.split()) < 5:
        raise ValueError("no article text is left after removing site furniture")
    return Article(
        doc_id=doc_id,
        title=clean_label(meta.title) or _first_line(cleaned),
        text=cleaned,
        outlet=clean_label(meta.outlet),
        published=meta.published,
        url=meta.url,
        source=str(path),
    )


def _why_not_readable(path: Path, root: Path) -> str | None:
    """Why ``path`` (found under ``root``) is not read as an article, or None when it is."""
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            target = path.resolve(strict=True)
            if not target.is_relative_to(root.resolve()):
                return "it is a link to a file outside the corpus folder"
            mode = target.stat().st_mode
    except (OSError, RuntimeError) as exc:
        return f"the file cannot be read ({getattr(exc, 'strerror', None) or exc})"
    if not stat.S_ISREG(mode):
        return "it is not a regular file"
    return None


def _candidates(root: Path) -> list[Path]:
    """Files and links under ``root`` with an article suffix, not hidden, in name order;
    links to folders are not followed."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            path = Path(folder, name)
            if not name.startswith(".") and path.suffix.lower() in ARTICLE_SUFFIXES:
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def check_folder(root: Path) -> None:
    """CorpusError unless ``root`` is a folder that can be read."""
    if not root.is_dir():
        raise CorpusError(f"corpus folder {root} does not exist or is not a folder")
    if not os.access(root, os.R_OK | os.X_OK):
        raise CorpusError(f"corpus folder {root} cannot be read (permission denied)")


def read_folder(
    root: Path, manifest_name: str = "manifest.yaml"
) -> tuple[list[Article], list[SourceProblem]]:
    """Every usable article under ``root``, and the files skipped with their reasons."""
    check_folder(root)
    manifest = load_manifest(root / manifest_name)
    articles: list[Article] = []
    problems: list[SourceProblem] = []
    owners: dict[str, str] = {}
    for path in _candidates(root):
        rel = path.relative_to(root)
        doc_id = rel.with_suffix("").as_posix()
        try:
            reason = _why_not_readable(path, root)
            if reason is None and doc_id in owners:
                reason = f"its id '{doc_id}' is already taken by {owners[doc_id]} (rename one of them)"
            if reason is not None:
                raise ValueError(reason)
            articles.append(read_article(path, doc_id, manifest.get(rel.as_posix(), Metadata())))
            owners[doc_id] = rel.as_posix()
        except ValueError as exc:
            problem = SourceProblem(rel.as_posix(), str(exc))
            log.warning("%s", problem)
            problems.append(problem)
    return articles, problems
