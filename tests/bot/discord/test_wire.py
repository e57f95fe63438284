"""Discord's wire-level trouble: rate limits, a dropped gateway, rejected tokens."""

from __future__ import annotations

import pytest

from bot.discord.runner import run, serve
from tests.fakes.discord_fixtures import bot_settings, start_bot
from tests.fakes.discord_rest import InvalidFormBody, check_limits

QUESTION = "What did Putin and Xi agree?"


async def test_a_429_from_discord_is_waited_out_and_the_answer_arrives(discord_scenario):
    s = discord_scenario
    s.fake.rate_limit("POST", r"/webhooks/\d+/[^/]+", times=1, retry_after=0.05)
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question=QUESTION)

    await s.fake.wait_for_messages_with_buttons(ix)
    statuses = [r.status for r in s.fake.requests if r.path.startswith("/webhooks/")]
    assert statuses == [429, 200]


async def test_bot_resumes_after_the_gateway_drops_and_misses_nothing(discord_scenario):
    s = discord_scenario
    await s.fake.drop_gateway(code=4000)
    # Sent while the bot may be disconnected: Discord replays it after RESUME.
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question=QUESTION)

    await s.fake.wait_for(lambda: s.fake.events["resumes"])
    await s.fake.wait_for_messages_with_buttons(ix)
    ops = [frame["op"] for frame in s.fake.gateway_received]
    assert ops.count(2) == 1 and ops.count(6) == 1  # one IDENTIFY, then a RESUME
    [session] = s.fake.gateway.sessions.values()
    resume = next(f for f in s.fake.gateway_received if f["op"] == 6)
    assert resume["d"]["session_id"] == session.session_id


async def test_a_rejected_token_is_one_line_and_exit_2(fake_discord, discord_desk, tmp_path, capsys):
    settings = bot_settings(fake_discord.fake, tmp_path)
    code = await serve(settings, discord_desk, "not-the-token", guild_ready_timeout=0.05)
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "newsdesk bot: Discord rejected the token in DISCORD_TOKEN: reset it on the "
        "developer portal (Bot → Reset Token) and set it again\n"
    )


async def test_a_token_refused_by_the_gateway_is_one_line_and_exit_2(
    fake_discord, discord_desk, tmp_path, capsys
):
    fake_discord.world.gateway_token = "rotated"
    settings = bot_settings(fake_discord.fake, tmp_path)
    code = await serve(settings, discord_desk, fake_discord.world.token, guild_ready_timeout=0.05)
    assert code == 2
    assert capsys.readouterr().err.startswith("newsdesk bot: Discord rejected the token")


async def test_discord_requiring_sharding_is_one_line_naming_the_setting_and_exit_2(
    fake_discord, discord_desk, tmp_path, capsys
):
    fake_discord.world.sharding_required = True  # the bot is in more than 2,500 servers
    settings = bot_settings(fake_discord.fake, tmp_path)
    code = await serve(settings, discord_desk, fake_discord.world.token, guild_ready_timeout=0.05)
    assert code == 2  # was discord.errors.ConnectionClosed's traceback
    assert capsys.readouterr().err == (
        "newsdesk bot: Discord requires sharding at this many servers: set discord.shards: auto "
        "(docs/discord-setup.md)\n"
    )


async def test_another_gateway_close_code_is_one_line_and_exit_1(
    fake_discord, discord_desk, tmp_path, capsys
):
    import asyncio

    settings = bot_settings(fake_discord.fake, tmp_path)
    serving = asyncio.create_task(
        serve(settings, discord_desk, fake_discord.world.token, guild_ready_timeout=0.05)
    )
    await fake_discord.fake.wait_for(lambda: fake_discord.fake.events["syncs"])
    await fake_discord.fake.wait_for(lambda: fake_discord.fake.gateway.sessions)
    await fake_discord.fake.drop_gateway(4013)  # 'Invalid intent(s)': discord.py does not reconnect
    assert await asyncio.wait_for(serving, 10) == 1
    assert capsys.readouterr().err.endswith(
        "newsdesk bot: Discord closed the gateway connection (code 4013: invalid intents)\n"
    )


