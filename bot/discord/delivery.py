"""Sending to Discord through a short outage.

An answer computed while Discord could not be reached is still delivered if it comes back
within ``discord.delivery_retry_s`` (an interaction's token lasts 15 minutes). Only a
connection that could not be made is retried: nothing reached Discord, so nothing is posted
twice. discord.py itself retries rate limits (within ``discord.max_rate_limit_wait_s``,
bot/discord/ratelimits.py), 5xx and (on some systems) resets; this covers
only what it does not, so each failure has one retry layer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: The connection was never made: safe to try again.
UNREACHABLE = (aiohttp.ClientConnectorError,)


async def deliver(send: Callable[[], Awaitable[_T]], within_s: float) -> _T:
    """``await send()``, tried again while Discord cannot be reached, for about ``within_s``."""
    if within_s <= 0:
        return await send()
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(UNREACHABLE),
        stop=stop_after_delay(within_s),
        wait=wait_exponential(multiplier=0.5, max=5),
        before_sleep=lambda state: log.warning(
            "Discord cannot be reached (%s); trying again", state.outcome and state.outcome.exception()
        ),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await send()
    raise AssertionError("unreachable: tenacity either returns or raises")
