"""A small news website on 127.0.0.1 for fetching, extraction and refresh tests.

Two outlets (Harbor Times under /harbor/, Valley Courier under /courier/) serve real-looking
article pages: navigation, cookie banner, ads, share buttons, related links, JSON-LD dates and
canonical links carrying tracking parameters. Harbor has an RSS feed, the Courier an Atom
feed; both change when the site moves to edition 2 (``site.publish(2)``). Pages and feeds send
ETags and Last-Modified and answer conditional requests with 304.

The misbehaving corners: /missing (404), /broken (500), /flaky/503 and /flaky/429 (fail,
then work), /busy (429, Retry-After: 3600) and /busy-until (503, Retry-After an HTTP date an
hour ahead), /cafe.html (French in ISO-8859-1, said only by the Content-Type header), /bad-gzip (says
Content-Encoding: gzip of a body that is not),
/courier/slow.html (slower than any test timeout), /huge.html (50 MB, streamed),
/garbage.html, /bad-feed.xml, /files/report.pdf, /files/photo.jpg, and redirects: /go/rhine
(to an article), /to-metadata (to 169.254.169.254), /to-file (to file://), /loop (forever).

    async with NewsSite() as site:
        site.url("/harbor/rss.xml"); site.hits("/harbor/rss.xml"); site.publish(2)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from tests.fakes import news_pages as pages
from tests.fakes.news_stories import EDITION_1, EDITION_2, Story

HUGE_BYTES = 50 * 1024 * 1024
_CHUNK = (b"<p>" + b"All work and no play makes a very long page. " * 40 + b"</p>\n") * 16


@dataclass(frozen=True)
class Hit:
    path: str
    status: int
    user_agent: str
    conditional: bool


class NewsSite:
    def __init__(self, slow_s: float = 10.0) -> None:
        self.edition = 1
        self.slow_s = slow_s
        self.requests: list[Hit] = []
        self.huge_bytes_sent = 0
        self.delay_s = 0.0  # added to every article page, to observe concurrency
        self.delaying = asyncio.Event()  # set once an article page is held back by delay_s
        self.down: dict[str, int] = {}  # path -> status to answer with instead
        self.cut_feeds_at: int | None = None  # serve only this many bytes of each feed
        self.in_flight = 0
        self.max_in_flight = 0
        self._failures: Counter[str] = Counter()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> NewsSite:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- for tests ---------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def publish(self, edition: int) -> None:
        self.edition = edition

    def hits(self, path: str) -> list[Hit]:
        return [h for h in self.requests if h.path == path]

    def stories(self) -> tuple[Story, ...]:
        return EDITION_1 if self.edition == 1 else EDITION_2

    # -- serving -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = await self._route(request)
        finally:
            self.in_flight -= 1
        self.requests.append(
            Hit(
                request.path,
                response.status,
                request.headers.get("User-Agent", ""),
                "If-None-Match" in request.headers or "If-Modified-Since" in request.headers,
            )
        )
        return response

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in self.down:
            return web.Response(status=self.down[path], text="<h1>Unavailable</h1>", content_type="text/html")
        special = {
            "/harbor/rss.xml": self._rss,
            "/courier/atom.xml": self._atom,
            "/huge.html": self._huge,
            "/courier/slow.html": self._slow,
        }
        if path in special:
            return await special[path](request)
        if path in _REDIRECTS:
            return web.Response(status=_REDIRECTS[path][0], headers={"Location": _REDIRECTS[path][1]})
        if path in _FIXED:
            status, content_type, body = _FIXED[path]
            return web.Response(status=status, body=body, content_type=content_type)
        if path.startswith("/flaky/"):
            return self._flaky(request, int(path.rsplit("/", 1)[1]))
        if path in ("/busy", "/busy-until"):
            return _busy(path)
        if path == "/bad-gzip":
            return web.Response(
                body=b"<p>not gzip at all</p>", content_type="text/html", headers={"Content-Encoding": "gzip"}
            )
        if path == "/cafe.html":
            return web.Response(
                body=CAFE_HTML.encode("latin-1"), content_type="text/html", charset="iso-8859-1"
            )
        story = next((s for s in self.stories() if s.path == path), None)
        if story is None:
            return web.Response(status=404, text="<h1>Page not found</h1>", content_type="text/html")
        if self.delay_s:
            self.delaying.set()
            await asyncio.sleep(self.delay_s)
        html = pages.article_page(story, self.base_url)
        return _conditional(request, html, "text/html", story.modified or story.published)

    async def _rss(self, request: web.Request) -> web.StreamResponse:
        harbor = [s for s in self.stories() if s.path.startswith("/harbor/")]
        body = pages.rss_feed(harbor, self.base_url, self.edition)
        if self.cut_feeds_at is not None:
            body = body[: self.cut_feeds_at]
        return _conditional(request, body, "application/rss+xml", pages.edition_date(self.edition))

    async def _atom(self, request: web.Request) -> web.StreamResponse:
        courier = [s for s in self.stories() if s.path.startswith("/courier/")]
        body = pages.atom_feed(courier, self.base_url, self.edition)
        return _conditional(request, body, "application/atom+xml", pages.edition_date(self.edition))

    async def _slow(self, request: web.Request) -> web.StreamResponse:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), timeout=self.slow_s)
        return web.Response(text="<p>Too late.</p>", content_type="text/html")

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        response.enable_chunked_encoding()  # no Content-Length: the client must count
        await response.prepare(request)
        try:
            await response.write(b"<html><body><h1>An enormous page</h1>")
            while self.huge_bytes_sent < HUGE_BYTES and not self._closing.is_set():
                await response.write(_CHUNK)
                self.huge_bytes_sent += len(_CHUNK)
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client hung up, as it should
        return response

    def _flaky(self, request: web.Request, status: int) -> web.Response:
        self._failures[request.path] += 1
        if self._failures[request.path] <= 1:
            return web.Response(status=status, headers={"Retry-After": "0"}, text="try again")
        html = pages.article_page(EDITION_1[1], self.base_url)
        return web.Response(text=html, content_type="text/html")


#: too short for a charset guess: trafilatura's read it as 'aprčs' (cp1250) for 'après'
CAFE_TEXT = (
    "Le café du port a rouvert lundi après trois semaines de travaux, a dit le maire de la ville. "
    "Les pêcheurs ont salué la nouvelle et le marché du matin reprendra dès mercredi prochain."
)
CAFE_HTML = (
    "<html><head><title>Le café du port rouvre</title></head><body><article>"
    f"<h1>Le café du port rouvre</h1><p>{CAFE_TEXT}</p></article></body></html>"
)


def _busy(path: str) -> web.Response:
    """Asked to stay away for an hour, in seconds (/busy) or as an HTTP date (/busy-until)."""
    if path == "/busy":
        return web.Response(status=429, headers={"Retry-After": "3600"}, text="slow down")
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    return web.Response(status=503, headers={"Retry-After": later}, text="maintenance")


def _conditional(request: web.Request, body: str, content_type: str, changed: Any) -> web.Response:
    etag = '"' + hashlib.sha1(body.encode()).hexdigest()[:16] + '"'  # noqa: S324 (not security)
    modified = format_datetime(datetime(changed.year, changed.month, changed.day, 8, tzinfo=UTC), usegmt=True)
    headers = {"ETag": etag, "Last-Modified": modified, "Cache-Control": "max-age=60"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(text=body, content_type=content_type, headers=headers)


_REDIRECTS = {
    "/go/rhine": (301, "/courier/world/rhine-drought-barges.html?utm_source=atom&fbclid=IwAR0xyz"),
    "/to-metadata": (302, "http://169.254.169.254/latest/meta-data/"),
    "/to-file": (302, "file:///etc/passwd"),
    "/loop": (302, "/loop"),
}
_FIXED: dict[str, tuple[int, str, bytes | str]] = {
    "/missing": (404, "text/html", "<h1>Not found</h1>"),
    "/broken": (500, "text/html", "<h1>Internal server error</h1>"),
    "/garbage.html": (200, "text/html", b"<html><<div>>\x00\xff\xfe<<<p %%% </scr" + bytes(range(256)) * 4),
    "/bad-feed.xml": (200, "application/rss+xml", "<html><body><h1>Service unavailable</h1></body></html>"),
    "/files/report.pdf": (200, "application/pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),
    "/files/photo.jpg": (200, "image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(2000)),
}