def test_a_missing_token_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys):
    from config.settings import load_settings

    monkeypatch.delenv("NEWSDESK_TEST_TOKEN", raising=False)
    settings = load_settings(data_dir=str(tmp_path), discord={"token_env": "NEWSDESK_TEST_TOKEN"})
    opened = []
    assert run(settings, lambda: opened.append(1)) == 2
    assert capsys.readouterr().err == (
        "newsdesk bot: no bot token: set the NEWSDESK_TEST_TOKEN environment variable "
        "(see docs/discord-setup.md)\n"
    )
    assert opened == []  # fails before loading the index


def test_a_damaged_bot_database_stops_the_start_with_one_line(monkeypatch, tmp_path, capsys):
    from bot.cli import main

    monkeypatch.setenv("DISCORD_TOKEN", "fake-bot-token")
    (tmp_path / "bot.sqlite3").write_bytes(b"half a backup, not SQLite " * 8)
    config = tmp_path / "newsdesk.yaml"
    config.write_text(f"discord:\n  database: {tmp_path / 'bot.sqlite3'}\n", encoding="utf-8")
    monkeypatch.setattr(
        "prompts.desk.Desk.open", lambda *_a, **_k: type("Desk", (), {"close": lambda self: None})()
    )
    assert main(["--config", str(config), "--data-dir", str(tmp_path / "data"), "bot"]) == 1
    assert capsys.readouterr().err == (  # was sqlite3's 'file is not a database' traceback
        f"newsdesk: error: the bot's database {tmp_path / 'bot.sqlite3'} is damaged (file is not a "
        "database): restore it from a backup (docs/deploy.md), or move it aside and the bot "
        "starts a new one\n"
    )


@pytest.mark.parametrize("token", ["first-line\nsecond-line", "tab\tbetween", "cr\rinside", "a b"])
def test_a_token_holding_a_control_character_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys, token):
    from config.settings import load_settings

    monkeypatch.setenv("NEWSDESK_TEST_TOKEN", token)  # e.g. two lines pasted from a secrets file
    settings = load_settings(data_dir=str(tmp_path), discord={"token_env": "NEWSDESK_TEST_TOKEN"})
    opened = []
    assert run(settings, lambda: opened.append(1)) == 2  # was aiohttp's ValueError, a traceback
    err = capsys.readouterr().err
    assert err == (
        "newsdesk bot: the token in NEWSDESK_TEST_TOKEN holds a line break, space or other control "
        "character: set it again from the developer portal (Bot → Reset Token)\n"
    )
    assert opened == []


async def test_identify_asks_for_message_content_only_when_mentions_are_on(discord_scenario):
    [identify] = [f for f in discord_scenario.fake.gateway_received if f["op"] == 2]
    intents = identify["d"]["intents"]
    assert intents == (1 << 0) | (1 << 9) | (1 << 15)  # guilds, guild messages, message content


@pytest.mark.parametrize("discord_settings_overrides", [{"mentions": False}])
async def test_without_mentions_no_privileged_intent_is_requested(discord_scenario):
    [identify] = [f for f in discord_scenario.fake.gateway_received if f["op"] == 2]
    assert identify["d"]["intents"] == 1 << 0


async def test_sharded_bot_connects_every_shard(fake_discord, discord_desk, tmp_path, monkeypatch):
    from bot.discord.app import ShardedNewsdeskBot

    async def no_identify_spacing(self, shard_id, *, initial=False):
        pass  # discord.py waits 5 s between shards' IDENTIFYs, as Discord's limit requires

    monkeypatch.setattr(ShardedNewsdeskBot, "before_identify_hook", no_identify_spacing)
    s = fake_discord
    settings = bot_settings(s.fake, tmp_path, shards="auto")
    s.fake.recommended_shards = 2
    s.bot, s.task = await start_bot(s.fake, discord_desk, settings)
    assert [r.path for r in s.fake.requests][:3] == [
        "/users/@me",
        "/oauth2/applications/@me",
        f"/applications/{s.world.app_id}/commands",
    ]
    assert any(r.path == "/gateway/bot" for r in s.fake.requests)
    shards = sorted(tuple(f["d"]["shard"]) for f in s.fake.gateway_received if f["op"] == 2)
    assert shards == [(0, 2), (1, 2)]
    ix = await s.fake.invoke_slash(s.member, s.channel, "ask", question=QUESTION)
    await s.fake.wait_for_messages_with_buttons(ix)


