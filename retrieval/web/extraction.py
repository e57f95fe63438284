"""An article from a fetched page: trafilatura finds the body and the metadata around it."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from retrieval.cleaning import clean_text
from retrieval.sources import declared_charset, decode_as, parse_date, plausible_date
from retrieval.web.urls import canonical_url, pick_canonical

log = logging.getLogger(__name__)

#: Fewer words than this after cleaning is not an article (an error page, a paywall stub...).
MIN_WORDS = 25
_WORD = re.compile(r"\w+")


class ExtractionError(ValueError):
    """A page with no usable article in it."""


@dataclass(frozen=True, slots=True)
class WebArticle:
    """What a page says about itself; ``text`` is cleaned and starts with the headline."""

    url: str
    title: str
    text: str
    author: str | None = None
    site_name: str | None = None
    published: date | None = None
    updated: date | None = None


def _decode(body: bytes | str, charset: str | None = None) -> str:
    """The page's text: UTF-8 when it is, else the charset the response's Content-Type
    declares, else its ``<meta>`` one, else trafilatura's guess. A guess alone misread short
    pages ('aprčs' for 'après' in ISO-8859-1 French) whatever the server said."""
    if isinstance(body, str):
        return body
    from trafilatura.utils import decode_file, handle_compressed_file

    body = handle_compressed_file(body)  # a gzip body sent without Content-Encoding (bounded)
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for declared in (charset, declared_charset(body)):
        if declared:
            try:
                return decode_as(body, declared)
            except (LookupError, ValueError):  # an unknown label, or "undefined" (UnicodeError)
                pass
    return str(decode_file(body))


def _updated(html: str, published: date | None, today: date | None) -> date | None:
    """The page's last-modified date when it says one later than its publication date."""
    from htmldate import find_date

    try:
        found = plausible_date(
            parse_date(find_date(html, original_date=False, extensive_search=False)), today
        )
    except (ValueError, TypeError):  # htmldate gives up on odd markup with these
        return None
    return found if found and (published is None or found > published) else None


def _headline_near_top(text: str, title: str) -> bool:
    """Whether the body states the headline itself (clean_text then drops what is above it)."""
    wanted = _norm(title)
    return any(_norm(line) == wanted for line in text.splitlines()[:25])


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def extract_article(
    body: bytes | str, url: str, today: date | None = None, charset: str | None = None
) -> WebArticle:
    """The article in the page at ``url`` (``charset``: what the response's Content-Type
    declares); raises :class:`ExtractionError` when there is none.

    A date outside 1990 .. ``today`` + 1 day (a CMS's 1970 zero, a year typed wrong) is dropped:
    the feed's date for the entry, or none, stands instead."""
    import trafilatura

    html = _decode(body, charset)
    doc: Any = trafilatura.bare_extraction(
        html,
        # without user:password@ (a source's URL may carry them): trafilatura names the site
        # after the URL's netloc when the page names none, and that name is shown and cited
        url=canonical_url(url),
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        date_extraction_params={"original_date": True, "extensive_search": True},
    )
    if doc is None or not getattr(doc, "text", None):
        raise ExtractionError("no article text could be extracted from the page")
    title = " ".join(str(doc.title or "").split()) or None
    body_text = str(doc.text)
    if title and not _headline_near_top(body_text, title):
        body_text = f"{title}\n\n{body_text}"
    text = clean_text(body_text, title)
    if len(text.split()) < MIN_WORDS:
        raise ExtractionError(f"the page has fewer than {MIN_WORDS} words of article text")
    published = plausible_date(parse_date(doc.date), today)
    return WebArticle(
        url=pick_canonical(url, doc.url),
        title=title or text.split("\n", 1)[0][:200],
        text=text,
        author=doc.author or None,
        site_name=doc.sitename or None,
        published=published,
        updated=_updated(html, published, today),
    )
