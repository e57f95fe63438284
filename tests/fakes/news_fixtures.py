"""Fixtures around the fake news site; enabled with ``pytest_plugins`` in tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from config.settings import FetchSettings, Settings, SourceSettings
from tests.fakes.news_site import NewsSite

#: Budgets small enough for fast tests: a slow page (3 s) costs attempts x timeout_s. 1 s, not
#: less: a first request on a loaded 2-core CI box took over 0.3 s twice (a flaky 429 retry test).
FAST_FETCH = FetchSettings(
    timeout_s=1.0,
    max_bytes=200_000,
    per_host=4,
    attempts=2,
    backoff_initial_s=0.01,
    backoff_max_s=0.02,
)


@pytest.fixture
async def news_site() -> AsyncIterator[NewsSite]:
    """A started fake news site on 127.0.0.1 (edition 1)."""
    async with NewsSite(slow_s=3.0) as site:
        yield site


@pytest.fixture
def fast_fetch() -> FetchSettings:
    return FAST_FETCH


def site_settings(site: NewsSite, *sources: dict[str, Any], base: Settings | None = None) -> Settings:
    """Settings whose sources point at ``site``: paths become URLs, sources are internal."""
    built = []
    for spec in sources:
        spec = {"internal": True, **spec}
        if "url" in spec and spec["url"].startswith("/"):
            spec["url"] = site.url(spec["url"])
        if "urls" in spec:
            spec["urls"] = [site.url(u) if u.startswith("/") else u for u in spec["urls"]]
        built.append(SourceSettings.model_validate(spec))
    return (base or Settings()).model_copy(update={"sources": built, "fetch": FAST_FETCH})


RSS = {"name": "harbor-rss", "kind": "feed", "url": "/harbor/rss.xml"}
ATOM = {"name": "courier-atom", "kind": "feed", "url": "/courier/atom.xml"}
LIBRARY_URLS = {"name": "courier-pages", "kind": "urls", "urls": ["/courier/local/library-hours.html"]}


@pytest.fixture
def news_settings(news_site: NewsSite) -> Settings:
    """The RSS feed, the Atom feed and a one-page URL list, all on ``news_site``."""
    return site_settings(news_site, RSS, ATOM, LIBRARY_URLS)
