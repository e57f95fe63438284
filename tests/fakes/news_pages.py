"""The markup of the fake news site: two outlets' page templates, an RSS and an Atom feed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from email.utils import format_datetime
from html import escape

from tests.fakes.news_stories import COURIER, HARBOR, Story

#: An entry of the RSS feed whose page is gone (404): indexed from its feed summary.
GONE_PATH = "/harbor/2026/11/harbour-tunnel-tolls.html"
GONE_TITLE = "Harbour tunnel toll to return in February"
GONE_SUMMARY = (
    "Drivers using the harbour tunnel will pay a toll of 3.50 dollars from February, the state "
    "transport department announced on Monday, ending eleven years of free crossings."
)
#: An Atom entry (edition 2) whose page never answers in time: indexed from its summary.
SLOW_PATH = "/courier/slow.html"
SLOW_TITLE = "Valley bus drivers vote to strike over rosters"
SLOW_SUMMARY = (
    "Bus drivers in the Valley voted to strike for three days next week after talks with the "
    "county transit authority over new shift rosters broke down on Thursday evening."
)


def edition_date(edition: int) -> date:
    return date(2026, 11, 20 + edition)


def _iso(day: date, hour: int = 7) -> str:
    return datetime(day.year, day.month, day.day, hour, 30, tzinfo=UTC).isoformat()


def _json_ld(story: Story, graph: bool) -> str:
    item = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": story.headline,
        "datePublished": _iso(story.published),
        "dateModified": _iso(story.modified or story.published, 9),
        "author": {"@type": "Person", "name": story.author},
        "publisher": {"@type": "Organization", "name": story.outlet},
    }
    data = {"@context": "https://schema.org", "@graph": [item]} if graph else item
    return json.dumps(data)


def _paragraphs(story: Story, ad_every: int) -> str:
    out = []
    for i, text in enumerate(story.paragraphs, 1):
        out.append(f"<p>{escape(text)}</p>")
        if i % ad_every == 0 and i < len(story.paragraphs):
            out.append(
                '<div class="ad ad-inline"><span>Advertisement</span>'
                '<a href="https://ads.example/c?id=7">Compare energy tariffs in two minutes</a></div>'
            )
    return "\n".join(out)


def _harbor(story: Story, base: str) -> str:
    related = "".join(
        f'<li><a href="/harbor/related/{i}">{escape(t)}</a></li>' for i, t in enumerate(story.related)
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(story.headline)} | Harbor Times</title>
<link rel="canonical" href="{base}{story.path}?utm_source=canonical&amp;utm_medium=web&amp;gclid=abc123">
<meta property="og:site_name" content="Harbor Times">
<meta property="og:title" content="{escape(story.headline)}">
<meta name="author" content="{escape(story.author)}">
<script type="application/ld+json">{_json_ld(story, graph=False)}</script>
</head><body>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>
<header><a class="logo" href="/harbor/">Harbor Times</a>
<nav><ul><li><a href="/harbor/">Home</a></li><li><a href="/harbor/news">News</a></li>
<li><a href="/harbor/sport">Sport</a></li><li><a href="/harbor/business">Business</a></li>
<li><a href="/harbor/opinion">Opinion</a></li><li><a href="/harbor/weather">Weather</a></li></ul></nav>
<a class="cta" href="/subscribe">Subscribe now</a></header>
<div class="ad ad-leaderboard"><span>Advertisement</span>
<a href="https://ads.example/c?id=1">Refinance today at 3.9 percent, see your rate</a></div>
<main><article>
<h1>{escape(story.headline)}</h1>
<div class="byline">By <span class="author">{escape(story.author)}</span>
<time datetime="{_iso(story.published)}">{story.published:%B %d, %Y}</time></div>
<div class="share"><a href="#">Share on Facebook</a> <a href="#">Share on X</a> <a href="#">Email</a></div>
{_paragraphs(story, ad_every=2)}
</article>
<aside class="related"><h2>Related stories</h2><ul>{related}</ul></aside>
</main>
<footer><p>&copy; 2026 Harbor Times Media. All rights reserved.</p>
<a href="/privacy">Privacy policy</a> <a href="/terms">Terms of use</a></footer>
</body></html>"""


