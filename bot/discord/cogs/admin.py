"""Admin commands: /reindex (one at a time, progress shown by editing its message) and /status.

``default_permissions`` hides them from non-admins, but server owners can override that in
Server Settings → Integrations, so :func:`is_admin` checks again on every call.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from bot.discord.cogs import NewsdeskCog
from bot.discord.errors import (
    UNDELIVERABLE,
    IndexBusy,
    NotAdmin,
    ReindexRunning,
    ReindexStopped,
    mark_progress,
)
from bot.discord.panels import (
    job_line,
    progress_text,
    record_source_statuses,
    report_text,
    source_lines,
    status_lines,
)
from bot.discord.rendering import notice_embed
from config.errors import Busy

log = logging.getLogger(__name__)

#: Discord takes edits and followups with an interaction's token for 15 minutes only
TOKEN_LIFETIME_S = 15 * 60
#: the last edit is made this long before the token expires (a slow request still lands)
TOKEN_MARGIN_S = 30
OUTLIVED = (
    "\nStill running. Discord lets me update this message for 15 minutes only: "
    "/status shows how the reindex ends."
)


def is_admin(interaction: discord.Interaction) -> bool:
    """Manage Server in this channel, or one of the configured admin roles."""
    if interaction.permissions.manage_guild:
        return True
    admin_roles = set(interaction.client.settings.discord.admin_role_ids)  # type: ignore[attr-defined]
    roles = getattr(interaction.user, "roles", [])
    if admin_roles and any(role.id in admin_roles for role in roles):
        return True
    raise NotAdmin()


def _outcome(error: BaseException) -> str:
    """How a reindex that raised ``error`` is recorded among the bot's jobs."""
    if isinstance(error, ReindexStopped):
        return "stopped"
    return "busy" if isinstance(error, Busy) else "failed"


class ProgressRelay:
    """Carries reindex progress from the worker thread to throttled message edits."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        interval: float,
        stop: threading.Event | None = None,
        until: float = float("inf"),
    ) -> None:
        self._loop = loop
        self._interval = interval
        self._stop = stop or threading.Event()
        self._until = until  # time.monotonic() of the last edit Discord will take
        self._latest: tuple[int, int, str] = (0, 0, "")
        self._changed = asyncio.Event()

    def __call__(self, done: int, total: int, label: str) -> None:  # called from the thread
        if self._stop.is_set():  # the bot is stopping: end the reindex here (resumable)
            raise ReindexStopped()
        self._loop.call_soon_threadsafe(self._set, (done, total, label))

    def _set(self, latest: tuple[int, int, str]) -> None:
        self._latest = latest
        self._changed.set()

    async def relay(self, edit: Callable[[str], Awaitable[Any]]) -> None:
        """Edit with the newest progress whenever it changes, until cancelled or until the
        message can no longer be edited (then it says so, once)."""
        while (left := self._until - time.monotonic()) > 0:
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                break
            self._changed.clear()
            await self._show(edit, progress_text(*self._latest))
            await asyncio.sleep(min(self._interval, max(0.0, self._until - time.monotonic())))
        await self._show(edit, progress_text(*self._latest) + OUTLIVED)

    @staticmethod
    async def _show(edit: Callable[[str], Awaitable[Any]], text: str) -> None:
        try:
            await edit(text)
        except UNDELIVERABLE as failed:  # the next edit, or the outcome, may still get through
            log.warning("could not show reindex progress: %s", failed or type(failed).__name__)


class AdminCog(NewsdeskCog):
    def __init__(self, bot: Any) -> None:
        super().__init__(bot)
        self._reindex_started: float | None = None

    @app_commands.command(name="reindex", description="Re-read the configured news sources.")
    @app_commands.describe(source="Only this configured source (default: all of them)")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @app_commands.check(is_admin)
    async def reindex(
        self, interaction: discord.Interaction, source: app_commands.Range[str, 1, 100] | None = None
    ) -> None:
        if self._reindex_started is not None:
            raise ReindexRunning(self._reindex_started)
        self._reindex_started = started = time.monotonic()
        try:
            async with self.bot.limits.working():
                await self._reindex(interaction, source, started)
        finally:
            self._reindex_started = None

    async def _reindex(self, interaction: discord.Interaction, source: str | None, started: float) -> None:
        """Run the reindex in a thread, its progress shown by editing the private message."""
        await interaction.response.send_message("Reindexing… starting.", ephemeral=True)
        editable = started + TOKEN_LIFETIME_S - TOKEN_MARGIN_S
        mark_progress(interaction, expires=editable)
        interval = self.bot.settings.discord.progress_interval_s
        relay = ProgressRelay(asyncio.get_running_loop(), interval, self.bot.shutdown, editable)
        edits = asyncio.create_task(relay.relay(self._editor(interaction)))
        try:
            only = {"source": source} if source else {}
            job = await asyncio.to_thread(self.bot.answers.job_started, "reindex", source)
            try:
                report = await asyncio.to_thread(self.bot.desk.reindex, progress=relay, **only)
            except BaseException as error:
                outcome = _outcome(error)
                await asyncio.to_thread(self.bot.answers.job_finished, job, outcome, str(error))
                if outcome == "busy":  # a CLI index or refresh (or the scheduled one) holds the lock
                    raise IndexBusy(error) from error
                raise
            await asyncio.to_thread(self.bot.answers.job_finished, job, "done", report.summary())
            if self.bot.settings.sources:
                await asyncio.to_thread(record_source_statuses, self.bot.answers, self.bot.desk.data_dir)
        finally:
            edits.cancel()
        text = report_text(report, time.monotonic() - started)
        if time.monotonic() >= editable:
            log.info("%s (after Discord's 15 minutes for its message; /status shows it)", text)
            return
        await self.deliver(lambda: interaction.edit_original_response(content=text))

    @staticmethod
    def _editor(interaction: discord.Interaction) -> Callable[[str], Awaitable[Any]]:
        async def edit(text: str) -> None:
            await interaction.edit_original_response(content=text)

        return edit

    @app_commands.command(name="status", description="Index size, answer mode, uptime, errors.")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @app_commands.check(is_admin)
    async def status(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        stats = await asyncio.to_thread(self.bot.desk.stats)
        lines = status_lines(
            stats,
            mode=self._answer_mode(stats),
            model=await self._model_reachable(),
            started=self.bot.started,
            errors=self.bot.errors.last_hour(),
        )
        lines += await asyncio.to_thread(self._last_job_lines)
        lines += await asyncio.to_thread(source_lines, self.bot.answers, self.bot.settings)
        await interaction.followup.send(embed=notice_embed("\n".join(lines), title="Status"))

    def _last_job_lines(self) -> list[str]:
        jobs = self.bot.answers.jobs(1)
        return [job_line(jobs[0])] if jobs else []

    def _answer_mode(self, stats: Any) -> str:
        resolve = getattr(self.bot.desk, "resolve_mode", None)
        mode = resolve(None) if callable(resolve) else self.bot.settings.answer.mode
        names = {"extractive": "offline (extractive)", "llm": "model", "auto": "auto"}
        return names.get(mode, mode)

    async def _model_reachable(self) -> str:
        check = getattr(self.bot.desk, "model_reachable", None) or getattr(self.bot.desk, "check_model", None)
        if check is None:
            return "n/a"
        try:
            result = check() if inspect.iscoroutinefunction(check) else asyncio.to_thread(check)
            ok = await asyncio.wait_for(result, timeout=5)
        except Exception:
            log.warning("model check failed", exc_info=True)
            ok = False
        if ok is None:
            return "n/a"
        return "yes" if ok else "no"
