"""Site furniture is removed by general rules; headline, standfirst and body stay verbatim."""

from __future__ import annotations

import pytest
import yaml

from corpus import SAMPLE_CORPUS
from retrieval.cleaning import clean_label, clean_text, is_furniture

MANIFEST = yaml.safe_load((SAMPLE_CORPUS / "manifest.yaml").read_text(encoding="utf-8"))
# The manifest describes some furniture by pattern; these are the lines those patterns name.
PATTERN_LINES = {
    "READ ALSO: ...": ["READ ALSO: Russia considers Putin’s arrest warrant “legally void”"],
    "LOOK HERE: ...": [
        "LOOK HERE: US rejects Ukraine ceasefire fearing ‘Russian conquest’",
        "LOOK HERE: Opposition in France presents motion of censure",
    ],
    "photo captions ending in 'Photo: ...' or 'File photo: ...'": [
        "could further bolster their cooperation amid tension with the West over Ukraine. File photo: AP",
        "talks to Russian President Vladimir Putin via video link in December. Photo: Xinhua",
    ],
    "FILE PHOTO: ... REUTERS/Kevin Lamarque (photo caption)": ["FILE PHOTO: U.S. President Joe Biden"],
}


def _lines_of(entry: dict) -> list[str]:
    found = []
    for item in entry["furniture"]:
        found.extend(PATTERN_LINES.get(item, [item]))
    return found


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"][:3] for e in MANIFEST])
def test_seed_furniture_listed_in_manifest_is_removed(entry: dict) -> None:
    raw = (SAMPLE_CORPUS / entry["file"]).read_text(encoding="utf-8")
    cleaned = clean_text(raw, entry["title"])
    paragraphs = cleaned.split("\n\n")
    for furniture in _lines_of(entry):
        assert not any(furniture in p for p in paragraphs), furniture


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"][:3] for e in MANIFEST])
def test_seed_body_is_kept_verbatim(entry: dict) -> None:
    raw = (SAMPLE_CORPUS / entry["file"]).read_text(encoding="utf-8")
    cleaned = clean_text(raw, entry["title"])
    furniture = _lines_of(entry)
    body = [line.strip() for line in raw.splitlines() if len(line.split()) > 12]
    kept = [line for line in body if not any(f in line for f in furniture)]
    assert kept and all(line in cleaned for line in kept)


def test_headline_and_unpunctuated_standfirst_are_kept() -> None:
    raw = (SAMPLE_CORPUS / "000_5f72ae501e33b219.txt").read_text(encoding="utf-8")
    cleaned = clean_text(raw, "Russia & China to discuss 'new era' amid split with West")
    assert cleaned.startswith("Russia & China to discuss ‘new era’ amid split with West")
    assert "The announcement comes as Moscow and Beijing increase their cooperation" in cleaned


@pytest.mark.parametrize(
    "line",
    [
        "ADVERTISEMENT",
        "Skip to main content",
        "Read more: Why the markets fell today",
        "SEE ALSO: Ten things to know",
        "Share on Facebook",
        "Share this story",
        "Tweet",
        "Follow us on Twitter",
        "Subscribe now",
        "Most read",
        "Related articles",
        "protesters gather outside parliament. Photo: Reuters",
        "The minister arrives. (Photo: AFP)",
        "Delegates at the summit in Geneva. REUTERS/Denis Balibouse",
        "hero-image_01.jpg",
        "Source: Reuters",
        "1,204",
        "You might also like",
        "Sign up",
        "Trending now",
    ],
)
def test_general_rules_catch_furniture_not_in_the_seeds(line: str) -> None:
    assert is_furniture(line)


@pytest.mark.parametrize(
    "line",
    [
        "The minister said the talks would resume on Monday.",
        "Moscow and Beijing signed 14 agreements.",
        "Source: officials familiar with the matter said the plan was shelved after the vote.",
        "Military and technical cooperation",
        "“We will resist,” Putin said.",
    ],
)
def test_article_sentences_and_subheads_are_not_furniture(line: str) -> None:
    assert not is_furniture(line)


def test_pre_headline_chrome_and_in_body_teasers_are_dropped() -> None:
    raw = (
        "Home\nWorld news\nTop picks for you today\n\n"
        "Leaders meet in Geneva for climate talks\n"
        "Delegations arrive with hopes of a deal on emissions\n\n"
        "The summit opened on Monday with a call for urgent action.\n"
        "Why the last three summits ended without agreement on coal\n"
        "Negotiators said a text could be ready by Friday.\n"
        "Share this article\n"
    )
    cleaned = clean_text(raw, "Leaders meet in Geneva for climate talks")
    assert cleaned.split("\n\n") == [
        "Leaders meet in Geneva for climate talks",
        "Delegations arrive with hopes of a deal on emissions",
        "The summit opened on Monday with a call for urgent action.",
        "Negotiators said a text could be ready by Friday.",
    ]


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("Rates \x1b[2J\x1b]0;pwned\x07rise.", "Rates [2J]0;pwnedrise."),  # escape, bell: gone
        ("Tab\tstays, NUL\x00 and DEL\x7f go.", "Tab\tstays, NUL and DEL go."),
        ("C1\x9b31m and \x85next-line go.", "C131m and\n\nnext-line go."),  # \x85 ends a line
        ("Plain text, ümlauts and “quotes” stay.", "Plain text, ümlauts and “quotes” stay."),
    ],
)
def test_control_characters_are_removed_from_article_text(raw: str, cleaned: str) -> None:
    assert clean_text(raw) == cleaned


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("Harbour\x1b[31m reopens\x07", "Harbour[31m reopens"),
        ("  Two\n\tlines\r\n", "Two lines"),
        ("\x00\x1b\x9b", None),
        (None, None),
    ],
)
def test_titles_and_outlets_are_one_clean_line(raw: str | None, cleaned: str | None) -> None:
    assert clean_label(raw) == cleaned
