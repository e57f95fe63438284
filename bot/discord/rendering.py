"""Answers as Discord embeds: text with [n] markers, then a Sources field, within Discord's limits.

Long answers are split at paragraph, then sentence, then word boundaries; a source line is never
cut, so a link is always whole. Messages are packed so none exceeds Discord's per-message total.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import discord

from config.counts import counted
from config.redaction import redact
from prompts.citations import Answer, Citation

CONTENT_LIMIT = 2000
DESCRIPTION_LIMIT = 4096
MESSAGE_LIMIT = 6000
FIELD_LIMIT = 1024
FIELDS_PER_EMBED = 25
EMBEDS_PER_MESSAGE = 10
TITLE_LIMIT = 256
FOOTER_LIMIT = 2048

COLOUR = discord.Colour.blurple()
UNANSWERED_COLOUR = discord.Colour.light_grey()

# A sentence ends at . ! or ? plus any closing quotes/brackets and trailing [n] markers, so a
# marker stays with the sentence it supports.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?:\s*\[\d+(?:\s*[,–-]\s*\d+)*\])*(?=\s)")


def split_text(text: str, limit: int) -> list[str]:
    """``text`` in chunks of at most ``limit`` characters, cut at the largest boundary that fits."""
    chunks: list[str] = []
    _pack(_paragraphs(text), "\n\n", limit, chunks, _split_paragraph)
    return chunks or [""]


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def _split_paragraph(paragraph: str, limit: int) -> list[str]:
    chunks: list[str] = []
    _pack(_sentences(paragraph), " ", limit, chunks, _split_sentence)
    return chunks


def _sentences(paragraph: str) -> list[str]:
    parts, start = [], 0
    for match in _SENTENCE_END.finditer(paragraph):
        parts.append(paragraph[start : match.end()].strip())
        start = match.end()
    parts.append(paragraph[start:].strip())
    return [p for p in parts if p]


def _split_sentence(sentence: str, limit: int) -> list[str]:
    chunks: list[str] = []
    words = [w[i : i + limit] for w in sentence.split() for i in range(0, len(w), limit)]
    _pack(words, " ", limit, chunks, None)
    return chunks


def _pack(pieces: Iterable[str], joiner: str, limit: int, out: list[str], finer) -> None:
    current = ""
    for piece in pieces:
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            out.append(current)
        if len(piece) <= limit or finer is None:
            current = piece
        else:
            *whole, current = finer(piece, limit)
            out.extend(whole)
    if current:
        out.append(current)


def _linkable(url: str | None) -> bool:
    """Only plain http(s) URLs become links (never javascript:, data:, file: or odd characters)."""
    return (
        bool(url)
        and str(url).lower().startswith(("http://", "https://"))
        and not any(ch in str(url) for ch in " <>()")
    )


def source_line(citation: Citation, limit: int = FIELD_LIMIT) -> str:
    """``[n] Outlet — "Headline" (date)``, linked to the URL when known; never longer than limit."""
    outlet = _plain(citation.outlet or "Unknown outlet")
    title = _plain(citation.title or "Untitled")
    when = f" ({citation.published.isoformat()})" if citation.published else ""
    if citation.also_outlets:  # the same story ran in other outlets too (syndicated copy)
        when += f" +{counted(len(citation.also_outlets), 'outlet')}"
    for headline in _shortened(title):
        label = f'{outlet} — "{headline}"'
        if _linkable(citation.url):
            line = f"[{citation.n}] [{label}](<{citation.url}>){when}"
            if len(line) <= limit:
                return line
        line = f"[{citation.n}] {label}{when}"
        if len(line) <= limit:
            return line
    return f"[{citation.n}] {outlet}"[:limit]


def _plain(text: str) -> str:
    # Brackets would end the link label early; markdown would restyle a headline.
    text = " ".join(text.split()).replace("[", "(").replace("]", ")")
    return discord.utils.escape_markdown(text)


def _shortened(title: str) -> Iterable[str]:
    yield title
    for size in (300, 150, 60):
        if len(title) > size:
            yield title[: size - 1].rstrip() + "…"


def answer_embeds(answer: Answer) -> list[discord.Embed]:
    """The embeds for ``answer``, in order; see :func:`pack_messages` to send them."""
    colour = COLOUR if answer.grounded else UNANSWERED_COLOUR
    text = _as_written(answer.text)
    if answer.short is not None:  # the direct answer first, then the sentences that support it
        text = f"**{discord.utils.escape_markdown(answer.short.render())}**\n\n{text}"
    chunks = split_text(text, DESCRIPTION_LIMIT)
    embeds = [discord.Embed(description=chunk, colour=colour) for chunk in chunks]
    embeds[0].title = embed_title(answer.question)
    footer = _clip(footer_text(answer), FOOTER_LIMIT)
    lines = [source_line(c) for c in answer.citations] if answer.grounded else []
    if lines:
        _add_sources(embeds, lines, colour, reserve=len(footer))
    if len(embeds[-1]) + len(footer) > MESSAGE_LIMIT:  # a long text beside a long notice
        _make_room(embeds, colour, MESSAGE_LIMIT - len(footer))
    embeds[-1].set_footer(text=footer)
    return embeds


def _make_room(embeds: list[discord.Embed], colour, room: int) -> None:
    """Split the last embed's text so that its last part has ``room`` for the footer."""
    last = embeds[-1]
    head, *rest = split_text(last.description or "", room - len(last.title or ""))
    last.description = head
    embeds.extend(discord.Embed(description=chunk, colour=colour) for chunk in rest)


