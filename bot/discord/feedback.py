"""👍/👎 buttons under every answer; votes go to the answer log with the answer they rate.

The view is persistent (fixed custom ids, no timeout) and registered once at start-up, so
buttons keep working after a restart: the clicked message's id finds the stored answer.
"""

from __future__ import annotations

import asyncio

import discord

from bot.discord.errors import explain, reply_once
from bot.discord.store import AnswerLog

UP_ID = "newsdesk:feedback:up"
DOWN_ID = "newsdesk:feedback:down"


class FeedbackView(discord.ui.View):
    def __init__(self, answers: AnswerLog) -> None:
        super().__init__(timeout=None)
        self.answers = answers

    @discord.ui.button(label="Helpful", emoji="👍", style=discord.ButtonStyle.secondary, custom_id=UP_ID)
    async def helpful(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self._vote(interaction, +1)

    @discord.ui.button(
        label="Not helpful", emoji="👎", style=discord.ButtonStyle.secondary, custom_id=DOWN_ID
    )
    async def unhelpful(self, interaction: discord.Interaction, _button: discord.ui.Button):
        await self._vote(interaction, -1)

    async def _vote(self, interaction: discord.Interaction, vote: int) -> None:
        message_id = interaction.message.id if interaction.message else 0
        stored = await asyncio.to_thread(self.answers.vote, message_id, interaction.user.id, vote)
        text = "Thanks, noted." if stored else "I no longer have that answer on record."
        await interaction.response.send_message(text, ephemeral=True)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item) -> None:
        errors = getattr(interaction.client, "errors", None)
        await reply_once(interaction, explain(error, errors, "feedback button"))
