"""Fetching pages and feeds from the web: politely, safely, and only as much as needed.

One :class:`Fetcher` per refresh. Every request carries the configured User-Agent, waits for
a per-host slot, and has a wall-clock limit covering headers *and* body. Only http(s) URLs are
fetched; the host is resolved first and every address must be public unless the source is
marked internal (which allows loopback and private addresses; link-local, multicast and
reserved ones are never allowed). Redirects are followed by hand so each hop is checked the
same way. The connection goes to the address that was checked (the URL's host is kept for the
Host header and TLS), so a name that resolves to a public address when checked and to loopback a
moment later cannot send the request anywhere unchecked; the peer is checked again besides.

Bodies are streamed and abandoned past ``max_bytes``; responses of the wrong type are skipped
unread. Conditional requests (ETag / Last-Modified) turn an unchanged page into a 304. Only
timeouts, connection errors, 429 and 5xx are retried (tenacity, here and nowhere else), and a
429 or 5xx whose Retry-After asks for longer than ``backoff_max_s`` is not retried at all.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from config.counts import counted
from config.redaction import redact
from config.settings import FetchSettings

Want = Literal["html", "feed"]
#: resolve(host, port) -> the addresses a connection to host may reach.
Resolver = Callable[[str, int], Awaitable[list[str]]]

_ACCEPT = {
    "html": "text/html,application/xhtml+xml;q=0.9",
    "feed": "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9",
}
_TYPES: dict[Want, frozenset[str]] = {
    "html": frozenset({"text/html", "application/xhtml+xml"}),
    "feed": frozenset(
        {
            "application/rss+xml",
            "application/atom+xml",
            "application/rdf+xml",
            "application/xml",
            "text/xml",
            "application/x-rss+xml",
            "text/plain",
            "text/html",
        }
    ),
}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(Exception):
    """A URL that could not be fetched; ``reason`` is one line for statuses and problem lists."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(redact(f"{url}: {reason}"))
        self.url = url
        self.reason = redact(reason)


class TransientError(FetchError):
    """A failure worth another try: timeout, connection error, 429 or 5xx."""

    def __init__(self, url: str, reason: str, retry_after: float | None = None) -> None:
        super().__init__(url, reason)
        self.retry_after = retry_after


class RefusedURL(FetchError):
    """A URL not fetched for safety: wrong scheme, or an address the source may not reach."""


class Skipped(FetchError):
    """A response not used: not HTML (or not a feed), or larger than the size cap."""


@dataclass(frozen=True, slots=True)
class Validators:
    """What makes the next request for the same URL conditional."""

    etag: str | None = None
    last_modified: str | None = None

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)

    def headers(self) -> dict[str, str]:
        found = {"If-None-Match": self.etag, "If-Modified-Since": self.last_modified}
        return {k: v for k, v in found.items() if v}


@dataclass(frozen=True, slots=True)
class Fetched:
    """A 200 with its body, or a 304 (``not_modified``, empty body); ``charset``: what the
    Content-Type declares, if anything."""

    url: str
    status: int
    body: bytes
    content_type: str
    validators: Validators
    charset: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, without blocking the loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def address_problem(ip: str, internal: bool) -> str | None:
    """Why ``ip`` may not be fetched from (None when it may)."""
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr.is_link_local:
        return "a link-local address"
    if addr.is_loopback:  # before is_reserved, which ::1 also is
        return None if internal else "a loopback address"
    if addr.is_multicast or addr.is_unspecified or addr.is_reserved:
        return "a reserved address"
    if addr.is_private or not addr.is_global:
        return None if internal else "a private address"
    return None


def total_deadline_s(cfg: FetchSettings) -> float:
    """The longest one fetch may take: each try's limit, redirects included, and the waits."""
    return cfg.attempts * cfg.timeout_s * (cfg.max_redirects + 1) + (cfg.attempts - 1) * cfg.backoff_max_s


def _retry_wait(cfg: FetchSettings) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential_jitter(initial=cfg.backoff_initial_s, max=cfg.backoff_max_s)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = exc.retry_after if isinstance(exc, TransientError) and exc.retry_after else 0.0
        return min(max(backoff(state), asked), cfg.backoff_max_s)

    return wait


def _retry_after(response: httpx.Response) -> float | None:
    """The seconds a 429 or 503 asks us to wait: ``Retry-After: 120`` or an HTTP date."""
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None  # not 'nan', 'inf', 1e999
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


