"""config/default.yaml is the settings reference the README points at: it holds every setting
of the typed tree, nothing else, and each with a comment saying what it does."""

from __future__ import annotations

import re

import yaml
from pydantic import BaseModel

from config.settings import DEFAULTS_FILE, Settings


def _setting_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            keys |= _setting_keys(kind, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def _yaml_keys(tree: dict[str, object], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, value in tree.items():
        if isinstance(value, dict):
            keys |= _yaml_keys(value, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def test_default_yaml_holds_every_setting_and_no_other() -> None:
    written = _yaml_keys(yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8")))
    assert written == _setting_keys(Settings)


def test_every_setting_in_default_yaml_says_what_it_does() -> None:
    """A comment on the key's line, or on the lines just above it."""
    lines = DEFAULTS_FILE.read_text(encoding="utf-8").splitlines()
    bare = []
    for i, line in enumerate(lines):
        match = re.match(r"^\s*([a-z_]+):\s*(\S.*)?$", line)
        if not match or match.group(2) is None:  # a section heading
            continue
        commented = "#" in match.group(2) or (i > 0 and lines[i - 1].lstrip().startswith("#"))
        if not commented:
            bare.append(line.strip())
    assert bare == []
