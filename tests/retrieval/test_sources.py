"""Reading a corpus folder: formats, metadata, and bad files skipped with a warning."""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path

import pytest

from corpus import SAMPLE_CORPUS
from retrieval.sources import CorpusError, parse_date, plausible_date, read_folder

BODY = "The council met on Tuesday and agreed a new budget for schools. " * 3


def test_seed_corpus_reads_with_manifest_metadata() -> None:
    articles, problems = read_folder(SAMPLE_CORPUS)
    assert problems == []
    by_id = {a.doc_id: a for a in articles}
    assert sorted(by_id) == sorted(p.stem for p in SAMPLE_CORPUS.glob("*.txt"))
    rt = by_id["000_5f72ae501e33b219"]
    assert (rt.outlet, rt.published, rt.url) == ("RT", date(2022, 2, 2), None)
    assert rt.title == "Russia & China to discuss 'new era' amid split with West"


def test_markdown_front_matter_supplies_metadata(tmp_path: Path) -> None:
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "council.md").write_text(
        "---\ntitle: Council agrees budget\noutlet: Town Crier\npublished: 2024-05-01\n"
        "url: https://example.org/budget\n---\nCouncil agrees budget\n\n" + BODY,
        encoding="utf-8",
    )
    (article,), _ = read_folder(tmp_path)
    assert article.doc_id == "local/council"
    assert (article.title, article.outlet, article.published) == (
        "Council agrees budget",
        "Town Crier",
        date(2024, 5, 1),
    )
    assert article.url == "https://example.org/budget"
    assert not article.text.startswith("---")


def test_control_characters_never_reach_an_article(tmp_path: Path) -> None:
    """Escape sequences in a file's text or front matter would reach every reader's terminal."""
    (tmp_path / "council.md").write_text(
        '---\ntitle: "Council\\e[2J agrees budget\\a"\noutlet: "Town\\x9b Crier"\n---\n'
        "Council agrees budget\n\n\x1b]0;owned\x07" + BODY,
        encoding="utf-8",
    )
    (article,), _ = read_folder(tmp_path)
    assert (article.title, article.outlet) == ("Council[2J agrees budget", "Town Crier")
    assert not any((ord(ch) < 32 and ch not in "\n\t") or 127 <= ord(ch) < 160 for ch in article.text)
    assert "]0;owned" + BODY.strip()[:20] in article.text


def test_html_is_extracted_with_trafilatura(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        "<html><head><title>Council agrees budget</title>"
        '<meta property="og:site_name" content="Town Crier">'
        '<meta property="article:published_time" content="2024-05-01T10:00:00Z"></head>'
        "<body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<article><h1>Council agrees budget</h1><p>{BODY}</p><p>{BODY}</p></article>"
        "<footer>Copyright Town Crier</footer></body></html>",
        encoding="utf-8",
    )
    (article,), problems = read_folder(tmp_path)
    assert problems == []
    assert article.title == "Council agrees budget"
    assert article.published == date(2024, 5, 1)
    assert "agreed a new budget" in article.text and "Copyright" not in article.text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\n  ", "empty"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary"),
        ("latin1.txt", "Caf\u00e9 society news, with words enough to count.".encode("latin-1"), "not UTF-8"),
        ("furniture.txt", b"Advertisement\nShare this article\nSkip to content\n", "no article text"),
    ],
)
def test_bad_files_are_skipped_with_a_warning_naming_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, content: bytes, reason: str
) -> None:
    (tmp_path / "good.txt").write_text("Council agrees budget\n\n" + BODY, encoding="utf-8")
    (tmp_path / name).write_bytes(content)
    with caplog.at_level(logging.WARNING):
        articles, problems = read_folder(tmp_path)
    assert [a.doc_id for a in articles] == ["good"]
    assert [p.source for p in problems] == [name]
    assert reason in problems[0].reason
    assert name in caplog.text


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text(BODY, encoding="utf-8")
    path.chmod(0)
    articles, problems = read_folder(tmp_path)
    assert articles == [] and "cannot be read" in problems[0].reason


def test_dangling_symlink_is_skipped_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Council agrees budget\n\n" + BODY, encoding="utf-8")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "missing.txt")
    articles, problems = read_folder(tmp_path)
    assert [a.doc_id for a in articles] == ["good"]
    assert problems[0].source == "gone.txt"


def test_missing_folder_is_a_corpus_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        read_folder(tmp_path / "nope")


