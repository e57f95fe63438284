"""The one error path for the bot: every failure becomes one short, ephemeral reply.

Our own refusals (cooldown, busy guild, not enabled here, not an admin, a reindex already
running) and the core's :class:`config.errors.UserError`s are shown as their one line (the
line the CLI prints); anything else is logged with its traceback, counted for /status, and
answered with a generic apology. Each interaction is
answered exactly once: a pending public "thinking…" message is removed so the error can be
shown to the asker alone.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque

import aiohttp
import discord
from discord import app_commands

from bot.discord.panels import without_server_paths
from bot.discord.rendering import CONTENT_LIMIT
from config.errors import UserError, one_line
from config.redaction import redact

log = logging.getLogger(__name__)

GENERIC = "Sorry, something went wrong on my side. The maintainers can see it in the logs."
#: Sending to Discord failed: refused by it, held back by a rate limit longer than
#: ``discord.max_rate_limit_wait_s`` (bot/discord/ratelimits.py), or the connection lost.
UNDELIVERABLE = (discord.HTTPException, discord.RateLimited, aiohttp.ClientConnectionError)


class Refusal(app_commands.AppCommandError):
    """A polite refusal whose message is shown to the user as it is."""


class NotEnabledHere(Refusal):
    def __init__(self) -> None:
        super().__init__("I'm not enabled in this channel. Ask a server admin where I answer.")


class NotAdmin(app_commands.CheckFailure, Refusal):
    def __init__(self) -> None:
        super().__init__("You need the Manage Server permission (or a bot admin role) for this.")


class OnCooldown(Refusal):
    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"Please wait {retry_after:.0f} s before asking again.")


class GuildBusy(Refusal):
    def __init__(self) -> None:
        super().__init__("I'm answering several questions in this server right now; try again in a moment.")


class ReindexRunning(Refusal):
    def __init__(self, since: float) -> None:
        minutes = max(0, int((time.monotonic() - since) // 60))
        super().__init__(
            f"A reindex is already running (started {minutes} min ago). "
            "I'll keep answering from the current index; try /reindex again when it finishes."
        )


class IndexBusy(Refusal):
    """Another process (a CLI ``index`` or ``refresh``, another bot) or the scheduled refresh
    holds the reindex lock: nothing was done, and nothing is wrong."""

    def __init__(self, error: BaseException) -> None:
        reason = without_server_paths(one_line(error)).split(";")[0].rstrip(".")  # not the CLI's "try again"
        super().__init__(
            f"Not now: {reason}. I keep answering from the current index; "
            "try /reindex again when it has finished."
        )


class ShuttingDown(Refusal):
    def __init__(self) -> None:
        super().__init__("I'm restarting; please ask again in a minute.")


class ReindexStopped(Refusal):
    def __init__(self) -> None:
        super().__init__(
            "The reindex stopped because the bot is shutting down; the index that answers is "
            "unchanged, and /reindex after the restart continues from where this one stopped."
        )


class BadOption(Refusal):
    """An option value the bot cannot use, e.g. a malformed date."""


class ErrorLog:
    """Timestamps of unexpected errors, for the 'errors in the last hour' line of /status."""

    def __init__(self) -> None:
        self._times: deque[float] = deque(maxlen=10_000)

    def note(self) -> None:
        self._times.append(time.monotonic())

    def last_hour(self) -> int:
        cutoff = time.monotonic() - 3600
        return sum(1 for t in self._times if t >= cutoff)


def user_message(error: BaseException) -> str | None:
    """The reply for an expected error, or None when the error is a bug to log."""
    if isinstance(error, Refusal):
        return str(error)
    if isinstance(error, app_commands.MissingPermissions | app_commands.BotMissingPermissions):
        return str(error)
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Please wait {error.retry_after:.0f} s before trying again."
    if isinstance(error, UserError):  # the core's: the line the CLI prints, less the server's paths
        return without_server_paths(one_line(error))
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    return None


def explain(error: BaseException, errors: ErrorLog | None, where: str) -> str:
    """The user-facing text for ``error``; unexpected ones are logged and counted."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        error = getattr(error, "original", None) or error.__cause__ or error
    text = user_message(error)
    if text is None and isinstance(error, discord.RateLimited):
        log.warning(
            "Discord rate-limited %s: it asks to wait %.0f s, longer than discord.max_rate_limit_wait_s; "
            "not sent",
            where,
            error.retry_after,
        )
        return rate_limited(error.retry_after)
    if text is None and isinstance(error, aiohttp.ClientConnectionError):
        log.warning("lost the connection to Discord in %s: %s", where, error or type(error).__name__)
        return redact(GENERIC)
    if text is None:
        log.error("unexpected error in %s", where, exc_info=error)
        if errors is not None:
            errors.note()
        text = GENERIC
    return _clip(redact(text))  # not path-filtered again: our own lines name /commands


def rate_limited(retry_after: float) -> str:
    """What the user reads when Discord holds the bot's messages back for too long."""
    wait = f"{retry_after / 60:.0f} min" if retry_after >= 120 else f"{retry_after:.0f} s"
    return (
        f"Discord is holding back my messages here for now (it asks me to wait {wait}); "
        "please try again later."
    )


def mark_deferred(interaction: discord.Interaction, *, ephemeral: bool) -> None:
    """Remember how an interaction was deferred, so an error reply stays private."""
    interaction.extras["public_thinking"] = not ephemeral


def mark_progress(interaction: discord.Interaction, expires: float | None = None) -> None:
    """The response is a private progress message: an error replaces it, so one reply remains.
    ``expires``: the ``time.monotonic()`` after which Discord no longer takes the edit."""
    interaction.extras["progress"] = True
    if expires is not None:
        interaction.extras["expires"] = expires


def _clip(text: str) -> str:
    """A message's content is at most 2,000 characters; Discord refuses the whole reply above."""
    return text if len(text) <= CONTENT_LIMIT else text[: CONTENT_LIMIT - 1].rstrip() + "…"


async def reply_once(interaction: discord.Interaction, text: str) -> None:
    """Answer ``interaction`` ephemerally with ``text``, whatever state it is in."""
    if time.monotonic() >= interaction.extras.get("expires", float("inf")):
        log.warning("not shown to the user (Discord's 15 minutes for the reply are over): %s", text)
        return
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
            return
        if interaction.extras.pop("progress", False):
            await interaction.edit_original_response(content=text)
            return
        if interaction.extras.pop("public_thinking", False):
            # The first followup would replace the public "thinking…" message; drop it instead.
            await interaction.delete_original_response()
        await interaction.followup.send(text, ephemeral=True)
    except UNDELIVERABLE as failed:
        log.warning("could not deliver an error reply to interaction %s: %s", interaction.id, failed)


async def on_tree_error(interaction: discord.Interaction, error: app_commands.AppCommandError):
    """The tree's error handler: installed once in ``setup_hook``."""
    command = interaction.command.qualified_name if interaction.command else "interaction"
    errors = getattr(interaction.client, "errors", None)
    limits = getattr(interaction.client, "limits", None)
    async with limits.working() if limits is not None else contextlib.nullcontext():
        await reply_once(interaction, explain(error, errors, f"/{command}"))  # before a shutdown closes