async def test_commands_sync_to_listed_guilds(fake_discord, discord_desk, tmp_path):
    s = fake_discord
    settings = bot_settings(s.fake, tmp_path, guild_ids=[s.guild.id])
    s.bot, s.task = await start_bot(s.fake, discord_desk, settings)
    assert set(s.fake.commands.guild_commands[s.guild.id]) == {
        "ask",
        "sources",
        "summary",
        "timeline",
        "reindex",
        "status",
    }
    assert s.fake.commands.global_commands == {}


async def test_the_fake_refuses_an_acknowledgement_after_the_deadline(discord_scenario):
    s = discord_scenario
    s.fake.ack_deadline = 0.0  # every acknowledgement is now "late"
    ix = await s.fake.invoke_slash(s.member, s.channel, "sources")
    [late] = await s.fake.wait_for_request("POST", rf"/interactions/{ix.id}/[^/]+/callback")
    assert late.status == 404 and ix.callbacks == []


async def test_a_discord_that_accepts_and_never_answers_is_one_line_within_the_login_deadline(
    discord_desk, tmp_path, capsys
):
    import asyncio
    import time

    from config.settings import load_settings

    silent: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)  # accepted, never answered

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = load_settings(
        data_dir=str(tmp_path),
        discord={
            "api_base_url": f"http://127.0.0.1:{port}/api/v10",
            "gateway_url": f"ws://127.0.0.1:{port}/",
            "database": str(tmp_path / "bot.sqlite3"),
            "login_timeout_s": 0.5,
        },
    )
    started = time.monotonic()
    async with server:
        code = await serve(settings, discord_desk, "MTIz.abc.def")
    for writer in silent:
        writer.close()
    assert code == 1 and time.monotonic() - started < 10
    assert capsys.readouterr().err == "newsdesk bot: cannot reach Discord: no answer to the login in 0.5 s\n"


async def test_the_bot_says_once_that_it_is_online(fake_discord, discord_desk, tmp_path, capsys, monkeypatch):
    import asyncio

    from bot.discord import runner
    from bot.discord.app import create_bot

    made = []

    def keep(*args, **options):
        made.append(create_bot(*args, guild_ready_timeout=0.05, **options))
        return made[-1]

    monkeypatch.setattr(runner, "create_bot", keep)  # to reach the bot serve() builds
    s = fake_discord
    served = asyncio.create_task(serve(bot_settings(s.fake, tmp_path), discord_desk, s.world.token))
    await s.fake.wait_for(lambda: made)
    await asyncio.wait_for(made[0].wait_until_ready(), 10)
    await s.fake.drop_gateway(4000)  # a reconnect is not a second start
    await s.fake.wait_for(lambda: sum(f["op"] in (2, 6) for f in s.fake.gateway_received) >= 2)
    await asyncio.wait_for(made[0].wait_until_ready(), 10)
    await asyncio.sleep(0.3)  # past guild_ready_timeout: a second on_ready would have fired
    await made[0].close()
    assert await asyncio.wait_for(served, 10) == 0
    assert capsys.readouterr().err == (
        f"newsdesk bot: online as {s.world.bot_user.username} in 1 server; Ctrl-C (or SIGTERM) stops it\n"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"content": "x" * 2001},
        {"embeds": [{"description": "x" * 4097}]},
        {"embeds": [{"title": "x" * 257}]},
        {"embeds": [{"fields": [{"name": "Sources", "value": "x" * 1025}]}]},
        {"embeds": [{"description": "x" * 4000}, {"description": "x" * 2001}]},  # 6,001 in all
        {"embeds": [{}] * 11},
    ],
)
def test_the_fake_refuses_a_message_over_discords_limits(body) -> None:
    with pytest.raises(InvalidFormBody):
        check_limits(body)
    check_limits({"content": "x" * 2000, "embeds": [{"description": "x" * 4096, "title": "x" * 256}]})
