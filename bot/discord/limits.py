"""Per-user cooldown and per-guild concurrency, shared by slash commands and mentions; and
whether any answer is in progress, for a shutdown that lets them finish."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.discord.errors import GuildBusy, OnCooldown


class Limits:
    """Refuses a question politely instead of queueing it: the asker learns at once."""

    def __init__(self, cooldown_s: float, guild_concurrency: int) -> None:
        self.cooldown_s = cooldown_s
        self.guild_concurrency = guild_concurrency
        self._last_ask: dict[int, float] = {}
        self._running: dict[int, int] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def check_cooldown(self, user_id: int) -> None:
        """Raise :class:`OnCooldown` if ``user_id`` asked less than ``cooldown_s`` ago."""
        if self.cooldown_s <= 0:
            return
        now = time.monotonic()
        last = self._last_ask.get(user_id)
        if last is not None and now - last < self.cooldown_s:
            raise OnCooldown(self.cooldown_s - (now - last))
        self._last_ask[user_id] = now
        if len(self._last_ask) > 10_000:  # forget users whose cooldown has long passed
            cutoff = now - self.cooldown_s
            self._last_ask = {u: t for u, t in self._last_ask.items() if t >= cutoff}

    @asynccontextmanager
    async def guild_slot(self, guild_id: int | None) -> AsyncIterator[None]:
        """Hold one of the guild's answer slots; raise :class:`GuildBusy` if none is free."""
        key = guild_id or 0
        if self._running.get(key, 0) >= self.guild_concurrency:
            raise GuildBusy()
        self._running[key] = self._running.get(key, 0) + 1
        self._idle.clear()
        try:
            yield
        finally:
            self._running[key] -= 1
            if not self.in_progress():
                self._idle.set()

    def in_progress(self) -> int:
        """How many answers are being computed or sent, in all guilds."""
        return sum(self._running.values())

    async def finished(self, within_s: float) -> bool:
        """Wait up to ``within_s`` for the answers in progress; whether they all finished."""
        try:
            await asyncio.wait_for(self._idle.wait(), within_s)
        except TimeoutError:
            return False
        return True
