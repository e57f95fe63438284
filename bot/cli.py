"""The ``newsdesk`` command: a thin front end over :class:`prompts.desk.Desk`.

Every failure a user can cause (bad config, missing corpus, empty question...) is one line on
stderr and exit code 2; nothing is written.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from bot.command_line import build_parser
from bot.json_output import dumps, hits_json, refused_question, undecodable_line
from bot.terminal_text import answer_text, hits_text, status_text, summary_text
from config.counts import counted
from config.errors import EXIT_INDEX_UNUSABLE, Busy, RunFailed, UserError, escape_controls, one_line
from config.redaction import redact, redact_logs

_T = TypeVar("_T")


class UsageError(UserError):
    """A command line the CLI cannot use; exit code 2."""


#: The commands that write to the data folder; the others only read an index that exists.
_WRITING = frozenset({"index", "refresh", "bot"})


def _check_data_dir(given: Path | None, command: str) -> None:
    """A --data-dir (or NEWSDESK_DATA_DIR) that is a file is a usage error; one that cannot be
    written stops only the commands that write (reading a read-only index needs no writes)."""
    env = os.environ.get("NEWSDESK_DATA_DIR")
    folder = given or (Path(env) if env else None)
    if folder is None:
        return
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"the data folder {folder} is a file, not a folder")
    if existing is not None and not existing.is_dir():
        raise UsageError(f"the data folder {folder} cannot be made: {existing} is a file")
    if command in _WRITING and existing is not None and not _writable(existing):
        raise RunFailed(f"the data folder {folder} cannot be written (permission denied on {existing})")


def _writable(folder: Path) -> bool:
    """Whether files can be made in ``folder``: its modes, and (root ignores them) its mount."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    return not os.statvfs(folder).f_flag & os.ST_RDONLY


def _settings(args: argparse.Namespace) -> Any:
    from config import load_settings

    path = args.config or (Path(os.environ["NEWSDESK_CONFIG"]) if os.environ.get("NEWSDESK_CONFIG") else None)
    return load_settings(path)


def _open_desk(args: argparse.Namespace, settings: Any) -> Any:
    from bot.progress import progress_bar
    from prompts.desk import Desk

    with progress_bar(quiet=getattr(args, "json", False) or getattr(args, "jsonl", False)) as progress:
        return Desk.open(settings, args.data_dir, progress=progress)


_PRINTING_LOGGERS = ("retrieval.sources", "retrieval.collecting")


def _escaped(record: logging.LogRecord) -> bool:
    """A log line on the terminal: a file name's escape sequence is shown, never obeyed."""
    record.msg, record.args = escape_controls(record.getMessage()), None
    return True


def _printed_here(record: logging.LogRecord) -> bool:
    """False for the log line of a problem that index/refresh print themselves as 'warning:'
    (a skipped file); other warnings of the reader (an unreadable date) are shown as logged."""
    if record.name == "retrieval.sources":
        return record.levelno > logging.WARNING or not record.getMessage().startswith("skipped ")
    # a failed source, and a source whose cache cannot be read, are problems printed as warnings
    printed = ("source %s failed", "source %s: ")
    return not (record.name == "retrieval.collecting" and str(record.msg).startswith(printed))


def _cmd_index(args: argparse.Namespace) -> int:
    from bot.progress import progress_bar
    from prompts.desk import Desk

    settings = _settings(args)
    with progress_bar(asked=args.progress) as progress:
        desk = Desk.open(settings, args.data_dir, build=False, progress=progress)
        try:
            report = desk.reindex(args.corpus, rebuild=args.rebuild, progress=progress)
        finally:
            desk.close()
    for problem in report.problems:
        print(f"warning: {one_line(problem)}", file=sys.stderr)
    print(f"indexed: {report.summary()}")
    return 0