def _as_written(text: str) -> str:
    """Quoted article text shown as written: a stray * _ ` || # or > in it must not restyle,
    hide or break the rest of the answer. A timeline's ``- `` bullets stay bullets."""
    lines = []
    for line in text.split("\n"):
        bullet = "- " if line.startswith("- ") else ""
        lines.append(bullet + discord.utils.escape_markdown(line.removeprefix(bullet)))
    return "\n".join(lines)


def footer_text(answer: Answer) -> str:
    parts = [answer.coverage.describe()] if answer.coverage.articles else []
    parts.append("model answer" if answer.mode == "llm" else "quoted from the coverage")
    if answer.notice:
        parts.append(redact(answer.notice))
    return " · ".join(parts)


def _add_sources(embeds: list[discord.Embed], lines: list[str], colour, reserve: int) -> None:
    values: list[str] = []
    _pack(lines, "\n", FIELD_LIMIT, values, None)
    target = embeds[-1]
    for i, value in enumerate(values):
        name = "Sources" if i == 0 else "Sources (continued)"
        room = MESSAGE_LIMIT - reserve - len(target)  # the footer is added last
        if len(target.fields) >= FIELDS_PER_EMBED or len(name) + len(value) > room:
            target = discord.Embed(colour=colour)
            embeds.append(target)
        target.add_field(name=name, value=value, inline=False)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def pack_messages(embeds: list[discord.Embed]) -> list[list[discord.Embed]]:
    """Group embeds into messages of at most 10 embeds and 6,000 characters each."""
    messages: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    size = 0
    for embed in embeds:
        if current and (len(current) >= EMBEDS_PER_MESSAGE or size + len(embed) > MESSAGE_LIMIT):
            messages.append(current)
            current, size = [], 0
        current.append(embed)
        size += len(embed)
    if current:
        messages.append(current)
    return messages


def render_answer(answer: Answer) -> list[list[discord.Embed]]:
    """``answer`` as a list of messages, each a list of embeds within Discord's limits."""
    return pack_messages(answer_embeds(answer))


def notice_embed(text: str, *, title: str | None = None) -> discord.Embed:
    """A plain informational embed (for /sources, /status, reindex progress)."""
    shown = embed_title(title) if title is not None else None
    return discord.Embed(title=shown, description=_clip_block(text), colour=COLOUR)


def embed_title(text: str) -> str:
    """``text`` shown as written in an embed title, where Discord renders bold, italics,
    spoilers and code as in a message (unlike a footer): markdown characters are escaped, and
    the escaped title is clipped to Discord's limit."""
    text = " ".join(text.split())
    title, cut = discord.utils.escape_markdown(text), len(text)
    while len(title) > TITLE_LIMIT:
        cut -= max(1, (len(title) - TITLE_LIMIT) // 2)  # an escaped character counts twice
        title = discord.utils.escape_markdown(text[:cut].rstrip()) + "…"
    return title


def _clip_block(text: str) -> str:
    """``text`` within a description: whole lines, then how many more there were (/sources and
    /status list a line per configured source; a line cut in half named half a source)."""
    if len(text) <= DESCRIPTION_LIMIT:
        return text
    lines, size = text.split("\n"), 0
    kept: list[str] = []
    for line in lines:
        more = f"… and {counted(len(lines) - len(kept), 'more line')}"
        if size + len(line) + 1 + len(more) > DESCRIPTION_LIMIT:
            break
        kept.append(line)
        size += len(line) + 1
    if not kept:  # one line longer than the limit
        return text[: DESCRIPTION_LIMIT - 1] + "…"
    return "\n".join([*kept, f"… and {counted(len(lines) - len(kept), 'more line')}"])
