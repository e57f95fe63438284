"""The HTTP client against the fake news site: politeness, retries, limits and address safety."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from config.settings import FetchSettings
from retrieval.fetching import (
    Fetcher,
    FetchError,
    RefusedURL,
    Skipped,
    TransientError,
    Validators,
    address_problem,
)
from tests.fakes.news_site import HUGE_BYTES, NewsSite
from tests.fakes.news_stories import EDITION_1, PORT_STRIKE

ARTICLE = PORT_STRIKE.path


async def test_sends_the_configured_user_agent(news_site: NewsSite, fast_fetch: FetchSettings) -> None:
    async with Fetcher(fast_fetch) as fetcher:
        await fetcher.fetch(news_site.url(ARTICLE), internal=True)
    assert news_site.hits(ARTICLE)[0].user_agent == fast_fetch.user_agent


async def test_a_conditional_request_for_an_unchanged_page_gets_a_304(
    news_site: NewsSite, fast_fetch: FetchSettings
) -> None:
    async with Fetcher(fast_fetch) as fetcher:
        first = await fetcher.fetch(news_site.url(ARTICLE), internal=True)
        again = await fetcher.fetch(news_site.url(ARTICLE), internal=True, validators=first.validators)
    assert first.status == 200 and first.validators.etag and first.validators.last_modified
    assert again.not_modified and again.body == b""
    assert [h.status for h in news_site.hits(ARTICLE)] == [200, 304]


async def test_a_changed_page_answers_a_conditional_request_in_full(
    news_site: NewsSite, fast_fetch: FetchSettings
) -> None:
    async with Fetcher(fast_fetch) as fetcher:
        got = await fetcher.fetch(news_site.url(ARTICLE), internal=True, validators=Validators('"stale"'))
    assert got.status == 200 and got.body


@pytest.mark.parametrize("status", [503, 429])
async def test_a_transient_failure_is_retried(
    news_site: NewsSite, fast_fetch: FetchSettings, status: int
) -> None:
    path = f"/flaky/{status}"
    async with Fetcher(fast_fetch) as fetcher:
        got = await fetcher.fetch(news_site.url(path), internal=True)
    assert got.status == 200
    assert [h.status for h in news_site.hits(path)] == [status, 200]


@pytest.mark.parametrize("path", ["/busy", "/busy-until"])
async def test_a_server_that_asks_to_wait_longer_than_we_would_is_not_asked_again(
    news_site: NewsSite, fast_fetch: FetchSettings, path: str
) -> None:
    async with Fetcher(fast_fetch) as fetcher:
        with pytest.raises(FetchError, match=r"the server asks to wait 3[56]\d\d s") as caught:
            await fetcher.fetch(news_site.url(path), internal=True)
    assert not isinstance(caught.value, TransientError)  # the next refresh asks again
    assert len(news_site.hits(path)) == 1


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("120", 120.0), ("-5", 0.0), ("nan", None), ("inf", None), ("1e999", None), ("soon", None), ("", None)],
)
def test_retry_after_is_read_as_seconds_and_nonsense_is_ignored(value: str, seconds: float | None) -> None:
    import httpx

    from retrieval.fetching import _retry_after

    assert _retry_after(httpx.Response(429, headers={"Retry-After": value})) == seconds


async def test_a_body_its_content_encoding_denies_is_one_failed_page(
    news_site: NewsSite, fast_fetch: FetchSettings
) -> None:
    async with Fetcher(fast_fetch) as fetcher:
        with pytest.raises(FetchError, match=r"cannot be read \(DecodingError\)") as caught:
            await fetcher.fetch(news_site.url("/bad-gzip"), internal=True)
    assert not isinstance(caught.value, TransientError)
    assert len(news_site.hits("/bad-gzip")) == 1


async def test_a_server_error_is_tried_the_configured_number_of_times(
    news_site: NewsSite, fast_fetch: FetchSettings
) -> None:
    async with Fetcher(fast_fetch) as fetcher:
        with pytest.raises(TransientError, match="HTTP 500"):
            await fetcher.fetch(news_site.url("/broken"), internal=True)
    assert len(news_site.hits("/broken")) == fast_fetch.attempts


async def test_a_404_is_not_retried(news_site: NewsSite, fast_fetch: FetchSettings) -> None:
    async with Fetcher(fast_fetch) as fetcher:
        with pytest.raises(FetchError, match="HTTP 404") as caught:
            await fetcher.fetch(news_site.url("/missing"), internal=True)
    assert not isinstance(caught.value, TransientError)
    assert len(news_site.hits("/missing")) == 1


async def test_a_slow_page_times_out(news_site: NewsSite, fast_fetch: FetchSettings) -> None:
    started = time.perf_counter()
    async with Fetcher(fast_fetch) as fetcher:
        with pytest.raises(TransientError, match="timed out"):
            await fetcher.fetch(news_site.url("/courier/slow.html"), internal=True)
    assert time.perf_counter() - started < fast_fetch.attempts * fast_fetch.timeout_s + 0.5


async def test_a_50_mb_page_is_cut_at_the_size_cap_without_reading_it_all(
    news_site: NewsSite, fast_fetch: FetchSettings
) -> None:
    async with Fetcher(fast_fetch) as fetcher:
        with pytest.raises(Skipped, match="over the 200,000-byte cap"):
            await fetcher.fetch(news_site.url("/huge.html"), internal=True)
    await asyncio.sleep(0.05)
    assert news_site.huge_bytes_sent < HUGE_BYTES / 5  # socket buffers hold a few MB at most


@pytest.mark.parametrize(
    ("path", "kind"), [("/files/report.pdf", "application/pdf"), ("/files/photo.jpg", "image/jpeg")]
)
async def test_a_non_html_response_is_skipped_with_its_type(
    news_site: NewsSite, fast_fetch: FetchSettings, path: str, kind: str
) -> None:
    async with Fetcher(fast_fetch) as fetcher:
        with pytest.raises(Skipped, match=f"{kind}, not an HTML page"):
            await fetcher.fetch(news_site.url(path), internal=True)


async def test_loopback_is_refused_without_a_request_unless_the_source_is_internal(
    news_site: NewsSite, fast_fetch: FetchSettings
) -> None:
    async with Fetcher(fast_fetch) as fetcher:
        with pytest.raises(RefusedURL, match="loopback"):
            await fetcher.fetch(news_site.url(ARTICLE))
    assert news_site.hits(ARTICLE) == []


async def test_a_redirect_is_followed_to_the_article(news_site: NewsSite, fast_fetch: FetchSettings) -> None:
    async with Fetcher(fast_fetch) as fetcher:
        got = await fetcher.fetch(news_site.url("/go/rhine"), internal=True)
    assert got.url.startswith(news_site.url("/courier/world/rhine-drought-barges.html?"))


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/to-metadata", "link-local address"),  # even an internal source never reaches 169.254/16
        ("/to-file", "only http and https"),
    ],
)
async def test_a_redirect_to_a_forbidden_place_is_refused(
    news_site: NewsSite, fast_fetch: FetchSettings, path: str, reason: str
) -> None:
    async with Fetcher(fast_fetch) as fetcher:
        with pytest.raises(RefusedURL, match=reason):
            await fetcher.fetch(news_site.url(path), internal=True)


async def test_a_redirect_loop_stops(news_site: NewsSite, fast_fetch: FetchSettings) -> None:
    async with Fetcher(fast_fetch) as fetcher:
        with pytest.raises(FetchError, match="more than 5 redirects"):
            await fetcher.fetch(news_site.url("/loop"), internal=True)
    assert len(news_site.hits("/loop")) == fast_fetch.max_redirects + 1


async def test_one_redirect_allowed_is_said_in_the_singular(
    news_site: NewsSite, fast_fetch: FetchSettings
) -> None:
    async with Fetcher(fast_fetch.model_copy(update={"max_redirects": 1})) as fetcher:
        with pytest.raises(FetchError, match=r"more than 1 redirect$"):  # was 'more than 1 redirects'
            await fetcher.fetch(news_site.url("/loop"), internal=True)


async def test_requests_to_one_host_are_limited(news_site: NewsSite, fast_fetch: FetchSettings) -> None:
    news_site.delay_s = 0.05
    cfg = fast_fetch.model_copy(update={"per_host": 2})
    async with Fetcher(cfg) as fetcher:
        await asyncio.gather(*(fetcher.fetch(news_site.url(s.path), internal=True) for s in EDITION_1))
    assert news_site.max_in_flight == 2


async def test_every_address_of_a_name_is_checked(fast_fetch: FetchSettings) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.1.2.3"]

    async with Fetcher(fast_fetch, resolve=resolve) as fetcher:
        with pytest.raises(RefusedURL, match="private address"):
            await fetcher.check_url("https://news.example/a.html", internal=False)
        await fetcher.check_url("https://news.example/a.html", internal=True)


async def test_an_unknown_host_fails_without_retries(fast_fetch: FetchSettings) -> None:
    calls = 0

    async def resolve(host: str, port: int) -> list[str]:
        nonlocal calls
        calls += 1
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async with Fetcher(fast_fetch, resolve=resolve) as fetcher:
        with pytest.raises(FetchError, match="cannot be resolved"):
            await fetcher.fetch("https://no-such-host.invalid/feed.xml")
    assert calls == 1


@pytest.mark.parametrize(
    ("ip", "public", "internal"),
    [
        ("93.184.216.34", None, None),
        ("2606:4700:4700::1111", None, None),
        ("127.0.0.1", "a loopback address", None),
        ("::1", "a loopback address", None),
        ("::ffff:127.0.0.1", "a loopback address", None),
        ("10.0.0.5", "a private address", None),
        ("172.16.9.1", "a private address", None),
        ("192.168.1.20", "a private address", None),
        ("fd00::1", "a private address", None),
        ("100.64.0.1", "a private address", None),
        ("169.254.169.254", "a link-local address", "a link-local address"),
        ("fe80::1", "a link-local address", "a link-local address"),
        ("0.0.0.0", "a reserved address", "a reserved address"),  # noqa: S104
        ("224.0.0.1", "a reserved address", "a reserved address"),
        ("240.0.0.1", "a reserved address", "a reserved address"),
    ],
)
def test_address_rules(ip: str, public: str | None, internal: str | None) -> None:
    assert address_problem(ip, internal=False) == public
    assert address_problem(ip, internal=True) == internal


async def test_the_request_goes_to_the_address_that_was_checked(
    news_site: NewsSite, fast_fetch: FetchSettings
) -> None:
    """DNS rebinding: a second lookup at connect time could answer differently, so there is
    none: the name is resolved once, checked, and the connection goes to that address."""
    lookups: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    port = news_site.base_url.rsplit(":", 1)[1]
    path = EDITION_1[0].path
    async with Fetcher(fast_fetch, resolve=resolve) as fetcher:
        got = await fetcher.fetch(f"http://rebind.invalid:{port}{path}", internal=True)
    assert got.status == 200 and lookups == ["rebind.invalid"]
    assert news_site.hits(path)


def test_pinned_urls_keep_the_host_for_the_header_and_tls() -> None:
    from retrieval.fetching import pinned

    assert pinned("https://news.example/a?b=1", "93.184.216.34") == (
        "https://93.184.216.34/a?b=1",
        "news.example",
        {"sni_hostname": "news.example"},
    )
    assert pinned("http://news.example:8080/x", "2606:4700::1") == (
        "http://[2606:4700::1]:8080/x",
        "news.example:8080",
        {},
    )


async def test_a_fetch_has_one_total_deadline(news_site: NewsSite, fast_fetch: FetchSettings) -> None:
    """Tries, redirects and the waits between them all fit inside one bound."""
    from retrieval.fetching import total_deadline_s

    cfg = fast_fetch.model_copy(update={"attempts": 3, "max_redirects": 0})
    started = time.monotonic()
    async with Fetcher(cfg) as fetcher:
        with pytest.raises(FetchError):
            await fetcher.fetch(news_site.url("/courier/slow.html"), internal=True)
    assert time.monotonic() - started <= total_deadline_s(cfg) + 0.5
