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
from bot.discord.errors import NotAdmin, ReindexRunning, ReindexStopped, mark_progress
from bot.discord.panels import (
    progress_text,
    record_source_statuses,
    report_text,
    source_lines,
    status_lines,
)
from bot.discord.rendering import notice_embed

log = logging.getLogger(__name__)


def is_admin(interaction: discord.Interaction) -> bool:
    """Manage Server in this channel, or one of the configured admin roles."""
    if interaction.permissions.manage_guild:
        return True
    admin_roles = set(interaction.client.settings.discord.admin_role_ids)  # type: ignore[attr-defined]
    roles = getattr(interaction.user, "roles", [])
    if admin_roles and any(role.id in admin_roles for role in roles):
        return True
    raise NotAdmin()


class ProgressRelay:
    """Carries reindex progress from the worker thread to throttled message edits."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, interval: float, stop: threading.Event | None = None
    ) -> None:
        self._loop = loop
        self._interval = interval
        self._stop = stop or threading.Event()
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
        """Edit with the newest progress whenever it changes; runs until cancelled."""
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                await edit(progress_text(*self._latest))
            except discord.HTTPException:
                log.warning("could not show reindex progress", exc_info=True)
            await asyncio.sleep(self._interval)


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
        mark_progress(interaction)
        interval = self.bot.settings.discord.progress_interval_s
        relay = ProgressRelay(asyncio.get_running_loop(), interval, self.bot.shutdown)
        edits = asyncio.create_task(relay.relay(self._editor(interaction)))
        try:
            only = {"source": source} if source else {}
            job = await asyncio.to_thread(self.bot.answers.job_started, "reindex", source)
            try:
                report = await asyncio.to_thread(self.bot.desk.reindex, progress=relay, **only)
            except BaseException as error:
                outcome = "stopped" if isinstance(error, ReindexStopped) else "failed"
                await asyncio.to_thread(self.bot.answers.job_finished, job, outcome, str(error))
                raise
            await asyncio.to_thread(self.bot.answers.job_finished, job, "done", report.summary())
            if self.bot.settings.sources:
                await asyncio.to_thread(record_source_statuses, self.bot.answers, self.bot.desk.data_dir)
        finally:
            edits.cancel()
        text = report_text(report, time.monotonic() - started)
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
        ) + await asyncio.to_thread(source_lines, self.bot.answers, self.bot.settings)
        await interaction.followup.send(embed=notice_embed("\n".join(lines), title="Status"))

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
