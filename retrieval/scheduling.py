"""Scheduled refreshes inside a long-running process (the bot): an asyncio task.

    stop = asyncio.Event()
    task = asyncio.create_task(refresh_loop(desk, settings, stop))
    ...
    stop.set(); await task

Each tick refreshes the sources whose ``refresh_minutes`` have passed since their last attempt
(a failed source is retried at the same interval). The blocking reindex runs in a thread, so
questions are answered meanwhile from the last good index. Setting ``stop`` also ends a refresh
in progress at its next progress report: nothing is published, and a half-built index folder
stays for the next run to resume.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from config.errors import RunFailed
from config.settings import Settings
from retrieval.collecting import SourceStatus, read_statuses
from retrieval.ingest import Progress, ReindexBusy, ReindexReport

log = logging.getLogger(__name__)

#: on_refresh(source name or None for all, the report or the error it raised)
RefreshCallback = Callable[[str | None, ReindexReport | BaseException], None]


class Reindexing(Protocol):
    """What the loop needs of ``prompts.desk.Desk``."""

    @property
    def data_dir(self) -> Path: ...

    def reindex(
        self,
        corpus: Path | None = None,
        rebuild: bool = False,
        progress: Progress | None = None,
        source: str | None = None,
    ) -> ReindexReport: ...


class RefreshStopped(Exception):
    """Raised in the reindex thread at a progress report once the loop was told to stop."""


def _stop_check(halt: threading.Event) -> Progress:
    """A progress callback that ends the reindex once ``halt`` is set."""

    def check(done: int, total: int, label: str) -> None:
        if halt.is_set():
            raise RefreshStopped()

    return check


def due_sources(settings: Settings, statuses: Mapping[str, SourceStatus], now: datetime) -> list[str]:
    """Names of the enabled sources not attempted within their ``refresh_minutes``."""
    due = []
    for source in settings.sources:
        if not source.enabled:
            continue
        status = statuses.get(source.name)
        last = datetime.fromisoformat(status.last_attempt) if status and status.last_attempt else None
        if last is None or now - last >= timedelta(minutes=source.refresh_minutes):
            due.append(source.name)
    return due


async def refresh_due(
    desk: Reindexing,
    settings: Settings,
    on_refresh: RefreshCallback | None = None,
    halt: threading.Event | None = None,
) -> list[str | None]:
    """Refresh what is due now: everything in one run when every source is due, else one run
    per due source. Returns what was refreshed (None meaning all). Once ``halt`` is set (it is
    read by the reindex thread) the run in progress ends at its next progress report and no
    further run starts."""
    halt = halt or threading.Event()
    due = due_sources(settings, read_statuses(desk.data_dir), datetime.now(UTC))
    enabled = [s for s in settings.sources if s.enabled]
    runs: list[str | None] = [None] if due and len(due) == len(enabled) else list(due)
    done: list[str | None] = []
    for name in runs:
        if halt.is_set():
            break
        try:
            result = await asyncio.to_thread(desk.reindex, progress=_stop_check(halt), source=name)
            log.info("refreshed %s: %s", name or "all sources", result.summary())
            report: ReindexReport | BaseException = result
        except RefreshStopped:
            log.info("the refresh of %s stopped: the process is stopping", name or "all sources")
            break
        except ReindexBusy:
            log.info("a reindex is running; the refresh of %s waits for the next tick", name or "all")
            break
        except RunFailed as exc:  # said in one line (a full disk, a database that is down)
            log.warning("refresh of %s failed: %s", name or "all sources", exc)
            report = exc
        except Exception as exc:  # the loop must outlive any one failed refresh
            log.exception("refresh of %s failed", name or "all sources")
            report = exc
        done.append(name)
        if on_refresh is not None:
            on_refresh(name, report)
    return done


async def refresh_loop(
    desk: Reindexing,
    settings: Settings,
    stop: asyncio.Event,
    tick_s: float = 60.0,
    on_refresh: RefreshCallback | None = None,
) -> None:
    """Refresh due sources every ``tick_s`` seconds until ``stop`` is set; a refresh in
    progress then ends at its next progress report."""
    if not settings.sources:
        log.info("no sources configured; scheduled refresh is off")
        return
    halt = threading.Event()  # ``stop`` as the reindex thread can read it
    relay = asyncio.create_task(_relay(stop, halt))
    try:
        while not stop.is_set():
            await refresh_due(desk, settings, on_refresh, halt)
            try:
                await asyncio.wait_for(stop.wait(), timeout=tick_s)
            except TimeoutError:
                continue
    finally:
        halt.set()  # cancelled too: a reindex thread left running would still stop
        relay.cancel()


async def _relay(stop: asyncio.Event, halt: threading.Event) -> None:
    await stop.wait()
    halt.set()
