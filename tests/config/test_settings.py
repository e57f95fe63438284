"""config.settings: an embedder's own fusion settings, the user's word over them, the bot's
deadlines, misspelt keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import load_settings
from config.settings import DEFAULTS_FILE, EMBEDDER_SEARCH, ConfigError


def test_the_default_embedder_keeps_the_shipped_fusion() -> None:
    search = load_settings().search
    assert (search.dense_weight, search.keyword_weight, search.rrf_k) == (1.0, 1.0, 30)


def test_wordllama_brings_its_tuned_fusion() -> None:
    search = load_settings(embedding={"provider": "wordllama"}).search
    tuned = EMBEDDER_SEARCH["wordllama"]
    assert (search.dense_weight, search.keyword_weight, search.rrf_k) == (
        tuned["dense_weight"],
        tuned["keyword_weight"],
        tuned["rrf_k"],
    )
    assert search.article_weight == load_settings().search.article_weight  # untouched


def test_a_value_the_user_sets_wins_over_the_embedders(tmp_path: Path) -> None:
    config = tmp_path / "newsdesk.yaml"
    config.write_text("embedding:\n  provider: wordllama\nsearch:\n  dense_weight: 1.0\n", encoding="utf-8")
    search = load_settings(config).search
    assert search.dense_weight == 1.0
    assert search.keyword_weight == EMBEDDER_SEARCH["wordllama"]["keyword_weight"]
    overridden = load_settings(embedding={"provider": "wordllama"}, search={"rrf_k": 60}).search
    assert overridden.rrf_k == 60


def test_the_discord_login_deadline_is_a_setting_with_a_default(tmp_path: Path) -> None:
    assert load_settings().discord.login_timeout_s == 60.0
    config = tmp_path / "newsdesk.yaml"
    config.write_text("discord:\n  login_timeout_s: 15\n", encoding="utf-8")
    assert load_settings(config).discord.login_timeout_s == 15.0


@pytest.mark.parametrize("value", ["0", "-5", "soon", "7200"])
def test_a_login_deadline_that_is_not_a_sane_number_of_seconds_names_the_key(
    tmp_path: Path, value: str
) -> None:
    config = tmp_path / "newsdesk.yaml"
    config.write_text(f"discord:\n  login_timeout_s: {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'discord\.login_timeout_s'"):
        load_settings(config)


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("serach:\n  k: 5\n", "unknown key 'serach' (did you mean 'search'? every setting is in "),
        (
            "llm:\n  timout_s: 3\n",
            "unknown key 'llm.timout_s' (did you mean 'timeout_s'? every setting is in ",
        ),
        (
            "sources:\n  - {name: x, kind: feed, ulr: 'http://a/'}\n",
            "unknown key 'sources.0.ulr' (did you mean 'url'? every setting is in ",
        ),
        ("store:\n  zzzz: 1\n", "unknown key 'store.zzzz' (every setting is in "),
    ],
)
def test_a_misspelt_key_names_the_closest_one_and_where_every_setting_is(
    tmp_path: Path, written: str, shown: str
) -> None:
    """A user of the installed wheel has no config/default.yaml beside them: name its real path."""
    path = tmp_path / "mine.yaml"
    path.write_text(written, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}: {shown}")
    assert str(caught.value).endswith(f"{DEFAULTS_FILE})")
    assert DEFAULTS_FILE.is_file()


@pytest.mark.parametrize(
    ("yaml_text", "said"),
    [
        # 0 shards connected nothing: 'newsdesk bot' waited forever without a word
        ("discord:\n  shards: 0\n", "'discord.shards': give a number of at least 1, or auto (got 0)"),
        ("discord:\n  shards: -2\n", "'discord.shards': give a number of at least 1, or auto (got -2)"),
        # the key as written, not pydantic's union tag ('discord.shards.int'), and both forms it
        # takes, not only the integer ('Input should be a valid integer')
        ("discord:\n  shards: many\n", "'discord.shards': give a number of at least 1, or auto (got 'many')"),
        ("discord:\n  shards: 2.5\n", "'discord.shards': give a number of at least 1, or auto (got 2.5)"),
        ("discord:\n  shards: yes\n", "'discord.shards': give a number of at least 1, or auto (got True)"),
        ("discord:\n  shards: [2]\n", "'discord.shards': give a number of at least 1, or auto (got [2])"),
        ("discord:\n  guild_ids: [abc]\n", "'discord.guild_ids.0': Input should be a valid integer"),
        # the value is said once, not again as '(got ...)'
        (
            "sources:\n  - name: x\n    kind: feed\n    url: ftp://x\n",
            "'sources.0.url': 'ftp://x' is not an http(s) URL",
        ),
    ],
)
def test_a_bad_value_is_named_by_the_key_the_user_wrote(tmp_path: Path, yaml_text: str, said: str) -> None:
    config = tmp_path / "newsdesk.yaml"
    config.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert str(caught.value).startswith(f"{config}: {said}")
    assert "Value error" not in str(caught.value) and str(caught.value).count("ftp://x") <= 1


@pytest.mark.parametrize("shards", [None, 1, 4, "auto"])
def test_a_usable_shard_setting_is_taken(shards: int | str | None) -> None:
    assert load_settings(discord={"shards": shards}).discord.shards == shards


@pytest.mark.parametrize(("written", "taken"), [("AUTO", "auto"), (" auto ", "auto"), ("'3'", 3), ("2.0", 2)])
def test_a_shard_setting_is_read_as_meant(tmp_path: Path, written: str, taken: int | str) -> None:
    config = tmp_path / "newsdesk.yaml"
    config.write_text(f"discord:\n  shards: {written}\n", encoding="utf-8")
    assert load_settings(config).discord.shards == taken


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        ({"discord": {"shards": "many"}}, "the override 'discord.shards': give a number of at least 1"),
        ({"search": {"top_k": "lots"}}, "the override 'search.top_k': "),
        ({"discord": {"guild_ids": ["abc"]}}, "the override 'discord.guild_ids.0': "),
        ({"discord": {"shard": 2}}, "unknown override key 'discord.shard' (did you mean 'shards'?"),
    ],
)
def test_a_bad_override_is_named_as_the_override_not_a_file(
    tmp_path: Path, overrides: dict[str, object], said: str
) -> None:
    config = tmp_path / "newsdesk.yaml"
    config.write_text("discord:\n  shards: 2\n", encoding="utf-8")
    for path in (None, config):
        with pytest.raises(ConfigError) as caught:
            load_settings(path, **overrides)
        assert str(caught.value).startswith(said), str(caught.value)
        assert "default.yaml:" not in str(caught.value) and str(config) not in str(caught.value)


def test_a_bad_value_in_the_file_is_still_named_by_the_file_beside_an_override(tmp_path: Path) -> None:
    config = tmp_path / "newsdesk.yaml"
    config.write_text("discord:\n  shards: many\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, search={"top_k": 5})
    assert str(caught.value).startswith(f"{config}: 'discord.shards': ")
