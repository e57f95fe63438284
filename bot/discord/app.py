"""The Discord application: a discord.py bot wired to one Desk, built by :func:`create_bot`.

Everything the bot shares (desk, settings, answer log, limits) is made here once and handed to
the cogs; nothing is built at import time.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

import discord
import yarl
from discord.ext import commands

from bot.discord import ratelimits
from bot.discord.errors import ErrorLog, on_tree_error
from bot.discord.feedback import FeedbackView
from bot.discord.limits import Limits
from bot.discord.store import AnswerLog, open_state
from config.settings import DiscordSettings, Settings
from prompts.citations import Answer
from prompts.desk import Turn, default_data_dir

log = logging.getLogger(__name__)


def apply_endpoints(discord_settings: DiscordSettings) -> None:
    """Point discord.py at a REST proxy or test server; discord.py has no option for this."""
    if discord_settings.api_base_url:
        base = discord_settings.api_base_url.rstrip("/")
        if not re.search(r"/api/v\d+$", base):
            base += "/api/v10"
        discord.http.Route.BASE = base
    if discord_settings.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(discord_settings.gateway_url)


def bot_intents(discord_settings: DiscordSettings) -> discord.Intents:
    """The fewest intents that work: message content only when mentions are answered."""
    intents = discord.Intents.none()
    intents.guilds = True  # guilds, channels, threads and roles for the enabled-channel checks
    if discord_settings.mentions:
        intents.guild_messages = True
        intents.message_content = True  # replies to an answer that don't ping the bot
    return intents


def database_path(settings: Settings, desk: Any) -> Path:
    """``discord.database``, else ``newsdesk.sqlite3`` beside the desk's index."""
    if settings.discord.database is not None:
        return settings.discord.database
    data_dir = getattr(desk, "data_dir", None) or settings.data_dir or default_data_dir()
    return Path(data_dir) / "newsdesk.sqlite3"


#: discord.py's loggers that log a traceback each time the connection drops and it reconnects
_RECONNECTING = ("discord.client", "discord.shard")


def _one_line_reconnect(record: logging.LogRecord) -> bool:
    """A lost connection that discord.py is reconnecting from: one warning line, no traceback
    (it is the network, not a bug; the traceback repeated at every attempt of an outage)."""
    if record.exc_info and "reconnect" in str(record.msg).lower():
        error = record.exc_info[1]
        record.msg = f"{record.getMessage()} (the connection was lost: {error or type(error).__name__})"
        record.args = None
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
    return True


def reconnects_in_one_line() -> None:
    for name in _RECONNECTING:
        logger = logging.getLogger(name)
        if _one_line_reconnect not in logger.filters:
            logger.addFilter(_one_line_reconnect)