def test_broken_manifest_is_a_corpus_error(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_text("- file: [unclosed\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="manifest"):
        read_folder(tmp_path)


def test_link_to_a_file_outside_the_corpus_is_not_read(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    outside = tmp_path / "passwd.txt"
    outside.write_text("root:x:0:0:root:/root:/bin/bash and more words here\n" * 3, encoding="utf-8")
    (corpus / "good.txt").write_text("Council agrees budget\n\n" + BODY, encoding="utf-8")
    (corpus / "leak.txt").symlink_to(outside)
    articles, problems = read_folder(corpus)
    assert [a.doc_id for a in articles] == ["good"]
    assert [(p.source, p.reason) for p in problems] == [
        ("leak.txt", "it is a link to a file outside the corpus folder")
    ]


def test_link_to_a_file_inside_the_corpus_is_read(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Council agrees budget\n\n" + BODY, encoding="utf-8")
    (tmp_path / "alias.txt").symlink_to(tmp_path / "good.txt")
    articles, _ = read_folder(tmp_path)
    assert sorted(a.doc_id for a in articles) == ["alias", "good"]


def test_links_to_folders_are_not_followed(tmp_path: Path) -> None:
    corpus, elsewhere = tmp_path / "corpus", tmp_path / "elsewhere"
    corpus.mkdir()
    elsewhere.mkdir()
    (elsewhere / "other.txt").write_text("Other news\n\n" + BODY, encoding="utf-8")
    (corpus / "linked").symlink_to(elsewhere, target_is_directory=True)
    articles, problems = read_folder(corpus)
    assert articles == [] and problems == []


def test_fifo_is_skipped_without_waiting(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Council agrees budget\n\n" + BODY, encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.txt")  # opening it for reading would block with no writer
    articles, problems = read_folder(tmp_path)
    assert [a.doc_id for a in articles] == ["good"]
    assert [(p.source, p.reason) for p in problems] == [("pipe.txt", "it is not a regular file")]


def test_device_file_is_refused_after_opening(tmp_path: Path) -> None:
    from retrieval.sources import read_capped

    with pytest.raises(ValueError, match="not a regular file"):
        read_capped(Path("/dev/zero"))


def test_size_cap_applies_to_what_is_read(tmp_path: Path) -> None:
    from retrieval.sources import read_capped

    path = tmp_path / "big.txt"
    path.write_bytes(b"word " * 100)
    assert len(read_capped(path, cap=500)) == 500
    with pytest.raises(ValueError, match="larger than 499 bytes"):
        read_capped(path, cap=499)


def test_files_whose_ids_collide_are_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "x.md").write_text("Markdown story\n\n" + BODY, encoding="utf-8")
    (tmp_path / "x.txt").write_text("Text story\n\n" + BODY, encoding="utf-8")
    articles, problems = read_folder(tmp_path)
    assert [(a.doc_id, a.title) for a in articles] == [("x", "Markdown story")]
    assert [(p.source, p.reason) for p in problems] == [
        ("x.txt", "its id 'x' is already taken by x.md (rename one of them)")
    ]


def test_link_to_a_fifo_is_skipped_without_waiting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "looks-like-text.txt").symlink_to(tmp_path / "pipe")
    articles, problems = read_folder(tmp_path)
    assert articles == []
    assert [(p.source, p.reason) for p in problems] == [("looks-like-text.txt", "it is not a regular file")]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-11-18", date(2026, 11, 18)),
        ("2026-11-18T10:00:00Z", date(2026, 11, 18)),
        ("2026-11-18 10:00:00 +0000", date(2026, 11, 18)),
        ("Wed, 18 Nov 2026 10:00:00 +0000", date(2026, 11, 18)),
        ("18 November 2026", date(2026, 11, 18)),
        ("18th Nov 2026", date(2026, 11, 18)),
        ("November 18, 2026", date(2026, 11, 18)),
        ("Nov 18 2026", date(2026, 11, 18)),
        ("2026/11/18", date(2026, 11, 18)),
        ("18.11.2026", date(2026, 11, 18)),
        ("not-a-date", None),
        ("32 Nov 2026", None),
        ("", None),
    ],
)
def test_dates_are_read_as_people_write_them(written: str, expected: date | None) -> None:
    assert parse_date(written) == expected


def test_an_unreadable_date_is_a_warning_naming_the_file_and_the_article_is_undated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "festival.md").write_text(
        "---\ntitle: Jazz festival\npublished: sometime last week\n---\n" + BODY, encoding="utf-8"
    )
    with caplog.at_level(logging.WARNING, logger="retrieval.sources"):
        (article,), problems = read_folder(tmp_path)
    assert (article.published, problems) == (None, [])
    assert "sub/festival.md: 'sometime last week' is not a date newsdesk can read" in caplog.text


def test_a_date_that_cannot_exist_in_front_matter_leaves_the_article_undated_not_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """YAML reads 2026-02-30 as a timestamp and fails the whole file ('day is out of range')."""
    front = "---\ntitle: Jazz festival\ndate: 2026-02-30\n---\n"
    (tmp_path / "festival.md").write_text(front + BODY, "utf-8")
    with caplog.at_level(logging.WARNING, logger="retrieval.sources"):
        (article,), problems = read_folder(tmp_path)
    assert (article.title, article.published, problems) == ("Jazz festival", None, [])
    assert "festival.md: '2026-02-30' is not a date newsdesk can read" in caplog.text


