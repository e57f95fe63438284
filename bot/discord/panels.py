"""Short texts for /sources, /status and /reindex, from whatever the core reports.

The core's report objects are read by attribute name, so a field it does not have is simply
left out rather than breaking the command.
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime
from typing import Any

from config.counts import counted


def _get(obj: Any, *names: str) -> Any:
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if value is not None:
            return value
    return None


def _day(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC") if value.tzinfo else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return str(value)


def coverage_lines(stats: Any) -> list[str]:
    """What the coverage holds: articles, outlets, date range, last reindex."""
    lines = []
    articles = _get(stats, "articles", "documents", "doc_count")
    if articles is not None:
        lines.append(f"**Articles:** {articles}")
    passages = _get(stats, "passages", "passage_count")
    if passages is not None:
        lines.append(f"**Passages:** {passages}")
    outlets = _get(stats, "outlets")
    if outlets is not None:
        names = list(outlets) if not isinstance(outlets, int) else []
        shown = ", ".join(str(n) for n in names[:15]) + (" …" if len(names) > 15 else "")
        listed = f" ({shown})" if shown else ""
        lines.append(f"**Outlets:** {len(names) if names else outlets}{listed}")
    start, end = _get(stats, "start", "first", "earliest"), _get(stats, "end", "last", "latest")
    if start or end:
        lines.append(f"**Dates:** {_day(start) if start else '?'} to {_day(end) if end else '?'}")
    indexed = _get(stats, "last_reindex", "indexed_at", "updated_at", "built_at")
    lines.append(f"**Last reindex:** {_day(indexed) if indexed else 'unknown'}")
    return lines


def status_lines(stats: Any, *, mode: str, model: str, started: float, errors: int) -> list[str]:
    """Index size, answer mode, model reachability, uptime and recent errors."""
    articles = _get(stats, "articles", "documents", "doc_count")
    passages = _get(stats, "passages", "passage_count")
    size = " / ".join(
        counted(value, noun) if isinstance(value, int) else f"{value} {noun}s"
        for value, noun in ((articles, "article"), (passages, "passage"))
        if value is not None
    )
    return [
        f"**Index:** {size or 'unknown'}",
        f"**Answer mode:** {mode}",
        f"**Model reachable:** {model}",
        f"**Uptime:** {uptime(time.monotonic() - started)}",
        f"**Errors in the last hour:** {errors}",
    ]


def uptime(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s"


def progress_text(done: int, total: int, label: str) -> str:
    if total:
        return f"Reindexing… {done}/{total} ({100 * done // total} %) {label}".rstrip()
    return f"Reindexing… {label}".rstrip()


def report_text(report: Any, seconds: float) -> str:
    """Reindex outcome: added / changed / removed / failed counts."""
    summary = getattr(report, "summary", None)
    if callable(summary):
        return f"Reindex finished: {summary()}."
    counts = []
    for name in ("added", "changed", "removed", "failed"):
        value = _get(report, name)
        if isinstance(value, list | tuple | set | frozenset | dict):
            value = len(value)
        counts.append(f"{value if value is not None else 0} {name}")
    return f"Reindex finished in {seconds:.1f} s: " + ", ".join(counts) + "."


def job_line(job: Any) -> str:
    """The last /reindex: how it ended (or that it runs), when, and its summary; read after a
    reindex that outlived the 15 minutes Discord lets its own message be edited."""
    status = str(_get(job, "status") or "unknown")
    finished = _get(job, "finished_at")
    when = f"since {_day(_get(job, 'started_at'))}" if finished is None else _day(finished)
    source = _get(job, "source")
    summary = _get(job, "summary")
    text = f"**Last reindex:** {status}{f' ({source})' if source else ''}, {when}"
    if summary:
        from config.redaction import redact

        text += f": {without_server_paths(redact(' '.join(str(summary).split())))}"
    return text


def record_source_statuses(state: Any, data_dir: Any) -> None:
    """Keep the status each source's refresh just wrote in the bot's database, so every bot
    process sharing that database (PostgreSQL) shows the same /sources and /status."""
    from retrieval.collecting import read_statuses

    for status in read_statuses(data_dir).values():
        state.source_checked(status)


def source_lines(state: Any, settings: Any) -> list[str]:
    """One line per configured source from the bot's database: the line the CLI prints, with
    a folder source's error naming its folder, not the server's path to it."""
    from retrieval.collecting import source_lines as lines_of

    if not getattr(settings, "sources", None):
        return []
    return [
        "**Sources:**",
        *(without_server_paths(line) for line in lines_of(settings, state.source_statuses())),
    ]


#: An absolute file path; not a URL's path (after a host) nor a fraction or "and/or".
_SERVER_PATH = re.compile(r"(?<![\w.~:/-])/(?:[\w.@+-]+/)*([\w.@+-]+)/?")


def without_server_paths(text: str) -> str:
    """``text`` with each absolute file path cut to its last part (``/srv/news/corpus`` ->
    ``corpus``): the core's error lines name the server's folders, which the people on a
    Discord server (admins included) need not see; the operator's log keeps them."""
    return _SERVER_PATH.sub(r"\1", text)
