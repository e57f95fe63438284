"""Answers as embeds within Discord's limits; long answers split at boundaries."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import discord
import pytest

from bot.discord.invite import PERMISSIONS, invite_url
from bot.discord.rendering import (
    DESCRIPTION_LIMIT,
    EMBEDS_PER_MESSAGE,
    FIELD_LIMIT,
    FIELDS_PER_EMBED,
    MESSAGE_LIMIT,
    TITLE_LIMIT,
    notice_embed,
    render_answer,
    source_line,
    split_text,
)
from prompts.citations import Answer, Citation, Coverage, ShortAnswer


def citation(n: int, url: str | None = None, title: str = "Leaders meet") -> Citation:
    return Citation(n, f"doc{n}", title, "quote", 0, 5, outlet="Wire", published=date(2022, 2, 2), url=url)


def long_answer(words: int = 3000, sources: int = 30) -> Answer:
    sentences, count, i = [], 0, 0
    while count < words:
        i += 1
        marker = f"[{i % sources + 1}]"
        sentence = f"Sentence {i} says the leaders met again in the capital today. {marker}"
        sentences.append(sentence)
        count += len(sentence.split())
    paragraphs = [" ".join(sentences[j : j + 7]) for j in range(0, len(sentences), 7)]
    cites = tuple(citation(n, f"https://news.example/{n}/" + "x" * 60) for n in range(1, sources + 1))
    return Answer(
        "What happened?",
        "\n\n".join(paragraphs),
        cites,
        True,
        "extractive",
        Coverage(sources, date(2022, 1, 1), date(2022, 3, 1)),
    )


def value_of(field_value: str | None) -> str:
    assert field_value is not None, "an embed field without a value"
    return field_value


def marker_of(line: str) -> int:
    marker = re.match(r"\[(\d+)\]", line)
    assert marker is not None, line
    return int(marker[1])


def check_limits(messages: list[list[discord.Embed]]) -> None:
    for embeds in messages:
        assert len(embeds) <= EMBEDS_PER_MESSAGE
        assert sum(len(e) for e in embeds) <= MESSAGE_LIMIT
        for embed in embeds:
            assert len(embed.description or "") <= DESCRIPTION_LIMIT
            assert len(embed.fields) <= FIELDS_PER_EMBED
            assert all(len(value_of(f.value)) <= FIELD_LIMIT for f in embed.fields)


def test_a_3000_word_answer_splits_at_boundaries_within_limits():
    answer = long_answer()
    messages = render_answer(answer)
    check_limits(messages)
    assert len(messages) > 1
    texts = [e.description for m in messages for e in m if e.description]
    assert "\n\n".join(texts).split() == answer.text.split()  # nothing lost or added
    for text in texts:  # every chunk ends a sentence, with its marker kept
        assert re.search(r"\[\d+\]$", text), text[-40:]


def test_sources_are_never_cut_mid_link():
    messages = render_answer(long_answer())
    values = [value_of(f.value) for m in messages for e in m for f in e.fields]
    lines = [line for value in values for line in value.split("\n")]
    assert len(lines) == 30
    assert [marker_of(line) for line in lines] == list(range(1, 31))
    for line in lines:
        assert re.fullmatch(
            r'\[\d+\] \[Wire — "Leaders meet"\]\(<https://news\.example/\d+/x{60}>\)'
            r" \(2022-02-02\)",
            line,
        )


def test_source_line_formats_and_falls_back_without_url():
    assert source_line(citation(3)) == '[3] Wire — "Leaders meet" (2022-02-02)'
    assert (
        source_line(citation(2, "https://a.example/b"))
        == '[2] [Wire — "Leaders meet"](<https://a.example/b>) (2022-02-02)'
    )
    odd = source_line(citation(1, "https://a.example/b", title="[Live] *Big* news"))
    assert odd == r'[1] [Wire — "(Live) \*Big\* news"](<https://a.example/b>) (2022-02-02)'


def test_an_overlong_headline_is_shortened_not_the_link():
    line = source_line(citation(1, "https://a.example/" + "y" * 200, title="word " * 400))
    assert len(line) <= FIELD_LIMIT and line.endswith("y" * 200 + ">) (2022-02-02)")


@pytest.mark.parametrize("limit", [50, 200, 2000])
def test_split_text_never_exceeds_the_limit(limit):
    text = "Short one. " * 50 + "\n\n" + "x" * 500 + "\n\n" + "Last sentence here!"
    chunks = split_text(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    assert "".join(chunks).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_a_cannot_answer_reply_has_no_sources():
    answer = Answer("Who won?", "The coverage doesn't say.", (), False, "extractive")
    [[embed]] = render_answer(answer)
    assert embed.description == "The coverage doesn't say." and not embed.fields


def test_invite_url_has_exact_scopes_and_least_permissions():
    url = invite_url(123456789012345678)
    assert url == (
        "https://discord.com/oauth2/authorize?client_id=123456789012345678"
        f"&scope=bot+applications.commands&permissions={PERMISSIONS.value}"
    )
    assert PERMISSIONS.value == 274877991936
    assert not PERMISSIONS.administrator and not PERMISSIONS.mention_everyone
    with pytest.raises(ValueError, match="application id"):
        invite_url("my-bot")


def test_the_short_answer_leads_the_embed():
    answer = Answer(
        "When?",
        "The first crossing is on 14 April. [1]",
        (citation(1),),
        True,
        "extractive",
        short=ShortAnswer("14 April", 1, 25, 33),
    )
    [[embed]] = render_answer(answer)
    assert embed.description == "**14 April [1]**\n\nThe first crossing is on 14 April. [1]"


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", "ftp://x/y"]
)
def test_only_http_urls_become_links(url: str) -> None:
    line = source_line(citation(1, url=url))
    assert url not in line and "](" not in line
    assert source_line(citation(1, url="https://news.example/a")).startswith("[1] [Wire")


def test_markdown_in_the_quoted_text_is_shown_as_written_and_markers_stay() -> None:
    text = "The *rate* rose to 5_000 || see `x` [1].\n\n# Not a heading\n\n> not a quote [2]"
    answer = Answer("Rates?", text, (citation(1), citation(2)), True, "extractive", Coverage(2, None, None))
    [[embed]] = render_answer(answer)
    description = embed.description or ""
    assert description == (
        "The \\*rate\\* rose to 5\\_000 \\|\\| see \\`x\\` [1].\n\n\\# Not a heading\n\n\\> not a quote [2]"
    )


def test_a_timelines_bullets_stay_bullets_while_their_text_is_escaped() -> None:
    text = "- 2 Feb 2022 — Talks on *gas* [1] (Wire)\n- 4 Feb 2022 — # of deals [2] (Wire)"
    answer = Answer(
        "Timeline: gas", text, (citation(1), citation(2)), True, "extractive", Coverage(2, None, None)
    )
    [[embed]] = render_answer(answer)
    assert embed.description == (
        "- 2 Feb 2022 — Talks on \\*gas\\* [1] (Wire)\n- 4 Feb 2022 — # of deals [2] (Wire)"
    )


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("Is **Sechin** the _head_ of ||Rosneft||?", r"Is \*\*Sechin\*\* the \_head\_ of \|\|Rosneft\|\|?"),
        ("What did `Xi`   say\nabout ~~gas~~?", r"What did \`Xi\` say about \~\~gas\~\~?"),
        ("Who is the head of Rosneft?", "Who is the head of Rosneft?"),
    ],
)
def test_the_question_in_the_title_is_shown_as_written(question: str, title: str) -> None:
    answer = Answer(question, "Text [1].", (citation(1),), True, "extractive", Coverage(1, None, None))
    [[embed]] = render_answer(answer)
    assert embed.title == title
    assert notice_embed("text", title=question).title == title  # a /summary topic likewise


def test_an_escaped_title_is_clipped_to_discords_limit() -> None:
    title = notice_embed("text", title="*" * 300).title or ""
    assert len(title) <= TITLE_LIMIT and title.endswith("…")
    assert title.removesuffix("…") == "\\*" * ((TITLE_LIMIT - 1) // 2)


@pytest.mark.parametrize("notice", [1700, 2047])
def test_a_long_unsourced_text_beside_a_long_notice_stays_within_the_embed_total(notice: int) -> None:
    text = " ".join(f"Word{i}." for i in range(464))  # 4,065 characters, no sources to move the footer
    answer = Answer(
        "Q" * 300,
        text,
        (),
        False,
        "extractive",
        Coverage(1, date(2022, 1, 1), date(2022, 2, 1)),
        notice="N" * notice,
    )
    messages = render_answer(answer)
    check_limits(messages)
    embeds = [e for m in messages for e in m]
    assert all(len(e) <= MESSAGE_LIMIT for e in embeds)  # was 6,121 / 6,399: Discord refuses it
    assert " ".join(e.description or "" for e in embeds) == text  # split at words, nothing lost
    assert "quoted from the coverage · NNNNN" in (embeds[-1].footer.text or "")


def test_a_long_notice_keeps_whole_lines_and_says_how_many_more() -> None:
    lines = [
        f"- feed-{i:03d} (feed): ok, last refreshed 2026-11-30 06:00 UTC, 12 articles" for i in range(80)
    ]
    description = notice_embed("\n".join(lines), title="Coverage").description or ""
    assert len(description) <= DESCRIPTION_LIMIT
    *shown, more = description.split("\n")
    assert shown == lines[: len(shown)]  # no source cut in half (was cut mid-line with '…')
    assert more == f"… and {len(lines) - len(shown)} more lines"
    assert len(notice_embed("x" * 5000).description or "") == DESCRIPTION_LIMIT  # one huge line: clipped


def test_the_index_size_says_1_article_and_1_passage() -> None:
    from bot.discord.panels import status_lines

    lines = status_lines({"articles": 1, "passages": 1}, mode="extractive", model="ok", started=0.0, errors=0)
    assert lines[0] == "**Index:** 1 article / 1 passage"
    lines = status_lines({"articles": 2, "passages": 0}, mode="extractive", model="ok", started=0.0, errors=0)
    assert lines[0] == "**Index:** 2 articles / 0 passages"


def test_one_line_left_out_is_1_more_line() -> None:
    first = "a" * (DESCRIPTION_LIMIT - 30)
    description = notice_embed(f"{first}\n{'b' * 40}", title="Coverage").description or ""
    assert description == f"{first}\n… and 1 more line"


def test_a_source_line_counts_other_outlets_not_copies() -> None:
    copies = replace(citation(1), also_in=("doc1-copy", "doc1-copy2"))
    assert "outlet" not in source_line(copies)  # copies of one file: was '+2 outlets'
    two = replace(citation(1), also_in=("a", "b", "c"), also_outlets=("Courier", "Herald"))
    assert source_line(two).endswith("(2022-02-02) +2 outlets")
    one = replace(citation(1), also_in=("a",), also_outlets=("Courier",))
    assert source_line(one).endswith("(2022-02-02) +1 outlet")
