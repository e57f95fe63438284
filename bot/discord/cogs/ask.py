"""Questions: ``/ask``, a mention of the bot, and replies to its answers (follow-ups)."""

from __future__ import annotations

import asyncio
import logging
import re
from functools import partial

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.cogs import NewsdeskCog, conversation_key, date_window, enabled_here
from bot.discord.errors import UNDELIVERABLE, ShuttingDown, explain, mark_deferred
from bot.discord.feedback import FeedbackView
from bot.discord.rendering import render_answer
from prompts.citations import Answer

log = logging.getLogger(__name__)


class AskCog(NewsdeskCog):
    @app_commands.command(name="ask", description="Ask a question about the news coverage.")
    @app_commands.describe(
        question="What you want to know",
        since="Only articles published on or after this date (YYYY-MM-DD)",
        until="Only articles published on or before this date (YYYY-MM-DD)",
        outlet="Only articles from this outlet",
    )
    @app_commands.guild_only()
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, 2000],
        since: str | None = None,
        until: str | None = None,
        outlet: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        window = date_window(since, until)
        self.bot.limits.check_cooldown(interaction.user.id)
        async with self.bot.limits.guild_slot(interaction.guild_id):
            await interaction.response.defer(thinking=True)
            mark_deferred(interaction, ephemeral=False)
            conversation = conversation_key(interaction.channel)
            answer = await self.bot.ask(question, conversation, outlet=outlet, **window)
            ids = await self._send_followups(interaction, answer)
        await self.bot.remember(
            answer,
            ids,
            conversation=conversation or f"message:{ids[0]}",
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=interaction.user.id,
        )

    async def _send_followups(self, interaction: discord.Interaction, answer: Answer) -> list[int]:
        messages = render_answer(answer)
        ids: list[int] = []
        for i, embeds in enumerate(messages):
            view = FeedbackView(self.bot.answers) if i == len(messages) - 1 else discord.utils.MISSING
            sent = await self.deliver(partial(interaction.followup.send, embeds=embeds, wait=True, view=view))
            interaction.extras.pop("public_thinking", None)  # "thinking…" is replaced now
            ids.append(sent.id)
        return ids

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is None or not self.bot.settings.discord.mentions:
            return
        replied = await self._replied_conversation(message)
        if not self._addressed(message) and replied is None:
            return
        if not enabled_here(self.bot.settings, message.guild.id, message.channel):
            return
        question = self._strip_mentions(message.content, message.guild)
        if not question:
            await message.reply("Ask me a question about the news coverage.", mention_author=False)
            return
        conversation = replied or conversation_key(message.channel)
        try:
            await self._answer_message(message, question, conversation)
        except discord.Forbidden as error:  # the server's permissions, not a bug; a reply fails too
            log.warning(
                "cannot answer a mention in channel %s: Discord refused (%s); give the bot Send "
                "Messages there, or set discord.channel_ids to the channels where it answers",
                message.channel.id,
                error,
            )
        except Exception as error:
            text = explain(error, self.bot.errors, "mention")
            try:
                async with self.bot.limits.working():  # delivered before a shutdown closes
                    await message.reply(text, mention_author=False)
            except UNDELIVERABLE as failed:
                log.warning("could not deliver an error reply to message %s: %s", message.id, failed)

    async def _answer_message(self, message: discord.Message, question: str, conversation):
        if self.bot.stopping:
            raise ShuttingDown()
        self.bot.limits.check_cooldown(message.author.id)
        async with self.bot.limits.guild_slot(message.guild.id if message.guild else None):
            async with message.channel.typing():
                answer = await self.bot.ask(question, conversation)
            ids = await self._send_replies(message, answer)
        await self.bot.remember(
            answer,
            ids,
            conversation=conversation or f"message:{ids[0]}",
            guild_id=message.guild.id if message.guild else None,
            channel_id=message.channel.id,
            user_id=message.author.id,
        )

    async def _send_replies(self, message: discord.Message, answer: Answer) -> list[int]:
        messages = render_answer(answer)
        ids: list[int] = []
        for i, embeds in enumerate(messages):
            view = FeedbackView(self.bot.answers) if i == len(messages) - 1 else discord.utils.MISSING
            if i == 0:
                sent = await self.deliver(
                    partial(message.reply, embeds=embeds, mention_author=False, view=view)
                )
            else:
                sent = await self.deliver(partial(message.channel.send, embeds=embeds, view=view))
            ids.append(sent.id)
        return ids

    async def _replied_conversation(self, message: discord.Message) -> str | None:
        """The conversation of the bot answer this message replies to, if it is one."""
        ref = message.reference
        if ref is None or ref.message_id is None:
            return None
        return await asyncio.to_thread(self.bot.answers.conversation_of, ref.message_id)

    def _addressed(self, message: discord.Message) -> bool:
        """The bot is mentioned: as a user, or by the role Discord made for it on joining (what
        '@newsdesk' often picks in the member list's autocomplete)."""
        own_role = message.guild.self_role if message.guild else None
        return self.bot.user in message.mentions or (
            own_role is not None and own_role in message.role_mentions
        )

    def _strip_mentions(self, content: str, guild: discord.Guild | None = None) -> str:
        me = self.bot.user.id if self.bot.user else 0
        own_role = guild.self_role if guild else None
        role = rf"|<@&{own_role.id}>" if own_role is not None else ""
        return re.sub(rf"<@!?{me}>{role}", " ", content).strip()
