"""/ask, mentions and thread follow-ups, end to end over the fake Discord on the seed corpus."""

from __future__ import annotations

import asyncio
import logging

from tests.fakes.discord_server import FakeDiscord

QUESTION = "What did Putin and Xi agree?"


def sources_field(message: dict) -> str:
    fields = [f for e in message["embeds"] for f in e.get("fields", [])]
    return "\n".join(f["value"] for f in fields if f["name"].startswith("Sources"))


async def test_ask_defers_then_answers_with_cited_sources(discord_scenario):
    s = discord_scenario
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question=QUESTION)

    assert await s.fake.wait_for_ack(ix) == {"type": 5}
    [answer] = await s.fake.wait_for_messages_with_buttons(ix)
    embed = answer["embeds"][0]
    assert embed["title"] == QUESTION
    assert "[1]" in embed["description"]
    assert (
        '[1] Al Jazeera — "Russia and China hail ties amid tensions with West" (2021-12-15)'
        in sources_field(answer)
    )
    assert answer["allowed_mentions"] == {"parse": []}
    assert answer in s.channel.messages  # public, not ephemeral


async def test_ask_since_after_the_coverage_says_why_in_the_footer(discord_scenario):
    s = discord_scenario
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question=QUESTION, since="2030-01-01")
    [answer] = await s.fake.wait_for_messages_with_buttons(ix)
    assert answer["embeds"][-1]["footer"]["text"].endswith(
        "The coverage has nothing from 2030-01-01 on; it runs from 2021-12-15 to 2023-03-17."
    )


async def test_mention_gets_a_reply_that_pings_nobody(discord_scenario):
    s = discord_scenario
    await s.fake.send_message(s.member, s.channel, f"<@{s.world.bot_user.id}> {QUESTION}")

    def reply():
        return [m for m in s.channel.messages if m["author"]["id"] == str(s.world.bot_user.id)]

    [answer] = await s.fake.wait_for(reply)
    assert answer["message_reference"]["channel_id"] == s.channel.id
    assert answer["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert "[1]" in answer["embeds"][0]["description"]
    assert s.fake.events["typing"] == [s.channel.id]


async def test_message_without_mention_is_ignored(discord_scenario):
    s = discord_scenario
    await s.fake.send_message(s.member, s.channel, QUESTION)
    await s.fake.send_message(s.member, s.channel, f"<@{s.world.bot_user.id}>")  # a marker
    await s.fake.wait_for(lambda: len(s.channel.messages) == 3)
    hint = s.channel.messages[-1]["content"]
    assert hint == "Ask me a question about the news coverage."


async def ask_in(fake: FakeDiscord, s, channel, question: str):
    ix = await fake.invoke_slash(s.member, channel, "ask", question=question)
    return (await fake.wait_for_messages_with_buttons(ix))[-1]


async def test_follow_up_in_a_thread_carries_the_conversation(discord_scenario, monkeypatch):
    s = discord_scenario
    seen = []
    real_ask = s.bot.desk.ask

    async def spy(question, history=(), **filters):
        seen.append([t.question for t in history])
        return await real_ask(question, history=history, **filters)

    monkeypatch.setattr(s.bot.desk, "ask", spy)
    await ask_in(s.fake, s, s.thread, QUESTION)
    await ask_in(s.fake, s, s.thread, "When did they meet?")
    await ask_in(s.fake, s, s.channel, "When did they meet?")  # outside the thread: fresh
    assert seen == [[], [QUESTION], []]


async def test_reply_to_an_answer_is_a_follow_up(discord_scenario, monkeypatch):
    s = discord_scenario
    answer = await ask_in(s.fake, s, s.channel, QUESTION)
    seen = []
    real_ask = s.bot.desk.ask

    async def spy(question, history=(), **filters):
        seen.append((question, [t.question for t in history]))
        return await real_ask(question, history=history, **filters)

    monkeypatch.setattr(s.bot.desk, "ask", spy)
    await s.fake.send_message(s.member, s.channel, "Where did they meet?", reply_to=answer)
    await s.fake.wait_for(lambda: seen and len(s.channel.messages) >= 3)
    assert seen == [("Where did they meet?", [QUESTION])]


async def test_a_mention_where_the_bot_may_not_post_is_one_warning_line(discord_scenario, caplog):
    s = discord_scenario
    s.channel.bot_can_send = False  # an overwrite denies the bot Send Messages in #news
    with caplog.at_level(logging.WARNING):
        await s.fake.send_message(s.member, s.channel, f"<@{s.world.bot_user.id}> {QUESTION}")
        await s.fake.wait_for(lambda: [r for r in s.fake.requests if r.status == 403])
        for _ in range(50):  # the bot logs once Discord's answer is in
            if any(r.name.startswith("bot.") for r in caplog.records):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)  # and nothing after it (no error reply tried)
    shown = [(r.levelname, r.getMessage()) for r in caplog.records if r.name.startswith("bot.")]
    assert shown == [
        (
            "WARNING",
            f"cannot answer a mention in channel {s.channel.id}: Discord refused (403 Forbidden (error "
            "code: 50013): Missing Permissions); give the bot Send Messages there, or set "
            "discord.channel_ids to the channels where it answers",
        )
    ]
    assert not any(r.exc_info for r in caplog.records)
    assert s.bot.errors.last_hour() == 0  # not a bug of the bot's: /status does not count it


async def test_a_mention_of_the_bots_own_role_is_a_question_too(discord_scenario):
    s = discord_scenario
    role = s.world.bot_role(s.guild)  # what Discord's autocomplete often offers for '@newsdesk'
    await s.fake.send_message(s.member, s.channel, f"<@&{role.id}> {QUESTION}")
    bot_id = str(s.world.bot_user.id)
    [answer] = await s.fake.wait_for(lambda: [m for m in s.channel.messages if m["author"]["id"] == bot_id])
    assert answer["embeds"][0]["title"] == QUESTION  # the role mention is not part of the question
    assert "[1]" in answer["embeds"][0]["description"]


async def test_a_mention_of_another_role_is_not_for_the_bot(discord_scenario):
    s = discord_scenario
    other = s.world.add_role(s.guild, "editors")
    await s.fake.send_message(s.member, s.channel, f"<@&{other.id}> {QUESTION}")
    await s.fake.send_message(s.member, s.channel, f"<@{s.world.bot_user.id}>")  # a marker
    await s.fake.wait_for(lambda: len(s.channel.messages) == 3)
    assert s.channel.messages[-1]["content"] == "Ask me a question about the news coverage."