class _Newsdesk:
    """What both bot flavours (single and auto-sharded) add to discord.py's Bot."""

    desk: Any
    settings: Settings
    tree: Any  # the bot class's CommandTree

    def _init_newsdesk(self, desk: Any, settings: Settings, answers: AnswerLog) -> None:
        self.desk = desk
        self.settings = settings
        self.answers = answers
        self.limits = Limits(settings.discord.cooldown_s, settings.discord.guild_concurrency)
        self.errors = ErrorLog()
        self.started = time.monotonic()
        self.shutdown = threading.Event()  # also read by the reindex thread

    @property
    def stopping(self) -> bool:
        return self.shutdown.is_set()

    async def login(self, token: str) -> None:
        apply_endpoints(self.settings.discord)
        ratelimits.install(self.settings.discord.max_rate_limit_wait_s)  # interaction replies
        await super().login(token)  # type: ignore[misc]

    async def setup_hook(self) -> None:
        from bot.discord.cogs import admin, ask, coverage

        self.tree.on_error = on_tree_error
        for cog in (ask.AskCog(self), coverage.CoverageCog(self), admin.AdminCog(self)):
            await self.add_cog(cog)  # type: ignore[attr-defined]
        self.add_view(FeedbackView(self.answers))  # type: ignore[attr-defined]
        await self.sync_commands()
        if self.settings.sources:  # keep feeds and URL lists current while the bot runs
            from retrieval.scheduling import refresh_loop

            self._refresh_stop = asyncio.Event()
            self._refresh = asyncio.create_task(
                refresh_loop(self.desk, self.settings, self._refresh_stop, on_refresh=self._refreshed)
            )

    def _refreshed(self, source: str | None, result: Any) -> None:
        """After a scheduled refresh: the sources' status into the bot's database."""
        from bot.discord.panels import record_source_statuses

        record_source_statuses(self.answers, self.desk.data_dir)

    async def sync_commands(self) -> None:
        """Sync to the listed guilds (instant) or globally (may take an hour to show)."""
        guild_ids = self.settings.discord.guild_ids
        for guild_id in guild_ids:
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        if not guild_ids:
            await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: mentions are handled by the ask cog's listener."""

    async def ask(self, question: str, conversation: str | None, **filters: Any) -> Answer:
        """Ask the desk, with the conversation's last turns as history."""
        turns: list[Turn] = []
        if conversation is not None:
            limit = self.settings.discord.history_turns
            rows = await asyncio.to_thread(self.answers.history, conversation, limit)
            turns = [Turn(question=q, answer=a) for q, a in rows]
        return await self.desk.ask(question, history=turns, **filters)

    async def remember(self, answer: Answer, message_ids: list[int], **where: Any) -> None:
        """Store a posted answer so feedback and follow-ups can find it."""
        await asyncio.to_thread(self.answers.record, answer, message_ids=message_ids, **where)

    async def close(self) -> None:
        """Refuse new questions, let the ones in progress finish and a reindex stop (within
        ``discord.shutdown_grace_s``), then log out."""
        self.shutdown.set()  # a reindex stops at its next progress report
        refresh = getattr(self, "_refresh", None)
        if refresh is not None:
            self._refresh_stop.set()  # so does a scheduled refresh
        grace = self.settings.discord.shutdown_grace_s
        if self.limits.in_progress() and not await self.limits.finished(grace):
            left = self.limits.in_progress()
            log.warning("stopping with %d command%s unfinished after %g s", left, "s" * (left != 1), grace)
        if refresh is not None:
            done, _ = await asyncio.wait({refresh}, timeout=grace)
            if not done:
                log.warning("stopping with the scheduled refresh unfinished after %g s", grace)
                refresh.cancel()
            await asyncio.gather(refresh, return_exceptions=True)
        await super().close()  # type: ignore[misc]
        self.answers.close()


class NewsdeskBot(_Newsdesk, commands.Bot):
    """One gateway connection; fine up to a couple of thousand servers."""


class ShardedNewsdeskBot(_Newsdesk, commands.AutoShardedBot):
    """Several gateway connections, as Discord requires past 2,500 servers."""


def create_bot(desk: Any, settings: Settings, **client_options: Any) -> NewsdeskBot | ShardedNewsdeskBot:
    """A bot over ``desk``; ``client_options`` go to discord.Client (e.g. guild_ready_timeout)."""
    options: dict[str, Any] = {
        "command_prefix": commands.when_mentioned,
        "intents": bot_intents(settings.discord),
        "allowed_mentions": discord.AllowedMentions.none(),  # answers quote untrusted text
        "help_command": None,
        "chunk_guilds_at_startup": False,
        "max_ratelimit_timeout": settings.discord.max_rate_limit_wait_s,  # REST: mentions, typing
    }
    cls: type[NewsdeskBot | ShardedNewsdeskBot] = NewsdeskBot
    shards = settings.discord.shards
    if shards is not None:
        cls = ShardedNewsdeskBot
        if shards != "auto":
            options["shard_count"] = int(shards)
    options.update(client_options)
    reconnects_in_one_line()
    bot = cls(**options)
    bot._init_newsdesk(desk, settings, open_state(settings, database_path(settings, desk)))
    return bot