def test_a_future_date_in_front_matter_is_a_warning_naming_the_file_and_the_article_is_undated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A typo'd year (2099) would otherwise be the newest article, answering 'latest' questions."""
    (tmp_path / "festival.md").write_text(
        "---\ntitle: Jazz festival\ndate: 2099-06-01\n---\n" + BODY, "utf-8"
    )
    (tmp_path / "old.md").write_text("---\ntitle: Moon landing\ndate: 1969-07-21\n---\n" + BODY, "utf-8")
    with caplog.at_level(logging.WARNING, logger="retrieval.sources"):
        articles, problems = read_folder(tmp_path)
    assert {a.doc_id: a.published for a in articles} == {"festival": None, "old": date(1969, 7, 21)}
    assert problems == []
    assert caplog.messages == ["festival.md: its date 2099-06-01 is in the future; the article is undated"]


def test_a_future_date_in_the_manifest_is_a_warning_naming_its_entry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from datetime import UTC, datetime, timedelta

    tomorrow = datetime.now(UTC).date() + timedelta(days=1)  # a clock a time zone ahead: kept
    (tmp_path / "a.txt").write_text(BODY, "utf-8")
    (tmp_path / "b.txt").write_text(BODY.replace("schools", "roads"), "utf-8")
    (tmp_path / "manifest.yaml").write_text(
        f"- file: a.txt\n  published: 'Jun 1, 2099'\n- file: b.txt\n  published: {tomorrow}\n", "utf-8"
    )
    with caplog.at_level(logging.WARNING, logger="retrieval.sources"):
        articles, _ = read_folder(tmp_path)
    assert {a.doc_id: a.published for a in articles} == {"a": None, "b": tomorrow}
    assert caplog.messages == [
        "manifest.yaml, entry a.txt: its date 2099-06-01 is in the future; the article is undated"
    ]


def test_a_date_that_cannot_exist_in_the_manifest_spoils_only_its_entry(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(BODY, "utf-8")
    (tmp_path / "b.txt").write_text(BODY.replace("festival", "fair"), "utf-8")
    (tmp_path / "manifest.yaml").write_text(
        "- file: a.txt\n  date: 2026-13-45\n- file: b.txt\n  date: 2026-02-03\n", encoding="utf-8"
    )
    articles, _ = read_folder(tmp_path)
    assert {a.doc_id: a.published for a in articles} == {"a": None, "b": date(2026, 2, 3)}


def test_front_matter_that_is_not_valid_yaml_is_still_read_and_never_reaches_the_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An unquoted colon in a title is the common way front matter stops being YAML."""
    (tmp_path / "ferry.md").write_text(
        "---\ntitle: Ferry service: cut back\noutlet: 'Harbor Times'\npublished: 2026-11-20\n---\n" + BODY,
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="retrieval.sources"):
        (article,), _ = read_folder(tmp_path)
    assert (article.title, article.outlet, article.published) == (
        "Ferry service: cut back",
        "Harbor Times",
        date(2026, 11, 20),
    )
    assert "title:" not in article.text and "published:" not in article.text
    assert "ferry.md: its front matter is not valid YAML (line 2)" in caplog.text


def test_html_in_the_charset_its_meta_declares_is_read(tmp_path: Path) -> None:
    """Saved web pages are often windows-1252 or ISO-8859-1 and say so; plain text must be UTF-8."""
    (tmp_path / "cafe.html").write_bytes(
        b'<html><head><meta charset="windows-1252"><title>Caf\xe9 wins award</title></head><body>'
        b"<article><h1>Caf\xe9 wins award</h1><p>The caf\xe9 owner Jos\xe9 Ruiz won the regional baking "
        b"award on Sunday, the jury said \x93with pleasure\x94.</p></article></body></html>"
    )
    (tmp_path / "munich.htm").write_bytes(
        b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"></head>'
        b"<body><article><p>Die Stadt M\xfcnchen er\xf6ffnete am Montag eine neue Br\xfccke, sagte der "
        b"B\xfcrgermeister.</p></article></body></html>"
    )
    (tmp_path / "liar.html").write_bytes(b'<meta charset="utf-8"><p>caf\xe9 ' + BODY.encode() + b"</p>")
    (tmp_path / "plain.txt").write_bytes(b"Caf\xe9 story\n\n" + BODY.encode())
    articles, problems = read_folder(tmp_path)
    by_id = {a.doc_id: a for a in articles}
    assert by_id["cafe"].title == "Café wins award" and "“with pleasure”" in by_id["cafe"].text
    assert "München eröffnete" in by_id["munich"].text
    assert sorted((p.source, p.reason) for p in problems) == [
        ("liar.html", "the file is not UTF-8 text (byte 28)"),
        ("plain.txt", "the file is not UTF-8 text (byte 3)"),
    ]


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        (date(1989, 12, 31), False),
        (date(1990, 1, 1), True),
        (date(2026, 11, 30), True),
        (date(2026, 12, 1), True),  # tomorrow: a page's clock a time zone ahead of UTC
        (date(2026, 12, 2), False),
        (None, False),
    ],
)
def test_a_fetched_date_is_plausible_from_1990_to_tomorrow(value: date | None, kept: bool) -> None:
    assert (plausible_date(value, today=date(2026, 11, 30)) is not None) is kept
