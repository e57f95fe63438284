"""The fake Discord's gateway: HELLO, IDENTIFY/READY, RESUME/RESUMED, heartbeats, op 8 chunks.

Frames go out as text JSON, which discord.py accepts whatever transport compression it asked
for. Events for a session whose socket is down are kept and replayed on RESUME.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from tests.fakes.discord_server import FakeDiscord

GUILDS, GUILD_MEMBERS, GUILD_PRESENCES, GUILD_MESSAGES, MESSAGE_CONTENT = 0, 1, 8, 9, 15
PRIVILEGED = {GUILD_MEMBERS: "members", GUILD_PRESENCES: "presences", MESSAGE_CONTENT: "message_content"}
CLOSE_AUTH_FAILED, CLOSE_SHARDING_REQUIRED, CLOSE_DISALLOWED_INTENTS = 4004, 4011, 4014


@dataclass
class Session:
    session_id: str
    intents: int
    shard: tuple[int, int] | None
    seq: int = 0
    ws: web.WebSocketResponse | None = None
    backlog: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    resumes: int = 0

    def has(self, intent: int) -> bool:
        return bool(self.intents >> intent & 1)


class Gateway:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.sessions: dict[str, Session] = {}
        self.sockets: set[web.WebSocketResponse] = set()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.add(ws)
        await self.fake.note("gateway_connects", dict(request.query))
        await self._send(ws, {"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        session: Session | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                await self.fake.note("gateway_received", frame)
                session = await self._on_frame(ws, frame, session) or session
        finally:
            self.sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
        return ws

    async def _on_frame(self, ws, frame: dict[str, Any], session: Session | None):
        op = frame.get("op")
        data: Any = frame.get("d")  # JSON: an object for ops 2, 6 and 8
        if op == 1:
            await self._send(ws, {"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            return await self._identify(ws, data)
        elif op == 6:
            return await self._resume(ws, data)
        elif op == 8 and session is not None:
            await self._chunk(session, data)
        return None

    async def _identify(self, ws, data: dict[str, Any]) -> Session | None:
        world = self.fake.world
        if data.get("token") != (world.gateway_token or world.token):
            await ws.close(code=CLOSE_AUTH_FAILED, message=b"Authentication failed.")
            return None
        if world.sharding_required and not data.get("shard"):  # Discord: past 2,500 servers
            await ws.close(code=CLOSE_SHARDING_REQUIRED, message=b"Sharding required.")
            return None
        intents = int(data.get("intents", 0))
        for bit, name in PRIVILEGED.items():
            if intents >> bit & 1 and not world.privileged_intents[name]:
                await ws.close(code=CLOSE_DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
                return None
        shard = tuple(data["shard"]) if data.get("shard") else None
        session = Session(uuid.uuid4().hex, intents, shard, ws=ws)
        self.sessions[session.session_id] = session
        guilds = [g for g in world.guilds.values() if self._in_shard(g.id, shard)]
        ready = {
            "v": 10,
            "user": world.bot_user.payload(),
            "session_id": session.session_id,
            "resume_gateway_url": f"{self.fake.gateway_url}",
            "session_type": "normal",
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "application": {"id": str(world.app_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "geo_ordered_rtc_regions": [],
        }
        if shard:
            ready["shard"] = list(shard)
        await self._dispatch(session, "READY", ready)
        for guild in guilds:
            await self._dispatch(session, "GUILD_CREATE", guild.create_payload())
        return session

    @staticmethod
    def _in_shard(guild_id: int, shard: tuple[int, int] | None) -> bool:
        return shard is None or (guild_id >> 22) % shard[1] == shard[0]

    async def _resume(self, ws, data: dict[str, Any]) -> Session | None:
        session = self.sessions.get(data.get("session_id", ""))
        world = self.fake.world
        if session is None or data.get("token") != (world.gateway_token or world.token):
            await self._send(ws, {"op": 9, "d": False, "s": None, "t": None})
            return None
        session.ws, session.resumes = ws, session.resumes + 1
        backlog, session.backlog = session.backlog, []
        for event, payload in backlog:
            await self._dispatch(session, event, payload)
        await self._dispatch(session, "RESUMED", {})
        await self.fake.note("resumes", session.session_id)
        return session

    async def _chunk(self, session: Session, data: dict[str, Any]) -> None:
        guild = self.fake.world.guilds[int(data["guild_id"])]
        await self._dispatch(
            session,
            "GUILD_MEMBERS_CHUNK",
            {
                "guild_id": str(guild.id),
                "members": [m.payload() for m in guild.members.values()],
                "chunk_index": 0,
                "chunk_count": 1,
                "nonce": data.get("nonce"),
                "not_found": [],
            },
        )

    async def broadcast(
        self, event: str, data: dict[str, Any], intent: int | None, guild_id: int | None = None
    ) -> None:
        """Send an event to every session that asked for ``intent`` (queued if disconnected)."""
        for session in list(self.sessions.values()):
            if intent is not None and not session.has(intent):
                continue
            if guild_id is not None and not self._in_shard(guild_id, session.shard):
                continue
            body = self.fake.shape_for(session, event, data)
            if session.ws is None or session.ws.closed:
                session.backlog.append((event, body))
            else:
                await self._dispatch(session, event, body)

    async def _dispatch(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        assert session.ws is not None
        await self._send(session.ws, {"op": 0, "t": event, "s": session.seq, "d": data})

    @staticmethod
    async def _send(ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        if not ws.closed:
            await ws.send_str(json.dumps(frame))

    async def drop(self, code: int = 4000) -> None:
        """Close every gateway socket from the server side, as a Discord outage would."""
        for ws in list(self.sockets):
            await ws.close(code=code, message=b"dropped by the test")

    async def close_all(self) -> None:
        for ws in list(self.sockets):
            await ws.close(code=1001, message=b"fake discord stopping")
