"""Removing site furniture from article text with general rules, not per-file lists.

Furniture is what a page wraps around an article: ad markers, navigation, "READ ALSO:" teasers,
share prompts, photo captions and credits, image file names, comment counts. The headline,
standfirst and body are kept verbatim, one paragraph per kept line.

Control characters (C0 and C1, but tab; newlines separate the lines) are removed from every
line, and from titles and outlet names (:func:`clean_label`): a fetched page or a file could
otherwise move the cursor, clear the screen or retitle the terminal of whoever reads an answer,
and every front end and the index get the same clean text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NAV = re.compile(
    r"^(advertisement|advertising|sponsored( content)?|ad|skip to (main )?content|menu|home|"
    r"search|sign in|log ?in|sign up|subscribe( now)?|learn more|read more|show more|close|"
    r"next|previous|back to top|loading\.*|most popular|most read|trending( now)?|top stories|"
    r"related( stories| articles| news)?|recommended( for you)?|more stories|latest news|"
    r"you (may|might) also like\.*|more from [\w ]{1,30}|get more with \w+|newsletter|"
    r"follow us( on [\w ]+)?|comments?( \(\d+\))?)[\s.:!…]*$",
    re.IGNORECASE,
)
_TEASER = re.compile(
    r"^(read also|also read|read more|see also|look here|related|recommended|more on this|"
    r"watch|listen|trending|most read|don'?t miss|must read|editor'?s pick)\s*:\s*\S",
    re.IGNORECASE,
)
_SHARE = re.compile(
    r"^(share( this( article| story| page)?)?( on [\w ]+)?|tweet( this)?|email( this)?|print|"
    r"copy link|click to share[\w ]*)[\s:.!]*$",
    re.IGNORECASE,
)
_CAPTION = re.compile(
    r"(^(file )?photo\s*:)|"  # FILE PHOTO: ... / Photo: ...
    r"((\b(file )?photo|\bimage|\bpicture|\bcredit)\s*:\s*[\w./&' -]{1,40}\)?$)|"  # ... Photo: AP
    r"(\b(reuters|ap|afp|getty images|epa|anadolu)\s*/\s*[A-Z][\w.' -]{1,40}$)",  # REUTERS/Name
    re.IGNORECASE,
)
_IMAGE_FILE = re.compile(r"^[\w .-]{1,80}\.(jpe?g|png|gif|webp|svg)$", re.IGNORECASE)
_CREDIT = re.compile(r"^(source|sources|via|credit|credits)\s*:\s*[\w.&' -]{1,40}$", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"^[\d\s.,/|:-]{1,12}$")
_SENTENCE_END = re.compile(r"[.!?…:;\"”’')\]]\s*$")
_WORD = re.compile(r"\w+")
#: C0 and C1 control characters but tab and newline
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def without_controls(text: str) -> str:
    """``text`` without control characters, tab and newline kept."""
    return _CONTROL.sub("", text)


def clean_label(value: str | None) -> str | None:
    """A title or outlet name on one line: control characters removed, whitespace folded;
    None when nothing is left."""
    if value is None:
        return None
    return " ".join(without_controls(value).split()) or None


def is_furniture(line: str) -> bool:
    """Whether one stripped line is site furniture by itself, wherever it stands."""
    return bool(
        _NAV.match(line)
        or _TEASER.match(line)
        or _SHARE.match(line)
        or _CAPTION.search(line)
        or _IMAGE_FILE.match(line)
        or _CREDIT.match(line)
        or _BARE_NUMBER.match(line)
    )


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _headline_index(lines: list[str], title: str | None) -> int:
    """Index of the line holding the headline, or 0 when it cannot be found near the top."""
    if not title:
        return 0
    wanted = _norm(title)
    for i, line in enumerate(lines[:25]):
        if wanted and _norm(line) == wanted:
            return i
    return 0


def _is_teaser_headline(line: str) -> bool:
    """A standalone, unpunctuated, headline-length line inside the body: a related-story link."""
    words = len(_WORD.findall(line))
    return words >= 7 and not _SENTENCE_END.search(line)


def clean_lines(lines: Iterable[str], title: str | None = None) -> list[str]:
    """The article's paragraphs with furniture removed.

    Everything above the headline (when the headline is known and found) is page chrome. The
    line after the headline may be an unpunctuated standfirst; further unpunctuated
    headline-length lines in the body are teasers for other stories.
    """
    stripped = [without_controls(line).strip() for line in lines]
    start = _headline_index(stripped, title)
    kept: list[str] = []
    for line in stripped[start:]:
        if not line or is_furniture(line):
            continue
        in_body = len(kept) >= 2 and any(_SENTENCE_END.search(k) for k in kept[1:])
        if in_body and _is_teaser_headline(line):
            continue
        kept.append(line)
    return kept


def clean_text(text: str, title: str | None = None) -> str:
    """Cleaned article text: kept paragraphs joined by blank lines."""
    return "\n\n".join(clean_lines(text.splitlines(), title))
