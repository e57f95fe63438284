"""Synced application commands and Discord's own checks before an interaction is sent."""

from __future__ import annotations

from typing import Any

STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, NUMBER = 3, 4, 5, 6, 7, 8, 10
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
_PY_TYPES: dict[int, type | tuple[type, ...]] = {
    STRING: str,
    INTEGER: int,
    BOOLEAN: bool,
    NUMBER: (int, float),
}


class CommandNotRegistered(LookupError):
    """The bot never synced a command by that name (users could not see it)."""


class InvalidCommandOptions(ValueError):
    """Discord's client would not send these options."""


class CommandNotPermitted(PermissionError):
    """default_member_permissions hides the command from this member."""


class CommandRegistry:
    """What the bot synced: global commands and per-guild commands, as stored by Discord."""

    def __init__(self) -> None:
        self.global_commands: dict[str, dict[str, Any]] = {}
        self.guild_commands: dict[int, dict[str, dict[str, Any]]] = {}

    def overwrite(self, guild_id: int | None, commands: list[dict[str, Any]], ids) -> list[dict]:
        stored = {}
        for command in commands:
            command = dict(command)
            command.setdefault("type", 1)
            command["id"] = str(ids.next())
            stored[command["name"]] = command
        if guild_id is None:
            self.global_commands = stored
        else:
            self.guild_commands[guild_id] = stored
        return list(stored.values())

    def find(self, guild_id: int, name: str) -> tuple[dict[str, Any], bool]:
        """The command and whether it is a guild command (guild ones shadow global ones)."""
        if name in self.guild_commands.get(guild_id, {}):
            return self.guild_commands[guild_id][name], True
        if name in self.global_commands:
            return self.global_commands[name], False
        raise CommandNotRegistered(name)


def check_permission(command: dict[str, Any], member_permissions: int) -> None:
    """Discord hides commands whose default_member_permissions the member lacks."""
    required = command.get("default_member_permissions")
    if required is None:
        return
    required = int(required)
    allowed = member_permissions & 8 if required == 0 else member_permissions & required == required
    if not allowed:
        raise CommandNotPermitted(command["name"])


def build_options(command: dict[str, Any], path: list[str], values: dict[str, Any]) -> list[dict]:
    """Wire options for ``/name sub ... key=value``, validated against the stored schema."""
    schema = command.get("options") or []
    if path:
        sub = next(
            (o for o in schema if o["name"] == path[0] and o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)),
            None,
        )
        if sub is None:
            raise CommandNotRegistered(f"{command['name']} {path[0]}")
        inner = build_options(sub, path[1:], values)
        return [{"name": sub["name"], "type": sub["type"], "options": inner}]
    known = {o["name"]: o for o in schema}
    unknown = set(values) - set(known)
    if unknown:
        raise InvalidCommandOptions(f"unknown options {sorted(unknown)}")
    options = []
    for name, spec in known.items():
        if name not in values or values[name] is None:
            if spec.get("required"):
                raise InvalidCommandOptions(f"missing required option {name!r}")
            continue
        options.append({"name": name, "type": spec["type"], "value": _check(spec, values[name])})
    return options


def _check(spec: dict[str, Any], value: Any) -> Any:
    kind, name = spec["type"], spec["name"]
    if kind in (USER, CHANNEL, ROLE):
        return str(getattr(value, "id", value))
    expected = _PY_TYPES.get(kind)
    is_bool = isinstance(value, bool)
    if expected and (not isinstance(value, expected) or (kind != BOOLEAN and is_bool)):
        raise InvalidCommandOptions(f"{name}: expected type {kind}, got {value!r}")
    if kind == STRING:
        if len(value) < spec.get("min_length", 0) or len(value) > spec.get("max_length", 6000):
            raise InvalidCommandOptions(f"{name}: length {len(value)} out of range")
    if kind in (INTEGER, NUMBER):
        low, high = spec.get("min_value", float("-inf")), spec.get("max_value", float("inf"))
        if not low <= value <= high:
            raise InvalidCommandOptions(f"{name}: {value} out of range")
    choices = spec.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise InvalidCommandOptions(f"{name}: {value!r} is not one of the choices")
    return value
