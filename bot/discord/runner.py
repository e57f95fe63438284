"""``newsdesk bot``: run the Discord bot until stopped; token problems are one line, exit 2."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

import aiohttp
import discord

from bot.discord.app import create_bot
from config.redaction import redact_logs
from config.settings import Settings

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
REJECTED = (
    "Discord rejected the token in {env}: reset it on the developer portal "
    "(Bot → Reset Token) and set it again"
)
#: Discord's gateway close codes after which discord.py gives up (docs: Opcodes and Status Codes)
_CLOSE_CODES = {4010: "invalid shard", 4012: "invalid API version", 4013: "invalid intents"}


def run(settings: Settings, desk_factory: Callable[[], Any]) -> int:
    """Open the desk, then serve Discord until interrupted; returns the process exit code."""
    token = Settings.secret(settings.discord.token_env)
    if token is None:
        return _fail(
            f"no bot token: set the {settings.discord.token_env} environment variable "
            "(see docs/discord-setup.md)",
            EXIT_CONFIG,
        )
    if any(ch.isspace() or not ch.isprintable() for ch in token):  # aiohttp refuses such a header
        return _fail(
            f"the token in {settings.discord.token_env} holds a line break, space or other control "
            "character: set it again from the developer portal (Bot → Reset Token)",
            EXIT_CONFIG,
        )
    if not logging.getLogger().handlers:
        discord.utils.setup_logging(level=logging.INFO)
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = (
        False  # a text bot: no voice to warn about
    )
    redact_logs()
    desk = desk_factory()
    try:
        return asyncio.run(serve(settings, desk, token))
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        close = getattr(desk, "close", None)
        if close is not None:
            close()


async def serve(settings: Settings, desk: Any, token: str, **client_options: Any) -> int:
    """Run the bot over ``desk`` until it is closed; the async core of :func:`run`.

    Logging in may take ``discord.login_timeout_s``."""
    bot = create_bot(desk, settings, **client_options)
    login_timeout_s = settings.discord.login_timeout_s
    _close_on_sigterm(bot)
    _say_when_online(bot)
    env = settings.discord.token_env
    try:
        async with bot:
            try:
                async with asyncio.timeout(login_timeout_s):
                    await bot.login(token)
            except TimeoutError:
                return _fail(
                    f"cannot reach Discord: no answer to the login in {login_timeout_s:g} s", EXIT_FAILED
                )
            await bot.connect()
    except discord.LoginFailure:
        return _fail(REJECTED.format(env=env), EXIT_CONFIG)
    except discord.ConnectionClosed as exc:  # a close code discord.py does not reconnect after
        return _closed(exc, env)
    except discord.PrivilegedIntentsRequired:
        return _fail(
            "enable the Message Content intent for the bot on the developer portal "
            "(Bot → Privileged Gateway Intents), or set discord.mentions: false",
            EXIT_CONFIG,
        )
    except (aiohttp.ClientError, OSError, discord.GatewayNotFound) as exc:
        return _fail(f"cannot reach Discord: {exc or type(exc).__name__}", EXIT_FAILED)
    finally:
        aclose = getattr(desk, "aclose", None)  # the model client lives in this event loop
        if aclose is not None:
            await aclose()
    return EXIT_OK


def _closed(exc: discord.ConnectionClosed, env: str) -> int:
    """The gateway closed for good (4004, 4010-4013): one line saying why, not a traceback."""
    if exc.code == 4004:  # the token
        return _fail(REJECTED.format(env=env), EXIT_CONFIG)
    if exc.code == 4011:
        return _fail(
            "Discord requires sharding at this many servers: set discord.shards: auto "
            "(docs/discord-setup.md)",
            EXIT_CONFIG,
        )
    reason = _CLOSE_CODES.get(exc.code) or exc.reason
    said = f": {reason}" if reason else ""
    return _fail(f"Discord closed the gateway connection (code {exc.code}{said})", EXIT_FAILED)


def _say_when_online(bot: Any) -> None:
    """One line when the bot is first ready: otherwise a new user sees nothing happen."""
    said = False

    async def online() -> None:
        nonlocal said
        if not said:
            said = True
            servers = len(bot.guilds)
            print(
                f"newsdesk bot: online as {bot.user} in {servers} server{'s' * (servers != 1)}; "
                "Ctrl-C (or SIGTERM) stops it",
                file=sys.stderr,
                flush=True,
            )

    bot.add_listener(online, "on_ready")


def _close_on_sigterm(bot: Any) -> None:
    """systemd stops services with SIGTERM: log out cleanly instead of dying mid-answer."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGTERM, lambda: loop.create_task(bot.close()))
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
        pass


def _fail(message: str, code: int) -> int:
    print(f"newsdesk bot: {message}", file=sys.stderr)
    return code
