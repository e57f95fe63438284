"""The command line's grammar: global options before or after the command."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.command_line import build_parser


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "c.yaml", "--data-dir", "d", "-v", "status", "--json"],
        ["status", "--json", "--config", "c.yaml", "--data-dir", "d", "-v"],  # as people type them
        ["--config", "c.yaml", "status", "--data-dir", "d", "--json", "--verbose"],
    ],
)
def test_the_global_options_may_come_before_or_after_the_command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.config, args.data_dir, args.verbose, args.json) == (Path("c.yaml"), Path("d"), True, True)


def test_global_options_not_given_after_the_command_keep_those_before() -> None:
    args = build_parser().parse_args(["--config", "c.yaml", "-v", "ask", "Who met?"])
    assert (args.config, args.data_dir, args.verbose) == (Path("c.yaml"), None, True)
    args = build_parser().parse_args(["ask", "Who met?"])
    assert (args.config, args.data_dir, args.verbose) == (None, None, False)


def test_a_config_after_the_command_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("bogus: 1\n", encoding="utf-8")
    assert main(["status", "--json", "--config", str(config)]) == 2  # was 'unrecognized arguments'
    assert capsys.readouterr().err.startswith(f"newsdesk: error: {config}: unknown key 'bogus'")


@pytest.mark.parametrize(
    "command", ["index", "ask", "search", "refresh", "summary", "timeline", "status", "bot"]
)
def test_every_commands_help_lists_the_global_options(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    shown = capsys.readouterr().out
    assert "--data-dir DATA_DIR" in shown and "--config CONFIG" in shown and "-v, --verbose" in shown


@pytest.mark.parametrize(
    ("outlet", "said"),
    [
        (
            "x" * 100_000,
            "argument --outlet: 100,000 characters; an outlet's name is at most 200",
        ),  # was echoed whole
        ("   ", "argument --outlet: give an outlet's name"),
        ("\udcff\udcfe", "argument --outlet: the outlet is not valid UTF-8 text"),
    ],
)
def test_an_unusable_outlet_is_refused_in_one_short_line(
    outlet: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["ask", "Who met?", "--outlet", outlet])
    assert caught.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert said in last and len(last) < 200


def test_an_outlets_spacing_is_folded() -> None:
    assert (
        build_parser().parse_args(["timeline", "--topic", "t", "--outlet", "  Al   Jazeera "]).outlet
        == "Al Jazeera"
    )
