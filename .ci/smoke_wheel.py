"""Run the installed ``newsdesk`` command the way a user does, from outside the checkout.

    .venv/bin/python .ci/smoke_wheel.py /tmp/x/venv/bin/newsdesk /tmp/x/run

The first argument is the ``newsdesk`` of a fresh venv that has only the wheel installed; the
second an empty folder to run in (data, config, a small corpus). This script runs with the
checkout's test venv because it serves the loopback fakes (tests/fakes/): the news site for
``refresh`` and Discord for ``bot``. It prints one line per command and exits 1 at the first
command that fails, with what the command printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fakes from the checkout

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.discord_world import World
from tests.fakes.news_site import NewsSite

QUESTION = "What did Ushakov say about Xi and Russia's demands for security guarantees?"
DEADLINE_S = 180.0  # any one command


class SmokeFailure(Exception):
    pass


class Loop:
    """An event loop on a thread, serving the fakes while the commands run."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = DEADLINE_S) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class Smoke:
    def __init__(self, newsdesk: Path, work: Path) -> None:
        self.newsdesk = newsdesk
        self.work = work
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("NEWSDESK_", "PYTHON", "VIRTUAL_ENV", "OPENAI_", "DISCORD_"))
        }
        self.env.update({"NEWSDESK_DATA_DIR": str(work / "data"), "HOME": str(work / "home")})
        self.results: list[str] = []

    def run(self, *args: str, expect: int = 0, env: dict[str, str] | None = None) -> str:
        started = time.monotonic()
        done = subprocess.run(  # noqa: S603 - the installed command, fixed arguments
            [str(self.newsdesk), *args],
            cwd=self.work,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=DEADLINE_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        seconds = time.monotonic() - started
        if done.returncode != expect:
            raise SmokeFailure(
                f"newsdesk {' '.join(args)}: exit {done.returncode} (expected {expect}) in {seconds:.1f} s\n"
                f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
            )
        if "Traceback" in done.stderr:
            raise SmokeFailure(f"newsdesk {' '.join(args)}: a traceback on stderr\n{done.stderr[-3000:]}")
        self.last_seconds = seconds
        return done.stdout

    def check(self, label: str, step: Callable[[], str]) -> None:
        started = time.monotonic()
        try:
            detail = step()
        except SmokeFailure as exc:
            print(f"FAIL {label}: {exc}", flush=True)
            raise
        except (AssertionError, TimeoutError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
            print(f"FAIL {label}: {type(exc).__name__}: {exc}", flush=True)
            raise SmokeFailure(label) from exc
        line = f"ok   {label} ({time.monotonic() - started:.1f} s): {detail}"
        self.results.append(line)
        print(line, flush=True)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def small_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "port.md").write_text(
        "---\ntitle: Port strike ends after nine days\noutlet: Harbor Times\npublished: 2026-11-18\n---\n"
        "Dock workers returned to the container terminal on Tuesday after the union accepted a "
        "four percent raise. The strike had stopped ships for nine days.\n",
        encoding="utf-8",
    )
    (folder / "bridge.txt").write_text(
        "Bridge reopens\n\nThe Rhine bridge reopened to traffic on Friday after repairs to its "
        "cables took three months longer than planned.\n",
        encoding="utf-8",
    )
    return folder


def main(argv: list[str]) -> int:
    newsdesk, work = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    work.mkdir(parents=True, exist_ok=True)
    smoke = Smoke(newsdesk, work)
    loop = Loop()
    site: NewsSite = loop.run(NewsSite().__aenter__())
    fake: FakeDiscord = loop.run(FakeDiscord(_world()).start())
    try:
        steps(smoke, loop, site, fake)
    except SmokeFailure:
        print(f"smoke: FAILED after {len(smoke.results)} passing command(s)", flush=True)
        return 1
    finally:
        loop.run(fake.stop(), 30)
        loop.run(site.__aexit__(None, None, None), 30)
        loop.stop()
    print(f"smoke: {len(smoke.results)} commands passed, 0 failed", flush=True)
    return 0


def _world() -> World:
    world = World()
    guild = world.add_guild("News Club")
    world.add_text_channel(guild, "news")
    world.add_member(guild, world.add_user("bob"))
    return world


def _asker(world: World) -> tuple[Any, Any]:
    """The #news channel and the member who asks there."""
    guild = next(iter(world.guilds.values()))
    channel = next(c for c in guild.channels.values() if c.name == "news")
    member = next(u for u in world.users.values() if u.username == "bob")
    return channel, member


def steps(smoke: Smoke, loop: Loop, site: NewsSite, fake: FakeDiscord) -> None:
    def installed() -> str:
        out = subprocess.run(  # noqa: S603
            [str(smoke.newsdesk.parent / "python"), "-c", "import bot, corpus; print(bot.__file__)"],
            cwd=smoke.work,
            env=smoke.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        expect("site-packages" in out, f"bot comes from {out}, not the installed wheel")
        return out

    smoke.check("import from the wheel", installed)

    def version() -> str:
        out = smoke.run("--version").strip()
        expect(re.fullmatch(r"newsdesk \d+\.\d+\S*", out) is not None, out)
        return out

    smoke.check("--version", version)

    def ask() -> str:
        out = smoke.run("ask", QUESTION)
        expect("Ushakov" in out and "[1]" in out, f"no cited answer:\n{out}")
        expect(re.search(r"^Sources \(based on \d+ articles?", out, re.M) is not None, f"no sources:\n{out}")
        expect(re.search(r'^\[1\](\[\d+\])* .+, ".+" \(\d{4}-\d\d-\d\d\)', out, re.M) is not None, out)
        return out.splitlines()[0][:90] + "…"

    smoke.check('ask "What did Ushakov say…" (bundled corpus, builds the index)', ask)

    def search() -> str:
        rows = json.loads(smoke.run("search", "Rosneft Sechin Beijing", "--json"))
        expect(isinstance(rows, list) and rows, "no rows")
        expect({"rank", "score", "doc_id", "title", "text"} <= set(rows[0]), f"row keys {sorted(rows[0])}")
        return f"{len(rows)} passages, first {rows[0]['doc_id']}"

    smoke.check("search --json", search)

    def summary() -> str:
        out = smoke.run("summary", "--topic", "Putin and Xi meetings")
        expect("[1]" in out and "Sources (" in out, out)
        return f"{len(out.splitlines())} lines, cited"

    smoke.check("summary --topic", summary)

    def timeline() -> str:
        out = smoke.run("timeline", "--topic", "Putin and Xi")
        dated = re.findall(r"\b\d{4}-\d\d-\d\d\b", out)
        expect(len(dated) >= 2 and "[1]" in out, out)
        return f"{len(dated)} dates, cited"

    smoke.check("timeline --topic", timeline)

    def invite() -> str:
        out = smoke.run("invite-url", "--app-id", "123456789012345678").strip()
        expect(out.startswith("https://discord.com/oauth2/authorize?client_id=123456789012345678"), out)
        return out[:60] + "…"

    smoke.check("invite-url", invite)

    def status() -> str:
        out = smoke.run("status")
        expect(out.startswith("articles: 5, passages: ") and "\nindex: gen-" in out, out)
        data = json.loads(smoke.run("status", "--json"))
        expect(data["articles"] == 5 and data["model"] == "not configured", str(data))
        return out.splitlines()[0] + "; " + next(x for x in out.splitlines() if x.startswith("index:"))[:50]

    smoke.check("status, status --json", status)

    def piped() -> str:
        proc = subprocess.Popen(  # noqa: S603
            [str(smoke.newsdesk), "search", "Putin and Xi"],
            cwd=smoke.work,
            env=smoke.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        if proc.stdout is None or proc.stderr is None:
            raise SmokeFailure("no pipes")
        proc.stdout.close()  # the reader is gone before newsdesk writes, as with `| head`
        err = proc.stderr.read().decode()
        code = proc.wait(DEADLINE_S)
        expect(code == 141 and "Traceback" not in err and "Exception ignored" not in err, f"{code}: {err}")
        return "exit 141, stderr empty" if not err.strip() else f"exit 141, stderr: {err.strip()[:60]}"

    smoke.check("search into a closed pipe", piped)

    def refresh() -> str:
        config = smoke.work / "sources.yaml"
        feed, page = site.url("/courier/atom.xml"), site.url("/courier/local/library-hours.html")
        config.write_text(
            "sources:\n"
            f"  - {{name: courier-atom, kind: feed, url: '{feed}', internal: true}}\n"
            f"  - {{name: library, kind: urls, urls: ['{page}'], internal: true}}\n",
            encoding="utf-8",
        )
        data = smoke.work / "refresh-data"
        out = smoke.run("--config", str(config), "--data-dir", str(data), "refresh")
        expect("courier-atom (feed): ok" in out and "library (urls): ok" in out, out)
        indexed = re.search(r"^indexed: (\d+) added", out, re.M)
        expect(indexed is not None and int(indexed.group(1)) >= 2, out)
        expect(bool(site.hits("/courier/atom.xml")), "the news site saw no request")
        return out.strip().splitlines()[-1]

    smoke.check("refresh (loopback news site)", refresh)

    def index() -> str:
        corpus = small_corpus(smoke.work / "my-articles")
        data = smoke.work / "index-data"
        out = smoke.run("--data-dir", str(data), "index", "--corpus", str(corpus))
        expect(out.startswith("indexed: 2 added"), out)
        answer = smoke.run("--data-dir", str(data), "ask", "What raise did the union accept?")
        expect("four percent raise" in answer and "Harbor Times" in answer, answer)
        return out.strip()

    smoke.check("index --corpus (a small folder), then ask it", index)

    smoke.check("bot (loopback Discord): registers commands, answers /ask", lambda: bot(smoke, loop, fake))


def bot(smoke: Smoke, loop: Loop, fake: FakeDiscord) -> str:
    config = smoke.work / "discord.yaml"
    config.write_text(
        f"discord:\n  api_base_url: {fake.base_url}\n  gateway_url: {fake.gateway_url}\n  cooldown_s: 0\n",
        encoding="utf-8",
    )
    env = {**smoke.env, "DISCORD_TOKEN": fake.world.token}
    log = (smoke.work / "bot.log").open("w")
    proc = subprocess.Popen(  # noqa: S603
        [str(smoke.newsdesk), "--config", str(config), "bot"],
        cwd=smoke.work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        loop.run(fake.wait_for_request("PUT", r"/applications/\d+/commands", within=120), 130)
        registered = sorted(fake.commands.global_commands)
        expect("ask" in registered, f"registered: {registered}")
        # commands sync before the gateway connects; an interaction sent before the session is
        # up would be lost, so wait for it (and retry once the bot is surely ready)
        loop.run(fake.wait_for(lambda: fake.gateway.sessions, within=60), 70)
        channel, member = _asker(fake.world)
        for attempt in range(3):
            ix = loop.run(fake.invoke_slash(member, channel, "ask", question=QUESTION))
            try:
                loop.run(fake.wait_for_ack(ix, within=5), 10)
                break
            except TimeoutError:
                if attempt == 2:
                    raise
        messages = loop.run(fake.wait_for_messages_with_buttons(ix, within=60), 70)
        embed = messages[0]["embeds"][0]
        expect("[1]" in embed.get("description", ""), f"no citation in {embed}")
        fields = "\n".join(f["value"] for e in messages[0]["embeds"] for f in e.get("fields", []))
        expect(bool(re.search(r"\[1\]", fields)), f"no sources field in {messages[0]}")
    except Exception:
        log.flush()
        print((smoke.work / "bot.log").read_text()[-3000:], flush=True)
        print("fake Discord saw:", [(r.method, r.path, r.status) for r in fake.requests][-12:], flush=True)
        raise
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait(5)
        log.close()
    expect(code == 0, f"the bot exited {code} on SIGTERM:\n{(smoke.work / 'bot.log').read_text()[-3000:]}")
    return f"registered /{', /'.join(registered)}; /ask answered with a citation; SIGTERM -> exit 0"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
