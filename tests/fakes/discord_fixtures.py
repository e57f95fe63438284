"""pytest fixtures: a fake Discord on loopback and the real bot connected to it.

``discord_scenario`` gives a started FakeDiscord with one guild (#news, a thread, an admin
and a plain member) and the newsdesk bot logged in and ready over real sockets. Override the
``discord_desk`` fixture to put a different desk behind the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.discord.app import create_bot
from config.settings import Settings, load_settings
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.discord_world import MANAGE_GUILD, Channel, Guild, User, World


@dataclass
class DiscordScenario:
    fake: FakeDiscord
    world: World
    guild: Guild
    channel: Channel
    thread: Channel
    admin: User
    member: User
    bot: Any = None
    task: asyncio.Task | None = None


def build_world() -> tuple[World, Guild, Channel, Channel, User, User]:
    world = World()
    guild = world.add_guild("News Club")
    channel = world.add_text_channel(guild, "news")
    thread = world.add_thread(channel, "putin-xi")
    moderators = world.add_role(guild, "moderators", MANAGE_GUILD)
    admin = world.add_user("alice")
    member = world.add_user("bob")
    world.add_member(guild, admin, [moderators])
    world.add_member(guild, member)
    return world, guild, channel, thread, admin, member


def bot_settings(fake: FakeDiscord, data_dir: Path, **discord_overrides: Any) -> Settings:
    section = {
        "api_base_url": fake.base_url,
        "gateway_url": fake.gateway_url,
        "cooldown_s": 0,
        "progress_interval_s": 0,
        "database": str(data_dir / "bot.sqlite3"),
        **discord_overrides,
    }
    return load_settings(data_dir=str(data_dir), discord=section)


async def start_bot(fake: FakeDiscord, desk: Any, settings: Settings, **options: Any):
    """Log the bot in and connect it; returns once on_ready has fired."""
    bot = create_bot(desk, settings, guild_ready_timeout=0.05, **options)
    await bot.login(fake.world.token)
    task = asyncio.create_task(bot.connect(reconnect=True))
    fake.watch(task)
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({ready, task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        await bot.close()
        cause = task.exception() if task.done() else None
        raise AssertionError("bot did not become ready") from cause
    return bot, task


async def stop_bot(bot: Any, task: asyncio.Task | None) -> None:
    await bot.close()  # before the fake stops: a server-side close makes discord.py reconnect
    if task is not None:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 5)


@pytest.fixture
def restore_discord_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot points discord.py's class-level URLs at the fake; put them back afterwards."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    )


@pytest.fixture
async def fake_discord(restore_discord_endpoints: None) -> AsyncIterator[DiscordScenario]:
    """A started fake Discord with a guild, channel, thread, admin and member (no bot yet)."""
    world, guild, channel, thread, admin, member = build_world()
    fake = await FakeDiscord(world).start()
    scenario = DiscordScenario(fake, world, guild, channel, thread, admin, member)
    try:
        yield scenario
    finally:
        if scenario.bot is not None and not scenario.bot.is_closed():
            await stop_bot(scenario.bot, scenario.task)
        await fake.stop()


@pytest.fixture
def discord_settings_overrides() -> dict[str, Any]:
    """Override to change the bot's ``discord:`` settings for a module or test."""
    return {}


@pytest.fixture
async def discord_scenario(
    fake_discord: DiscordScenario,
    discord_desk: Any,
    tmp_path: Path,
    discord_settings_overrides: dict[str, Any],
) -> DiscordScenario:
    """The fake Discord with the newsdesk bot connected and ready."""
    settings = bot_settings(fake_discord.fake, tmp_path, **discord_settings_overrides)
    fake_discord.bot, fake_discord.task = await start_bot(fake_discord.fake, discord_desk, settings)
    return fake_discord


def copied_seed_desk(seed_data_dir: Path, settings: Settings, folder: Path) -> Any:
    """A Desk over a copy of the session's seed index (tests/core_fixtures.py).

    A copy, because embedded Qdrant locks its folder: holding the shared seed index open
    would stop other tests from opening it.
    """
    from prompts.desk import Desk

    shutil.copytree(seed_data_dir, folder)
    return Desk.open(settings, folder, build=False)


@pytest.fixture(scope="session")
def discord_seed_desk(
    seed_data_dir: Path, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    desk = copied_seed_desk(seed_data_dir, settings, tmp_path_factory.mktemp("discord") / "data")
    yield desk
    desk.close()


@pytest.fixture
def discord_desk(discord_seed_desk: Any) -> Any:
    """The desk behind the bot: the real Desk on the seed corpus; override to use another."""
    return discord_seed_desk