def _cmd_refresh(args: argparse.Namespace) -> int:
    """Exit 0 when every refreshed source worked, 1 when one failed (cron mails the output), 75
    when another refresh or reindex is running (nothing done, nothing wrong)."""
    from prompts.desk import Desk
    from retrieval.collecting import read_statuses, source_lines
    from retrieval.sources import EmptyCorpus

    settings = _settings(args)
    if not settings.sources:
        raise UsageError("no sources are configured; add a 'sources:' list to the config (docs/sources.md)")
    desk = Desk.open(settings, args.data_dir, build=False)
    try:
        report = desk.reindex(source=args.source)
        statuses = read_statuses(desk.data_dir)
        refreshed = [s for s in settings.sources if s.name == args.source or not args.source]
        lines = source_lines(settings.model_copy(update={"sources": refreshed}), statuses)
    except EmptyCorpus as exc:  # every source failed and none had articles before
        for problem in exc.problems:
            print(f"warning: {one_line(problem)}", file=sys.stderr)
        print(
            "newsdesk: error: every source failed and none has articles yet; nothing was indexed",
            file=sys.stderr,
        )
        return 1
    finally:
        desk.close()
    for problem in report.problems:
        print(f"warning: {one_line(problem)}", file=sys.stderr)
    print(escape_controls(redact("\n".join(lines))))
    print(f"indexed: {report.summary()}")
    asked = [s.name for s in refreshed if s.enabled or args.source]
    failed = [name for name in asked if name in statuses and not statuses[name].ok]
    return 1 if failed else 0


def _cmd_ask(args: argparse.Namespace) -> int:
    from prompts.desk import check_question

    settings = _settings(args)
    if args.jsonl and args.question is not None:
        raise UsageError("--jsonl reads the questions from stdin; give the question without --jsonl")
    if not args.jsonl:
        if args.question is None:
            piped = not sys.stdin.isatty()  # echo "..." | newsdesk ask: say how stdin is read
            raise UsageError(
                'give a question, e.g. newsdesk ask "When did Xi visit Moscow?"'
                + ("; to read questions from stdin, one a line, add --jsonl" if piped else "")
            )
        check_question(args.question, settings.answer.max_question_chars)
    desk = _open_desk(args, settings)
    options = {"mode": args.mode, "since": args.since, "until": args.until, "outlet": args.outlet}
    try:
        if args.jsonl:
            return _ask_lines(desk, options)
        answer = asyncio.run(_closing(desk, desk.ask(args.question, **options)))
        print(dumps(answer.to_json()) if args.json else answer_text(answer))
        return 0
    finally:
        desk.close()


def _ask_lines(desk: Any, options: dict[str, Any]) -> int:
    from prompts.desk import QuestionError

    async def run() -> None:
        stdin = getattr(sys.stdin, "buffer", None)  # bytes, so one bad line is one error
        raws = stdin if stdin is not None else (line.encode("utf-8", "surrogateescape") for line in sys.stdin)
        for number, raw in enumerate(raws, 1):
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError as exc:  # one bad line never aborts the batch
                print(dumps(undecodable_line(number, exc)), flush=True)
                continue
            if not line:
                continue
            try:
                answer = await desk.ask(line, **options)
                out = answer.to_json()
            except QuestionError as exc:
                out = refused_question(line, exc)
            print(dumps(out), flush=True)

    asyncio.run(_closing(desk, run()))
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    desk = _open_desk(args, _settings(args))
    try:
        hits = desk.search(args.query, k=args.k)
    finally:
        desk.close()
    print(dumps(hits_json(hits)) if args.json else hits_text(hits))
    return 0


def _cmd_bot(args: argparse.Namespace) -> int:
    from bot.discord.runner import run
    from prompts.desk import Desk

    settings = _settings(args)
    return int(run(settings, lambda: Desk.open(settings, args.data_dir)))


