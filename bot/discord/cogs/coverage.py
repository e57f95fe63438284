"""What the coverage holds (/sources) and summaries of it (/summary, /timeline)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import discord
from discord import app_commands

from bot.discord.cogs import NewsdeskCog, date_window
from bot.discord.errors import mark_deferred
from bot.discord.panels import coverage_lines, source_lines
from bot.discord.rendering import notice_embed, render_answer
from prompts.citations import Answer

NOT_YET = "Summaries aren't available yet: this newsdesk can answer questions with /ask."


class CoverageCog(NewsdeskCog):
    @app_commands.command(name="sources", description="What the coverage holds.")
    @app_commands.guild_only()
    async def sources(self, interaction: discord.Interaction) -> None:
        # deferred first: the first stats() after a refresh elsewhere loads the new index (1.5 s
        # for 35,579 passages on a quiet 2-core box; more when loaded), a database may be slow
        await interaction.response.defer(ephemeral=True, thinking=True)
        stats = await asyncio.to_thread(self.bot.desk.stats)
        lines = coverage_lines(stats) + await asyncio.to_thread(
            source_lines, self.bot.answers, self.bot.settings
        )
        embed = notice_embed("\n".join(lines), title="Coverage")
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="summary", description="Summarise the coverage of a topic.")
    @app_commands.describe(
        topic="What to summarise",
        article="One article's title or id, to summarise just it",
        since="From this date (YYYY-MM-DD)",
        until="Up to this date (YYYY-MM-DD)",
        outlet="Only articles from this outlet",
    )
    @app_commands.guild_only()
    async def summary(
        self,
        interaction: discord.Interaction,
        topic: app_commands.Range[str, 1, 500],
        article: str | None = None,
        since: str | None = None,
        until: str | None = None,
        outlet: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        window = date_window(since, until)
        await self._summarise(interaction, topic=topic, article=article, outlet=outlet, **window)

    @app_commands.command(name="timeline", description="A dated timeline of a topic's coverage.")
    @app_commands.describe(
        topic="What to follow",
        since="From this date (YYYY-MM-DD)",
        until="Up to this date (YYYY-MM-DD)",
        outlet="Only articles from this outlet",
    )
    @app_commands.guild_only()
    async def timeline(
        self,
        interaction: discord.Interaction,
        topic: app_commands.Range[str, 1, 500],
        since: str | None = None,
        until: str | None = None,
        outlet: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        window = date_window(since, until)
        await self._summarise(interaction, topic=topic, timeline=True, outlet=outlet, **window)

    async def _summarise(self, interaction: discord.Interaction, **request: Any) -> None:
        summarize = getattr(self.bot.desk, "summarize", None)
        if summarize is None:
            await interaction.response.send_message(NOT_YET, ephemeral=True)
            return
        self.bot.limits.check_cooldown(interaction.user.id)
        async with self.bot.limits.guild_slot(interaction.guild_id):
            await interaction.response.defer(thinking=True)
            mark_deferred(interaction, ephemeral=False)
            result = await summarize(**{k: v for k, v in request.items() if v is not None})
            if hasattr(result, "as_answer"):  # Summary and Timeline render as cited answers
                result = result.as_answer()
            messages = (
                render_answer(result)
                if isinstance(result, Answer)
                else [[notice_embed(str(result), title=request["topic"])]]
            )
            for embeds in messages:
                await self.deliver(partial(interaction.followup.send, embeds=embeds))
                interaction.extras.pop("public_thinking", None)
