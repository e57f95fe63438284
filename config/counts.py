"""Counts in words for what operators read: '1 article', '2 articles', never '1 articles'.

In config, the lowest layer, so retrieval's status lines, prompts' status and the bot's panels
all say a count the same way.
"""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, the noun plural unless ``n`` is 1 (``plural`` when not noun + 's')."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"
