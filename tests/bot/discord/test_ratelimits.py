"""Discord's rate limits have a deadline (bot/discord/ratelimits.py): a 429 asking to wait longer
than discord.max_rate_limit_wait_s fails the send with one line instead of holding it."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import discord
import pytest

from bot.discord.errors import rate_limited
from bot.discord.feedback import DOWN_ID, NOTED
from bot.discord.ratelimits import RateLimitedWebhooks
from config.settings import ConfigError, load_settings
from tests.bot.discord.test_feedback import OneAnswerDesk
from tests.fakes.discord_fixtures import DiscordScenario, bot_settings, start_bot

AN_HOUR = 3600.0


async def _started(s: DiscordScenario, tmp_path) -> None:
    s.bot, s.task = await start_bot(s.fake, OneAnswerDesk(), bot_settings(s.fake, tmp_path))


def _rate_limit_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("Discord rate-limited")]


async def test_an_answer_discord_holds_back_for_an_hour_fails_at_once_with_a_line(
    fake_discord, tmp_path, caplog
):
    """The followup carrying the answer gets 429 'retry in 3600 s': discord.py's webhook adapter
    slept the hour (five times over), the asker watching "thinking…". Now the asker reads why,
    privately, in about no time, and the log has one warning line (no traceback, no error count)."""
    s = fake_discord
    await _started(s, tmp_path)
    s.fake.rate_limit("POST", r"/webhooks/\d+/[^/]+", times=1, retry_after=AN_HOUR)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question="Did it pass?")
        [said] = await s.fake.wait_for(lambda: ix.messages, within=5)
    assert time.monotonic() - started < 5
    assert said["content"] == rate_limited(AN_HOUR) and said["flags"] == 64
    assert "wait 60 min" in said["content"]
    assert ix.original_deleted  # the public "thinking…" went away
    [line] = _rate_limit_lines(caplog)
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert line.getMessage() == (
        "Discord rate-limited /ask: it asks to wait 3600 s, "
        "longer than discord.max_rate_limit_wait_s; not sent"
    )
    assert s.bot.errors.last_hour() == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_mention_reply_discord_holds_back_for_an_hour_fails_at_once(fake_discord, tmp_path, caplog):
    """Channel messages go through the bot's REST client: discord.py's max_ratelimit_timeout."""
    s = fake_discord
    await _started(s, tmp_path)
    assert s.bot.http.max_ratelimit_timeout == 60.0
    s.fake.rate_limit("POST", r"/channels/\d+/messages", times=1, retry_after=AN_HOUR)
    bot_id = str(s.world.bot_user.id)
    with caplog.at_level(logging.WARNING):
        await s.fake.send_message(s.member, s.channel, f"<@{bot_id}> did it pass?")
        [said] = await s.fake.wait_for(
            lambda: [m for m in s.channel.messages if m["author"]["id"] == bot_id], within=5
        )
    assert said["content"] == rate_limited(AN_HOUR)
    [line] = _rate_limit_lines(caplog)
    assert line.exc_info is None and "mention" in line.getMessage()
    assert s.bot.errors.last_hour() == 0


async def test_a_short_rate_limit_is_still_waited_out(fake_discord, tmp_path):
    s = fake_discord
    await _started(s, tmp_path)
    s.fake.rate_limit("POST", r"/webhooks/\d+/[^/]+", times=1, retry_after=0.05)
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question="Did it pass?")
    [answer] = await s.fake.wait_for_messages_with_buttons(ix)
    assert answer["embeds"] and not ix.original_deleted


async def test_the_webhook_waits_are_summed_over_one_requests_retries(fake_discord):
    """Five 429s of a little under the limit each would be five times the limit: the budget is
    for the whole request (retry_after 0.15 s twice against 0.2 s: the second one fails)."""
    s = fake_discord
    discord.http.Route.BASE = s.fake.base_url  # put back by restore_discord_endpoints
    route = discord.http.Route(
        "POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=1, webhook_token="t"
    )
    s.fake.rate_limit("POST", r"/webhooks/1/t", times=2, retry_after=0.15)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(discord.RateLimited) as caught:
            await RateLimitedWebhooks(0.2).request(route, session, payload={"content": "x"})
        assert caught.value.retry_after == 0.15
        s.fake.rate_limit("POST", r"/webhooks/1/t", times=1, retry_after=0.15)
        with pytest.raises(discord.NotFound):  # waited out, then sent: the fake knows no such webhook
            await RateLimitedWebhooks(0.2).request(route, session, payload={"content": "x"})
    statuses = [r.status for r in s.fake.requests if r.path == "/webhooks/1/t"]
    assert statuses == [429, 429, 429, 404]


async def test_an_answer_sent_as_its_bucket_runs_out_for_an_hour_is_not_held(fake_discord, tmp_path):
    """Discord takes the answer but says the bucket is spent for an hour (X-RateLimit-Remaining 0,
    Reset-After 3600): discord.py's webhook adapter slept the hour before the send returned, so
    the answer was never remembered (its 👎 unknown) and the guild's slot stayed taken. Now the
    bot goes on at once; a reply sent too soon would get a 429 and fail with the line above."""
    s = fake_discord
    await _started(s, tmp_path)
    s.fake.spend_bucket("POST", r"/webhooks/\d+/[^/]+", times=1, reset_after=AN_HOUR)
    started = time.monotonic()
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question="Did it pass?")
    [answer] = await s.fake.wait_for_messages_with_buttons(ix)
    await s.fake.wait_for(lambda: s.bot.limits.in_progress() == 0, within=5)
    click = await s.fake.click_button(s.member, answer, DOWN_ID)
    [thanks] = await s.fake.wait_for(lambda: click.messages, within=5)
    assert thanks["content"] == NOTED and [v["vote"] for v in s.bot.answers.feedback()] == [-1]
    assert time.monotonic() - started < 5 and s.fake.spent_buckets[0].times == 0


async def test_a_spent_bucket_is_waited_out_within_the_deadline_only(fake_discord):
    """Reset-After within the request's budget is waited (discord.py's own pacing), past it not."""
    s = fake_discord
    discord.http.Route.BASE = s.fake.base_url  # put back by restore_discord_endpoints
    route = discord.http.Route(
        "POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=1, webhook_token="t"
    )
    async with aiohttp.ClientSession() as session:
        for reset_after, budget, waits in [(0.3, 1.0, True), (AN_HOUR, 60.0, False), (0.3, 0.2, False)]:
            s.fake.spend_bucket("POST", r"/webhooks/1/t", times=1, reset_after=reset_after)
            started = time.monotonic()
            with pytest.raises(discord.NotFound):  # sent: the fake knows no such webhook
                request = RateLimitedWebhooks(budget).request(route, session, payload={"content": "x"})
                await asyncio.wait_for(request, 5)
            assert (time.monotonic() - started >= 0.3) is waits, (reset_after, budget)


@pytest.mark.parametrize("wait", [10, 0, 601])
def test_a_rate_limit_wait_discord_py_cannot_keep_is_refused(wait: float) -> None:
    with pytest.raises(ConfigError, match=r"'discord.max_rate_limit_wait_s': Input should be"):
        load_settings(discord={"max_rate_limit_wait_s": wait})
