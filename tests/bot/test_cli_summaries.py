"""``newsdesk summary`` and ``newsdesk timeline``: text and JSON output over the seed index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main

TOPIC = "Putin and Xi meetings"


@pytest.fixture(scope="module")
def cli_data_dir(seed_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the seed index (the session's Desk holds the original's store open)."""
    target = tmp_path_factory.mktemp("cli-summaries") / "data"
    shutil.copytree(seed_data_dir, target)
    return target


def run(capsys: pytest.CaptureFixture[str], data_dir: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_prints_stories_in_date_order_then_sources_with_the_window(capsys, cli_data_dir):
    code, out, _ = run(capsys, cli_data_dir, "summary", "--topic", TOPIC)
    assert code == 0
    assert out.startswith(f"Summary: {TOPIC}\n")
    headings = ("15 Dec 2021 · Al Jazeera", "2–3 Feb 2022 · RT", "17 Mar 2023 · El Comercio")
    assert out.index(headings[0]) < out.index(headings[1]) < out.index(headings[2])
    assert "Where outlets differ:" in out
    assert "Sources (based on " in out and "Dec 2021 to Mar 2023):" in out


def test_summary_json_since_keeps_only_the_2023_article(capsys, cli_data_dir):
    code, out, _ = run(capsys, cli_data_dir, "summary", "--topic", TOPIC, "--since", "2023-01-01", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["filters"]["since"] == "2023-01-01"
    assert [s["from"] for s in data["stories"]] == ["2023-03-17"]
    assert {c["doc_id"] for c in data["citations"]} == {"001_f0604eb540a79818"}
    assert data["coverage"] == {"articles": 1, "from": "2023-03-17", "to": "2023-03-17"}


def test_summary_of_one_article_by_id(capsys, cli_data_dir):
    code, out, _ = run(capsys, cli_data_dir, "summary", "--article", "003_8ede539651f993fa", "--json")
    data = json.loads(out)
    assert code == 0 and data["grounded"]
    assert {c["doc_id"] for c in data["citations"]} == {"003_8ede539651f993fa"}


def test_timeline_prints_dated_bullets(capsys, cli_data_dir):
    code, out, _ = run(capsys, cli_data_dir, "timeline", "--topic", TOPIC)
    bullets = [line for line in out.splitlines() if line.startswith("- ")]
    assert code == 0
    assert [b.split(" — ")[0] for b in bullets] == ["- 15 Dec 2021", "- 2–3 Feb 2022", "- 17 Mar 2023"]


def test_timeline_json_has_events(capsys, cli_data_dir):
    code, out, _ = run(capsys, cli_data_dir, "timeline", "--topic", TOPIC, "--until", "2022-12-31", "--json")
    data = json.loads(out)
    assert code == 0 and [e["from"] for e in data["events"]] == ["2021-12-15", "2022-02-02"]


def test_summary_needs_a_topic_or_an_article(capsys, cli_data_dir):
    with pytest.raises(SystemExit) as exc:
        main(["--data-dir", str(cli_data_dir), "summary"])
    assert exc.value.code == 2


def test_window_options_with_an_article_are_a_one_line_error(capsys, cli_data_dir):
    code, _, err = run(capsys, cli_data_dir, "summary", "--article", "x", "--since", "2022-01-01")
    assert code == 2 and err.startswith("newsdesk: error: --since, --until and --outlet apply to --topic")


@pytest.mark.parametrize(
    ("command", "line"),
    [("summary", "give a topic to summarise, or an article"), ("timeline", "give a topic to follow")],
)
@pytest.mark.parametrize("topic", ["", "   "])
def test_a_blank_topic_is_asked_for_as_a_topic(capsys, cli_data_dir, command, line, topic):
    code, out, err = run(capsys, cli_data_dir, command, "--topic", topic)
    assert (code, out) == (2, "")  # a blank one was 'the question is empty; ask something ...'
    assert err == f"newsdesk: error: {line}\n"
