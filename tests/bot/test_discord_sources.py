"""Source status reaches the bot's database, which /sources and /status read."""

from __future__ import annotations

from pathlib import Path

from bot.discord.panels import record_source_statuses, source_lines
from bot.state import open_state
from config import load_settings
from retrieval.collecting import collect


def test_collected_source_status_is_kept_in_the_bot_database(tmp_path: Path, corpus_copy: Path) -> None:
    settings = load_settings(
        sources=[
            {"name": "seeds", "kind": "folder", "path": str(corpus_copy)},
            {"name": "broken", "kind": "folder", "path": str(tmp_path / "missing")},
            {"name": "later", "kind": "folder", "path": str(corpus_copy), "enabled": False},
        ]
    )
    data = tmp_path / "data"
    collect(settings, data)
    state = open_state(settings, data / "newsdesk.sqlite3")
    try:
        record_source_statuses(state, data)
        lines = source_lines(state, settings)
    finally:
        state.close()
    assert lines[0] == "**Sources:**"
    assert lines[1].startswith("seeds (folder): ok, 5 articles; last refresh 5 new or changed")
    assert ", checked 20" in lines[1]
    assert lines[2].startswith("broken (folder): FAILED") and "error:" in lines[2]
    assert lines[3].startswith("later (folder): ") and lines[3].endswith("(disabled)")