class Fetcher:
    """An HTTP client for one refresh; use ``async with Fetcher(cfg) as fetcher``."""

    def __init__(self, cfg: FetchSettings, resolve: Resolver = resolve_host) -> None:
        self.cfg = cfg
        self.resolve = resolve
        self.requests = 0
        # trust_env=False: a proxy from the environment would connect on our behalf and
        # escape the address checks.
        self._client = httpx.AsyncClient(
            headers={"User-Agent": cfg.user_agent},
            follow_redirects=False,
            timeout=httpx.Timeout(cfg.timeout_s),
            limits=httpx.Limits(max_connections=cfg.max_connections),
            trust_env=False,
        )
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self, url: str, *, internal: bool = False, want: Want = "html", validators: Validators | None = None
    ) -> Fetched:
        """The response for ``url`` (following checked redirects), retrying transient failures,
        all within one total deadline (every try's time limit and the waits between them)."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.cfg.attempts),
            wait=_retry_wait(self.cfg),
            reraise=True,
        )
        total = total_deadline_s(self.cfg)
        try:
            async with asyncio.timeout(total):
                async for attempt in retrying:
                    with attempt:
                        return await self._follow(url, internal, want, validators)
        except TimeoutError:
            raise FetchError(url, f"no answer within the {total:g} s total deadline") from None
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _follow(self, url: str, internal: bool, want: Want, validators: Validators | None) -> Fetched:
        current = url
        for _hop in range(self.cfg.max_redirects + 1):
            addresses = await self.check_url(current, internal)
            async with self._slot(current):
                try:
                    async with asyncio.timeout(self.cfg.timeout_s):
                        result = await self._request(current, addresses[0], internal, want, validators)
                except (TimeoutError, httpx.TimeoutException):
                    raise TransientError(current, f"timed out after {self.cfg.timeout_s:g} s") from None
                except httpx.TransportError as exc:
                    raise TransientError(current, f"connection failed ({type(exc).__name__})") from None
                except httpx.RequestError as exc:  # DecodingError: a body its Content-Encoding denies
                    raise FetchError(current, f"the response cannot be read ({type(exc).__name__})") from None
            if isinstance(result, Fetched):
                return result
            current = result
        raise FetchError(url, f"more than {counted(self.cfg.max_redirects, 'redirect')}")

    async def check_url(self, url: str, internal: bool) -> list[str]:
        """The addresses ``url``'s host resolves to; raises :class:`RefusedURL` unless ``url`` is
        http(s) and every one of them is allowed."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RefusedURL(url, "only http and https URLs are fetched")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            addresses = await self.resolve(parts.hostname, port)
        except socket.gaierror as exc:
            error = TransientError if exc.errno == socket.EAI_AGAIN else FetchError
            raise error(url, f"the host {parts.hostname} cannot be resolved ({exc.strerror})") from None
        except (OSError, ValueError) as exc:
            raise FetchError(url, f"the URL cannot be used ({exc})") from None
        if not addresses:
            raise FetchError(url, f"the host {parts.hostname} resolves to no address")
        for ip in addresses:
            problem = address_problem(ip, internal)
            if problem:
                raise RefusedURL(url, f"{parts.hostname} resolves to {problem} ({ip})")
        return addresses

    @asynccontextmanager
    async def _slot(self, url: str) -> AsyncIterator[None]:
        parts = urlsplit(url)
        key = f"{parts.hostname}:{parts.port}"
        semaphore = self._hosts.setdefault(key, asyncio.Semaphore(self.cfg.per_host))
        async with semaphore:
            yield

    async def _request(
        self, url: str, address: str, internal: bool, want: Want, validators: Validators | None
    ) -> Fetched | str:
        """A :class:`Fetched`, or the next URL when the response is a redirect; the connection
        goes to ``address``, the one that was checked."""
        headers = {"Accept": _ACCEPT[want], **(validators.headers() if validators else {})}
        target, host_header, extensions = pinned(url, address)
        headers["Host"] = host_header
        parts = urlsplit(url)
        auth = None
        if parts.username:  # credentials in the URL, sent as httpx would have sent them
            auth = httpx.BasicAuth(unquote(parts.username), unquote(parts.password or ""))
        self.requests += 1
        async with self._client.stream(
            "GET", target, headers=headers, extensions=extensions, auth=auth
        ) as response:
            _check_peer(response, url, internal)
            code = response.status_code
            if code in _REDIRECTS and response.headers.get("location"):
                return urljoin(url, response.headers["location"])
            if code == 304 and validators:
                return Fetched(url, 304, b"", "", validators)
            if code == 429 or code >= 500:
                wait = _retry_after(response)
                if wait is not None and wait > self.cfg.backoff_max_s:
                    # asked to stay away longer than we would wait: no second try now, the
                    # next refresh asks again (this one keeps the page's last good copy)
                    raise FetchError(url, f"HTTP {code}; the server asks to wait {wait:.0f} s")
                raise TransientError(url, f"HTTP {code}", wait)
            if code != 200:
                raise FetchError(url, f"HTTP {code}")
            content_type = _content_type(response, url, want)
            body = await self._read_capped(response, url)
            found = Validators(response.headers.get("etag"), response.headers.get("last-modified"))
            return Fetched(url, 200, body, content_type, found, response.charset_encoding)

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        cap = self.cfg.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise Skipped(url, f"the response is {int(declared):,} bytes, over the {cap:,}-byte cap")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:  # leave the rest unread; closing the stream drops the connection
                raise Skipped(url, f"the response is over the {cap:,}-byte cap")
            chunks.append(chunk)
        return b"".join(chunks)


def pinned(url: str, address: str) -> tuple[str, str, dict[str, Any]]:
    """``url`` with its host replaced by ``address``, the Host header it had, and the request
    extensions that keep TLS checking the certificate against the original host name."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    default = 443 if parts.scheme == "https" else 80
    host_header = host if (parts.port or default) == default else f"{host}:{parts.port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if (parts.port or default) == default else f"[{host}]:{parts.port}"
    extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), host_header, extensions


def _content_type(response: httpx.Response, url: str, want: Want) -> str:
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in _TYPES[want]:
        expected = "an HTML page" if want == "html" else "a feed"
        raise Skipped(url, f"the response is {content_type}, not {expected}")
    return content_type


def _check_peer(response: httpx.Response, url: str, internal: bool) -> None:
    """The address really connected to must be allowed too (DNS may answer differently twice)."""
    stream: Any = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer:
        return
    problem = address_problem(str(peer[0]), internal)
    if problem:
        raise RefusedURL(url, f"the connection reached {problem} ({peer[0]})")