def _courier(story: Story, base: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(story.headline)} - Valley Courier</title>
<link rel="canonical" href="{base}{story.path}?utm_campaign=share&amp;fbclid=IwAR2">
<meta property="og:site_name" content="Valley Courier">
<meta property="article:published_time" content="{_iso(story.published)}">
<script type="application/ld+json">{_json_ld(story, graph=True)}</script>
</head><body>
<div id="top-bar"><a href="/courier/">Valley Courier</a> | <a href="/login">Log in</a> |
<a href="/courier/newsletters">Newsletters</a></div>
<nav class="sections"><a href="/courier/local">Local</a> <a href="/courier/world">World</a>
<a href="/courier/schools">Schools</a> <a href="/courier/obituaries">Obituaries</a></nav>
<div class="container"><div class="story">
<span class="kicker">{"World" if "/world/" in story.path else "Local"}</span>
<h1 class="headline">{escape(story.headline)}</h1>
<p class="meta">{escape(story.author)} &middot; Published {story.published:%d %b %Y}</p>
{_paragraphs(story, ad_every=3)}
<div class="newsletter-box"><h3>Get the Valley Courier in your inbox</h3>
<p>Sign up for our free morning briefing.</p><form><input type="email"><button>Sign up</button></form></div>
</div>
<div class="sidebar"><h3>Most read</h3><ol>
<li><a href="/courier/local/road-works">Road works close Main Street for a week</a></li>
<li><a href="/courier/local/fair">County fair breaks attendance record</a></li>
<li><a href="/courier/schools/exams">Exam results improve in all four high schools</a></li></ol></div>
</div>
<section class="comments"><h3>Comments (12)</h3><p>Log in to join the discussion.</p></section>
<footer>Valley Courier, 14 Mill Road. Copyright 2026.</footer>
</body></html>"""


def article_page(story: Story, base: str) -> str:
    return _harbor(story, base) if story.outlet == HARBOR else _courier(story, base)


def _rss_item(base: str, path: str, title: str, day: date, summary: str) -> str:
    stamp = format_datetime(datetime(day.year, day.month, day.day, 7, 30, tzinfo=UTC))
    return (
        f"<item><title>{escape(title)}</title>"
        f"<link>{base}{path}?utm_source=rss&amp;utm_medium=feed</link>"
        f'<guid isPermaLink="false">{base}{path}</guid><pubDate>{stamp}</pubDate>'
        f"<description>{escape(summary)}</description></item>"
    )


def rss_feed(stories: Sequence[Story], base: str, edition: int) -> str:
    items = [_rss_item(base, s.path, s.headline, s.published, s.paragraphs[0]) for s in stories]
    items.append(_rss_item(base, GONE_PATH, GONE_TITLE, date(2026, 11, 16), GONE_SUMMARY))
    built = format_datetime(datetime.combine(edition_date(edition), datetime.min.time(), UTC))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>{HARBOR}: latest news</title><link>{base}/harbor/</link>
<description>News from Ellisport and the harbour.</description><lastBuildDate>{built}</lastBuildDate>
{"".join(items)}
</channel></rss>"""


def _atom_entry(base: str, link: str, title: str, day: date, updated: date, summary: str) -> str:
    return (
        f'<entry><title>{escape(title)}</title><link rel="alternate" href="{base}{link}"/>'
        f"<id>tag:valleycourier.test,2026:{link}</id><published>{_iso(day)}</published>"
        f"<updated>{_iso(updated, 9)}</updated><summary>{escape(summary)}</summary></entry>"
    )


def atom_feed(stories: Sequence[Story], base: str, edition: int) -> str:
    entries = []
    for s in stories:
        link = "/go/rhine" if "rhine" in s.path else s.path
        entries.append(
            _atom_entry(base, link, s.headline, s.published, s.modified or s.published, s.paragraphs[0])
        )
    if edition >= 2:
        day = edition_date(edition)
        entries.append(_atom_entry(base, SLOW_PATH, SLOW_TITLE, day, day, SLOW_SUMMARY))
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>{COURIER}</title>
<id>tag:valleycourier.test,2026:feed</id><updated>{_iso(edition_date(edition))}</updated>
<link rel="alternate" href="{base}/courier/"/>
{"".join(entries)}
</feed>"""
