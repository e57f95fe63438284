"""Reading a corpus folder: formats, metadata, and bad files skipped with a warning."""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path

import pytest

from corpus import SAMPLE_CORPUS
from retrieval.sources import CorpusError, read_folder

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
