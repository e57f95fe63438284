"""The ``newsdesk`` command line's grammar: its subcommands, their options and the checks
argparse applies to each value (a date, a count in range)."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2022-02-04") from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 1 <= value <= 50:
        raise argparse.ArgumentTypeError(f"{value} is out of range: give 1 to 50")
    return value


#: the longest --outlet taken (Discord's /ask takes 100): it is echoed back when it matches none
OUTLET_MAX = 200


def _outlet(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise argparse.ArgumentTypeError("give an outlet's name, e.g. --outlet 'Al Jazeera'")
    if any("\udc80" <= ch <= "\udcff" for ch in name):  # undecodable bytes from the shell
        raise argparse.ArgumentTypeError("the outlet is not valid UTF-8 text")
    if len(name) > OUTLET_MAX:
        raise argparse.ArgumentTypeError(
            f"{len(name):,} characters; an outlet's name is at most {OUTLET_MAX}"
        )
    return name


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsdesk",
        description="Cited answers, summaries and timelines from a body of news coverage.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the exit codes one to a line
        epilog=(
            "exit codes:\n"
            "  0    done\n"
            "  1    the run could not complete\n"
            "  2    bad input or config\n"
            "  3    status: the index cannot answer (its index: line says why)\n"
            "  75   another reindex or refresh is running: nothing done, nothing wrong; try later\n"
            "  130  interrupted"
        ),
    )
    common = argparse.ArgumentParser(add_help=False)
    _global_options(parser, common)
    parser.add_argument("--version", action="version", version=f"newsdesk {_version()}")
    sub = _Commands(parser.add_subparsers(dest="command", required=True), common)

    p = sub.add_parser("index", help="index the corpus (incremental)")
    p.add_argument("--corpus", type=Path, help="folder of articles (default: config or bundled)")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything")
    p.add_argument(
        "--progress", action="store_true", help="report progress on stderr even when it is not a terminal"
    )

    p = sub.add_parser("ask", help="answer a question with citations")
    p.add_argument("question", nargs="?", help="the question (omit with --jsonl)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("--jsonl", action="store_true", help="questions on stdin, one JSON answer per line")
    p.add_argument("--mode", choices=["llm", "extractive", "auto"], help="answer mode")
    p.add_argument("--since", type=_date, help="only articles published on or after this date")
    p.add_argument("--until", type=_date, help="only articles published on or before this date")
    p.add_argument("--outlet", type=_outlet, help="only articles from this outlet")

    p = sub.add_parser("search", help="show the ranked passages for a query")
    p.add_argument("query", help="what to search for")
    p.add_argument("--k", type=_count, default=None, help="how many passages (1-50)")
    p.add_argument("--json", action="store_true", help="print the passages as JSON")

    p = sub.add_parser("refresh", help="fetch the configured sources and update the index (for cron)")
    p.add_argument("--source", help="refresh only this source (by name); the others keep their articles")

    # summaries and timelines
    p = sub.add_parser("summary", help="summarise a topic's coverage (or one article), cited")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--topic", help="what to summarise, e.g. 'Putin and Xi meetings'")
    which.add_argument("--article", help="one article's id or headline")
    _window_options(p)
    p.add_argument("--mode", choices=["llm", "extractive", "auto"], help="summary mode")
    p = sub.add_parser("timeline", help="a dated, cited timeline of a topic's coverage")
    p.add_argument("--topic", required=True, help="what to follow")
    _window_options(p)

    # copy an index to another store without re-embedding
    p = sub.add_parser("migrate", help="copy the index, vectors included, to PostgreSQL (no re-embedding)")
    p.add_argument("--to", required=True, choices=["postgres"], help="the target store backend")

    p = sub.add_parser("status", help="what /status shows in Discord: coverage, index, store, model, sources")
    p.add_argument("--json", action="store_true", help="print the status as JSON")

    sub.add_parser("bot", help="run the Discord bot")
    p = sub.add_parser("invite-url", help="print the OAuth2 link that adds the bot to a server")
    p.add_argument("--app-id", required=True, type=int, help="the application's id")
    return parser


_GLOBAL = (
    (("--data-dir",), {"type": Path, "help": "index and state folder (env NEWSDESK_DATA_DIR)"}),
    (("--config",), {"type": Path, "help": "YAML config file (env NEWSDESK_CONFIG)"}),
    (("-v", "--verbose"), {"action": "store_true", "help": "log progress details"}),
)


def _global_options(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    """The options every command takes, before the command (``newsdesk --config F ask``) or
    after it (``newsdesk ask --config F``, as people type them); ``common`` is the parent
    parser each command gets, whose unset options leave the ones given before alone."""
    for flags, options in _GLOBAL:
        parser.add_argument(*flags, **options)
        common.add_argument(*flags, **options, default=argparse.SUPPRESS)


class _Commands:
    """The subcommands, each taking the global options too."""

    def __init__(self, actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
        self._actions = actions
        self.common = common

    def add_parser(self, name: str, **options: str) -> argparse.ArgumentParser:
        return self._actions.add_parser(name, parents=[self.common], **options)  # type: ignore[arg-type]


def _window_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", type=_date, help="only articles published on or after this date")
    p.add_argument("--until", type=_date, help="only articles published on or before this date")
    p.add_argument("--outlet", type=_outlet, help="only articles from this outlet")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsdesk")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"
