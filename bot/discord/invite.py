"""The OAuth2 link a server admin opens to add the bot, with the least it needs."""

from __future__ import annotations

import discord

#: Only what answering needs. view_channel: see the channels it is enabled in;
#: send_messages / send_messages_in_threads: post answers, also as thread follow-ups;
#: embed_links: answers are embeds with linked sources (without it Discord drops them);
#: read_message_history: a reply to a message needs the message it replies to.
#: Slash commands, their responses and followups need no bot permission at all
#: (the applications.commands scope covers them), so nothing else is asked for:
#: no Administrator, no Mention Everyone, no Manage Messages.
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    embed_links=True,
    read_message_history=True,
)
SCOPES = ("bot", "applications.commands")


def invite_url(application_id: int | str) -> str:
    """The invite link for the application (its id is on the developer portal's first page)."""
    app_id = str(application_id).strip()
    if not app_id.isdigit():
        raise ValueError(f"an application id is a number like 123456789012345678, not {app_id!r}")
    return discord.utils.oauth_url(int(app_id), permissions=PERMISSIONS, scopes=SCOPES)
