"""Limits, the one error path, enabled channels, and mentions locked down."""

from __future__ import annotations

import asyncio
import statistics
from datetime import date

import pytest

from bot.discord.errors import GENERIC
from prompts.citations import Answer, Citation, Coverage
from tests.fakes.discord_fixtures import bot_settings, start_bot

QUESTION = "What did Putin and Xi agree?"
EVERYONE_QUOTE = '"@everyone must leave now," the notice said. <@&123> was told too.'


class QuotingDesk:
    """Answers every question with a quote that contains @everyone and a role mention."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.release.set()

    async def ask(self, question, history=(), **filters) -> Answer:
        await self.release.wait()
        citation = Citation(
            1,
            "doc",
            "Evacuation ordered",
            EVERYONE_QUOTE,
            0,
            10,
            outlet="Gazette",
            published=date(2024, 5, 1),
            url="https://example.org/a",
        )
        return Answer(
            question,
            f"{EVERYONE_QUOTE} [1]",
            (citation,),
            True,
            "extractive",
            Coverage(1, date(2024, 5, 1), date(2024, 5, 1)),
        )


async def test_everyone_in_an_article_quote_pings_nobody(fake_discord, tmp_path):
    s = fake_discord
    s.bot, s.task = await start_bot(s.fake, QuotingDesk(), bot_settings(s.fake, tmp_path))
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question="What did it say?")
    [answer] = await s.fake.wait_for_messages_with_buttons(ix)
    await s.fake.send_message(s.member, s.channel, f"<@{s.world.bot_user.id}> and now?")
    bot_id = str(s.world.bot_user.id)
    reply = await s.fake.wait_for(lambda: [m for m in s.channel.messages if m["author"]["id"] == bot_id][1:])

    for message in (answer, reply[0]):
        assert "@everyone" in message["embeds"][0]["description"]
        assert message["allowed_mentions"]["parse"] == []
        assert message["mention_everyone"] is False
    assert (
        '[Gazette — "Evacuation ordered"](<https://example.org/a>)'
        in answer["embeds"][0]["fields"][0]["value"]
    )


@pytest.mark.parametrize("discord_settings_overrides", [{"cooldown_s": 60}])
async def test_cooldown_gets_a_polite_ephemeral_reply(discord_scenario):
    s = discord_scenario
    first = await s.fake.invoke_slash(s.member, s.channel, "ask", question=QUESTION)
    await s.fake.wait_for_messages_with_buttons(first)
    second = await s.fake.invoke_slash(s.member, s.channel, "ask", question=QUESTION)
    ack = await s.fake.wait_for_ack(second)
    assert ack["type"] == 4 and ack["data"]["flags"] == 64
    assert ack["data"]["content"].startswith("Please wait")


async def test_guild_concurrency_limit_refuses_politely(fake_discord, tmp_path):
    s = fake_discord
    desk = QuotingDesk()
    desk.release.clear()
    settings = bot_settings(s.fake, tmp_path, guild_concurrency=1)
    s.bot, s.task = await start_bot(s.fake, desk, settings)
    first = await s.fake.invoke_slash(s.member, s.channel, "ask", question="one")
    await s.fake.wait_for_ack(first)
    second = await s.fake.invoke_slash(s.admin, s.channel, "ask", question="two")
    ack = await s.fake.wait_for_ack(second)
    assert ack["data"]["flags"] == 64 and "several questions" in ack["data"]["content"]
    desk.release.set()
    await s.fake.wait_for_messages_with_buttons(first)


async def test_question_error_after_defer_is_private_and_answered_once(discord_scenario):
    s = discord_scenario
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question="   ")
    [message] = await s.fake.wait_for(lambda: ix.messages)
    assert ix.original_deleted  # the public "thinking…" went away
    assert message["flags"] == 64 and "question is empty" in message["content"]
    assert len(ix.callbacks) == 1 and len(ix.raw_followups) == 1


async def test_unexpected_error_is_apologised_for_and_counted(discord_scenario, monkeypatch):
    s = discord_scenario

    async def broken(*_args, **_kwargs):
        raise RuntimeError("index exploded")

    monkeypatch.setattr(s.bot.desk, "ask", broken)
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question=QUESTION)
    [message] = await s.fake.wait_for(lambda: ix.messages)
    assert message["content"] == GENERIC and message["flags"] == 64
    assert s.bot.errors.last_hour() == 1


async def test_bad_date_option_is_refused_before_deferring(discord_scenario):
    s = discord_scenario
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question=QUESTION, since="May")
    ack = await s.fake.wait_for_ack(ix)
    assert ack["type"] == 4 and "`since` must be a date" in ack["data"]["content"]


@pytest.mark.parametrize("discord_settings_overrides", [{"channel_ids": [1]}])
async def test_commands_outside_enabled_channels_are_refused(discord_scenario):
    s = discord_scenario
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question=QUESTION)
    ack = await s.fake.wait_for_ack(ix)
    assert ack["data"]["flags"] == 64 and "not enabled in this channel" in ack["data"]["content"]


async def test_summary_and_timeline_show_dated_cited_stories(discord_scenario):
    s = discord_scenario
    for command in ("summary", "timeline"):
        ix = await s.fake.invoke_slash(s.member, s.channel, command, topic="Putin and Xi meetings")
        assert await s.fake.wait_for_ack(ix) == {"type": 5}
        final = await s.fake.wait_for_final_message(ix)
        embed = final["embeds"][0]
        text = embed["description"]
        assert "[1]" in text
        assert text.index("2021") < text.index("2022") < text.index("2023")
        sources = " ".join(f["value"] for e in final["embeds"] for f in e.get("fields", []))
        assert "Al Jazeera" in sources and "El Comercio" in sources


async def test_ack_and_answer_latency_on_the_seed_corpus(discord_scenario):
    """Interaction → first acknowledgement and → final answer, p50 over 20 asks."""
    s = discord_scenario
    questions = [
        QUESTION,
        "When did Putin and Xi meet?",
        "What is the new era?",
        "What did the West do?",
        "What treaty was extended?",
    ]
    acks, finals = [], []
    for i in range(20):
        ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question=questions[i % 5])
        await s.fake.wait_for_messages_with_buttons(ix)
        acks.append(ix.acked_at - ix.created)
        finals.append(ix.answered_at - ix.created)
    ack_p50, final_p50 = statistics.median(acks), statistics.median(finals)
    print(
        f"\nack p50 {ack_p50 * 1000:.1f} ms (max {max(acks) * 1000:.1f}); "
        f"final answer p50 {final_p50 * 1000:.1f} ms (max {max(finals) * 1000:.1f})"
    )
    assert ack_p50 < 0.5 and max(acks) < 3.0  # Discord's deadline is 3 s


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        ("retrieval.store:StoreError:cannot connect to PostgreSQL (NEWSDESK_POSTGRES_DSN)", None),
        (
            "retrieval.minilm:EmbedderError:model file /srv/venv/lib/minilm/model.onnx is missing",
            "model file model.onnx is missing",  # the file's name, never the server's path
        ),
        ("prompts.templates:TemplateError:answer.yaml: missing variable(s) ['today']", None),
    ],
)
async def test_the_cores_user_errors_reach_the_asker_as_their_line(
    discord_scenario, monkeypatch, error, shown
):
    import importlib

    module, name, text = error.split(":", 2)
    s = discord_scenario

    async def failing(*_args, **_kwargs):
        raise getattr(importlib.import_module(module), name)(text)

    monkeypatch.setattr(s.bot.desk, "ask", failing)
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question=QUESTION)
    [message] = await s.fake.wait_for(lambda: ix.messages)
    assert message["content"] == (shown or text) and message["flags"] == 64
    assert len(ix.raw_followups) == 1 and s.bot.errors.last_hour() == 0


async def test_an_error_line_over_discords_2000_characters_is_clipped_not_lost(discord_scenario, monkeypatch):
    from retrieval.search import Filters

    s = discord_scenario
    outlets = [f"The {i:02d} {'Very Long Regional Evening Chronicle and Gazette ' * 2}" for i in range(25)]

    async def unknown_outlet(*_args, **_kwargs):
        Filters(outlet="Nowhere").check_outlet(outlets)  # names 20 outlets: over 2,000 characters

    monkeypatch.setattr(s.bot.desk, "ask", unknown_outlet)
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question=QUESTION, outlet="Nowhere")
    [message] = await s.fake.wait_for(lambda: ix.messages)  # Discord refuses content over 2,000
    assert message["content"].startswith("no outlet 'Nowhere' in the coverage; its outlets: The 00 ")
    assert len(message["content"]) == 2000 and message["content"].endswith("…")
    assert message["flags"] == 64