def _cmd_summary(args: argparse.Namespace) -> int:
    if args.article and (args.since or args.until or args.outlet):
        raise UsageError("--since, --until and --outlet apply to --topic, not --article")
    return _summarise(args, topic=args.topic, article=args.article, mode=args.mode)


async def _closing(desk: Any, work: Awaitable[_T]) -> _T:
    """``work``'s result, the desk's model client closed in the same event loop."""
    try:
        return await work
    finally:
        await desk.aclose()


def _cmd_timeline(args: argparse.Namespace) -> int:
    return _summarise(args, topic=args.topic, timeline=True)


def _summarise(args: argparse.Namespace, **request: Any) -> int:
    desk = _open_desk(args, _settings(args))
    window = {"since": args.since, "until": args.until, "outlet": args.outlet}
    try:
        asked = desk.summarize(**request, **{k: v for k, v in window.items() if v})
        result = asyncio.run(_closing(desk, asked))
    finally:
        desk.close()
    print(dumps(result.to_json()) if args.json else summary_text(result))
    return 0


# newsdesk migrate --to postgres
def _cmd_migrate(args: argparse.Namespace) -> int:
    from prompts.desk import default_data_dir
    from retrieval.backends.postgres import migrate_to_postgres

    settings = _settings(args)
    data_dir = args.data_dir or settings.data_dir or default_data_dir()
    name, passages = migrate_to_postgres(settings, Path(data_dir) / "index")
    print(
        f"migrated: {counted(passages, 'passage')} with their vectors to PostgreSQL as {name} "
        "(nothing re-embedded); set store.backend: postgres to search it"
    )
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    """Exit 0 when the index answers, 3 when it cannot (its ``index:`` line says why)."""
    from prompts.desk import Desk
    from prompts.status import desk_status

    settings = _settings(args)
    desk = Desk.open(settings, args.data_dir, build=False)  # status never builds an index
    try:
        status = desk_status(desk)
    finally:
        desk.close()
    print(dumps(status.to_json()) if args.json else status_text(status))
    return EXIT_INDEX_UNUSABLE if status.index_problem else 0


def _cmd_invite(args: argparse.Namespace) -> int:
    from bot.discord.invite import invite_url

    print(invite_url(args.app_id))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "index": _cmd_index,
    "ask": _cmd_ask,
    "search": _cmd_search,
    "refresh": _cmd_refresh,
    "bot": _cmd_bot,
    "invite-url": _cmd_invite,
    "status": _cmd_status,
    "migrate": _cmd_migrate,
    "summary": _cmd_summary,
    "timeline": _cmd_timeline,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    redact_logs()
    for handler in logging.getLogger().handlers:
        if _escaped not in handler.filters:
            handler.addFilter(_escaped)
    printing = [logging.getLogger(n) for n in _PRINTING_LOGGERS if args.command in ("index", "refresh")]
    for logger in printing:  # index and refresh print each problem once, as 'warning:'
        logger.addFilter(_printed_here)
    try:
        _check_data_dir(args.data_dir, args.command)
        since, until = getattr(args, "since", None), getattr(args, "until", None)
        if since and until and since > until:
            raise UsageError(f"--since {since} is after --until {until}; swap them")
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except BrokenPipeError:
        return _reader_went_away()
    except UserError as exc:  # the core's and ours: one line, exit 2 (bad input), 1 (failed run), 75 (busy)
        label = "busy" if isinstance(exc, Busy) else "error"  # busy: not a failure, just not now
        print(f"newsdesk: {label}: {one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("newsdesk: interrupted", file=sys.stderr)
        return 130
    finally:
        for logger in printing:
            logger.removeFilter(_printed_here)


def _reader_went_away() -> int:
    """Output piped into ``head`` (or a pager quit early): stop quietly, as ``cat`` does.

    Python would otherwise report the broken pipe again when it flushes stdout at exit.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141  # 128 + SIGPIPE, what a shell reports for a command ended by a closed pipe


if __name__ == "__main__":
    sys.exit(main())
