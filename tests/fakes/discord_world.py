"""The fake Discord's world: users, guilds, roles, channels, members, and their wire payloads.

Ids come from a fixed snowflake sequence (2024-01-01, +1 ms each) so every run is identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
JOINED = "2024-01-01T00:00:00+00:00"

ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_APPLICATION_COMMANDS = 1 << 31
ALL_PERMISSIONS = (1 << 51) - 1
EVERYONE_DEFAULT = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY | USE_APPLICATION_COMMANDS
)

TEXT_CHANNEL, PUBLIC_THREAD = 0, 11


class Snowflakes:
    def __init__(self) -> None:
        self._ms = START_MS

    def next(self) -> int:
        self._ms += 1
        return (self._ms - DISCORD_EPOCH_MS) << 22


@dataclass
class User:
    id: int
    username: str
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.username,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass
class Role:
    id: int
    name: str
    permissions: int
    position: int
    bot_id: int | None = None  # the role Discord makes for a bot when it joins (managed)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "hoist": False,
            "managed": self.bot_id is not None,
            "mentionable": False,
            "flags": 0,
            "icon": None,
            "unicode_emoji": None,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class Channel:
    id: int
    guild_id: int
    name: str
    type: int = TEXT_CHANNEL
    parent_id: int | None = None
    owner_id: int | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    #: False: a permission overwrite denies the bot Send Messages here (403 / 50013)
    bot_can_send: bool = True

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "guild_id": str(self.guild_id),
            "position": 0,
            "nsfw": False,
            "permission_overwrites": [],
            "flags": 0,
            "parent_id": str(self.parent_id) if self.parent_id else None,
        }
        if self.type == PUBLIC_THREAD:
            data |= {
                "owner_id": str(self.owner_id),
                "message_count": 0,
                "member_count": 1,
                "rate_limit_per_user": 0,
                "thread_metadata": {
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "locked": False,
                    "archive_timestamp": JOINED,
                },
            }
        return data


@dataclass
class Member:
    user: User
    role_ids: list[int]

    def payload(self, permissions: int | None = None) -> dict[str, Any]:
        data = {
            "user": self.user.payload(),
            "roles": [str(r) for r in self.role_ids],
            "flags": 0,
            "joined_at": JOINED,
            "nick": None,
            "avatar": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "premium_since": None,
        }
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)

    def permissions_of(self, user_id: int) -> int:
        """Guild-level permissions (no channel overwrites), as Discord computes them."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members[user_id]
        value = self.roles[self.id].permissions
        for role_id in member.role_ids:
            value |= self.roles[role_id].permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def create_payload(self) -> dict[str, Any]:
        plain = [c.payload() for c in self.channels.values() if c.type != PUBLIC_THREAD]
        threads = [c.payload() for c in self.channels.values() if c.type == PUBLIC_THREAD]
        return {
            "id": str(self.id),
            "name": self.name,
            "owner_id": str(self.owner_id),
            "unavailable": False,
            "member_count": len(self.members),
            "large": False,
            "roles": [r.payload() for r in self.roles.values()],
            "channels": plain,
            "threads": threads,
            "members": [m.payload() for m in self.members.values()],
            "icon": None,
            "splash": None,
            "banner": None,
            "description": None,
            "features": [],
            "emojis": [],
            "stickers": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "joined_at": JOINED,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "system_channel_flags": 0,
            "afk_timeout": 300,
            "nsfw_level": 0,
            "premium_subscription_count": 0,
            "max_members": 500_000,
            "afk_channel_id": None,
            "system_channel_id": None,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
        }


class World:
    """Everything the fake Discord knows; tests build it, the server serves it."""

    def __init__(self, token: str = "fake-bot-token") -> None:  # noqa: S107
        self.ids = Snowflakes()
        self.token = token
        self.gateway_token: str | None = None  # set to make IDENTIFY fail (close 4004)
        self.sharding_required = False  # set: an IDENTIFY without a shard is closed with 4011
        self.app_id = self.ids.next()
        self.bot_user = User(self.app_id, "newsdesk", bot=True)  # bot id == application id
        self.owner = User(self.ids.next(), "app-owner")
        self.privileged_intents = {"message_content": True, "members": False, "presences": False}
        self.guilds: dict[int, Guild] = {}
        self.users: dict[int, User] = {self.bot_user.id: self.bot_user}

    def add_user(self, username: str, *, bot: bool = False) -> User:
        user = User(self.ids.next(), username, bot)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, owner: User | None = None) -> Guild:
        guild_id = self.ids.next()
        owner = owner or self.add_user(f"{name}-owner")
        guild = Guild(guild_id, name, owner.id)
        guild.roles[guild_id] = Role(guild_id, "@everyone", EVERYONE_DEFAULT, 0)
        self.guilds[guild_id] = guild
        self.add_member(guild, owner)
        # Discord gives a bot that joins a role of its name, which members can mention too
        bot_role = Role(self.ids.next(), self.bot_user.username, EVERYONE_DEFAULT, 1, self.bot_user.id)
        guild.roles[bot_role.id] = bot_role
        self.add_member(guild, self.bot_user, [bot_role])
        return guild

    def bot_role(self, guild: Guild) -> Role:
        return next(r for r in guild.roles.values() if r.bot_id == self.bot_user.id)

    def add_role(self, guild: Guild, name: str, permissions: int = 0) -> Role:
        role = Role(self.ids.next(), name, permissions, len(guild.roles))
        guild.roles[role.id] = role
        return role

    def add_text_channel(self, guild: Guild, name: str) -> Channel:
        channel = Channel(self.ids.next(), guild.id, name)
        guild.channels[channel.id] = channel
        return channel

    def add_thread(self, parent: Channel, name: str, owner: User | None = None) -> Channel:
        owner_id = owner.id if owner else self.bot_user.id
        thread = Channel(self.ids.next(), parent.guild_id, name, PUBLIC_THREAD, parent.id, owner_id)
        self.guilds[parent.guild_id].channels[thread.id] = thread
        return thread

    def add_member(self, guild: Guild, user: User, roles: list[Role] | tuple = ()) -> Member:
        member = Member(user, [r.id for r in roles])
        guild.members[user.id] = member
        return member

    def channel(self, channel_id: int) -> Channel:
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id]
        raise KeyError(channel_id)
