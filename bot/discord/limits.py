"""Per-user cooldown and per-guild concurrency, shared by slash commands and mentions; and
what work (answers, a reindex) is in progress, for a shutdown that lets it finish."""

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
        self._working = 0
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
        try:
            async with self.working():
                yield
        finally:
            self._running[key] -= 1

    @asynccontextmanager
    async def working(self) -> AsyncIterator[None]:
        """Count this as work in progress (no cap), for :meth:`finished`."""
        self._working += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._working -= 1
            if not self._working:
                self._idle.set()

    def in_progress(self) -> int:
        """How many answers and reindexes are being computed or sent, in all guilds."""
        return self._working

    async def finished(self, within_s: float) -> bool:
        """Wait up to ``within_s`` for the work in progress; whether it all finished."""

        async def idle() -> None:
            while self._working:  # an error reply may start work again as a command ends
                await self._idle.wait()

        try:
            await asyncio.wait_for(idle(), within_s)
        except TimeoutError:
            return False
        return True
