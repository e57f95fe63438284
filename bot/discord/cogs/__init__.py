"""Slash commands and listeners; each handler relays to the core and renders what it returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

import discord
from discord.ext import commands

from bot.discord.delivery import deliver
from bot.discord.errors import BadOption, NotEnabledHere, ShuttingDown

_T = TypeVar("_T")


def enabled_here(settings: Any, guild_id: int | None, channel: Any) -> bool:
    """Whether the configured guilds and channels include this place (threads by parent)."""
    wanted_guilds = settings.discord.guild_ids
    if wanted_guilds and guild_id not in wanted_guilds:
        return False
    wanted_channels = settings.discord.channel_ids
    if not wanted_channels:
        return True
    ids = {getattr(channel, "id", None), getattr(channel, "parent_id", None)}
    return bool(ids & set(wanted_channels))


def conversation_key(channel: Any) -> str | None:
    """A thread is one conversation; elsewhere each /ask starts a new one."""
    if isinstance(channel, discord.Thread):
        return f"thread:{channel.id}"
    return None


def parse_day(value: str | None, option: str) -> date | None:
    """``YYYY-MM-DD`` (or ``YYYY-MM``, taken as the 1st) to a date."""
    if value is None:
        return None
    text = value.strip()
    try:
        return date.fromisoformat(text if len(text) != 7 else f"{text}-01")
    except ValueError:
        raise BadOption(f"`{option}` must be a date like 2022-02-03, not {text!r}.") from None


def date_window(since: str | None, until: str | None) -> dict[str, date | None]:
    start, end = parse_day(since, "since"), parse_day(until, "until")
    if start and end and start > end:
        raise BadOption("`since` is after `until`.")
    return {"since": start, "until": end}


class NewsdeskCog(commands.Cog):
    """Base for the bot's cogs: refuses commands outside the enabled guilds and channels."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot

    async def deliver(self, send: Callable[[], Awaitable[_T]]) -> _T:
        """``send()`` to Discord, sent again while Discord cannot be reached (bounded)."""
        return await deliver(send, self.bot.settings.discord.delivery_retry_s)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if getattr(self.bot, "stopping", False):
            raise ShuttingDown()
        if not enabled_here(self.bot.settings, interaction.guild_id, interaction.channel):
            raise NotEnabledHere()
        return True
