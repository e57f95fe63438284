"""👍/👎 buttons under every answer; votes go to the answer log with the answer they rate.

The view is persistent (fixed custom ids, no timeout) and registered once at start-up, so
buttons keep working after a restart: the clicked message's id finds the stored answer.
"""

from __future__ import annotations

import asyncio
import logging

import discord

from bot.discord.errors import explain, mark_deferred, reply_once
from bot.discord.store import AnswerLog
from config.errors import RunFailed

log = logging.getLogger(__name__)

UP_ID = "newsdesk:feedback:up"
DOWN_ID = "newsdesk:feedback:down"
NOTED = "Thanks, noted."
UNKNOWN = "I no longer have that answer on record."
NOT_RECORDED = "Sorry, I could not record your vote just now; please click again in a few minutes."


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
        # Acknowledge before writing: Discord takes an acknowledgement for 3 s only, and a database
        # another writer holds may keep the vote waiting for its busy timeout (10 s): the click was
        # 'This interaction failed', with the vote stored or not.
        await interaction.response.defer(ephemeral=True, thinking=True)
        mark_deferred(interaction, ephemeral=True)
        message_id = interaction.message.id if interaction.message else 0
        try:
            stored = await asyncio.to_thread(self.answers.vote, message_id, interaction.user.id, vote)
        except RunFailed as failed:  # the voter is told; the log keeps the vote for a maintainer
            log.warning(
                "vote %+d by user %s on answer message %s not recorded: %s",
                vote,
                interaction.user.id,
                message_id,
                failed,
            )
            text = NOT_RECORDED
        else:
            text = NOTED if stored else UNKNOWN
        await reply_once(interaction, text)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item) -> None:
        errors = getattr(interaction.client, "errors", None)
        await reply_once(interaction, explain(error, errors, "feedback button"))
