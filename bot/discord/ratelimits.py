"""A deadline on Discord's rate limits, for every request the bot makes.

Discord answers a request sent too fast with 429 and the seconds to wait (``retry_after``);
discord.py sleeps that long and tries again, up to five times, with no limit of its own. A
429 asking for an hour held an answer (and the asker's "thinking…") for up to five hours.
``discord.max_rate_limit_wait_s`` bounds it: past it the send fails at once with
:class:`discord.RateLimited`, which the one error path turns into a line (bot/discord/errors.py).

discord.py's ``max_ratelimit_timeout`` covers the bot's REST calls (mentions, typing), not the
webhook requests every interaction reply goes through (callbacks, followups, edits); those use
:class:`RateLimitedWebhooks`, installed in discord.py's adapter context by :func:`install`.

A reply Discord takes while saying its bucket is spent (``X-RateLimit-Remaining: 0``) makes
discord.py's adapter sleep ``X-RateLimit-Reset-After`` before the send returns, holding the
handler (and every reply after it on that interaction) with no limit either. Past the same
deadline the bot does not wait: the reply was delivered, and a next one sent too soon gets a
429 that fails it at once, as above.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
from discord.webhook.async_ import AsyncWebhookAdapter, async_context
from multidict import CIMultiDict, CIMultiDictProxy

log = logging.getLogger(__name__)


class RateLimitedWebhooks(AsyncWebhookAdapter):
    """discord.py's webhook adapter whose 429 waits, summed over one request's retries, stay
    within ``max_wait_s``, and whose wait after a reply that spent the bucket does too.
    Subclassed because discord.py reaches its adapter only through ``request``; the override
    hands it a session that looks at each response first."""

    def __init__(self, max_wait_s: float) -> None:
        super().__init__()
        self.max_wait_s = max_wait_s

    async def request(self, route: Any, session: aiohttp.ClientSession, **kwargs: Any) -> Any:
        return await super().request(route, _BoundedSession(session, self.max_wait_s), **kwargs)  # type: ignore[arg-type]


class _BoundedSession:
    """The part of an aiohttp session the adapter uses (``request``), with the wait budget."""

    def __init__(self, session: aiohttp.ClientSession, budget_s: float) -> None:
        self._session = session
        self._left = budget_s

    @contextlib.asynccontextmanager
    async def request(self, method: str, url: Any, **kwargs: Any) -> AsyncIterator[aiohttp.ClientResponse]:
        async with self._session.request(method, url, **kwargs) as response:
            if response.status == 429 and response.headers.get("Via"):  # else discord.py raises
                wait = await _retry_after(response)
                if wait is not None and wait > self._left:
                    raise discord.RateLimited(wait)
                self._left -= wait or 0.0
            elif response.headers.get("X-Ratelimit-Remaining") == "0":
                wait = _reset_after(response)
                if wait is not None and not wait <= self._left:  # NaN too
                    log.info(
                        "Discord says the bot's replies there may go on in %.0f s, longer than "
                        "discord.max_rate_limit_wait_s; not waiting for it",
                        wait,
                    )
                    yield _BucketLeftOpen(response)  # type: ignore[misc]
                    return
                self._left -= wait or 0.0
            yield response


class _BucketLeftOpen:
    """``response`` without ``X-RateLimit-Remaining``, so discord.py does not sleep after it."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        headers = CIMultiDict(response.headers)
        headers.popall("X-Ratelimit-Remaining", None)
        self.headers = CIMultiDictProxy(headers)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._response, name)


def _reset_after(response: aiohttp.ClientResponse) -> float | None:
    """The seconds until a spent bucket refills, as discord.py reads them (``Reset-After``, else
    ``Reset``'s epoch seconds from now); None when neither can be read."""
    try:
        after = response.headers.get("X-Ratelimit-Reset-After")
        if after:
            return float(after)
        return float(response.headers["X-Ratelimit-Reset"]) - time.time()
    except (KeyError, ValueError):
        return None


async def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    """The seconds a 429 asks to wait (its JSON body's ``retry_after``, as discord.py reads it)."""
    try:
        wait = json.loads(await response.text(encoding="utf-8"))["retry_after"]  # the body stays cached
        return float(wait)
    except (ValueError, KeyError, TypeError):
        return None


def install(max_wait_s: float) -> None:
    """Interaction replies made from this context (and tasks it starts) use the bounded adapter."""
    async_context.set(RateLimitedWebhooks(max_wait_s))
