"""Articles from the web: canonical URLs, extraction from pages, feeds, and story grouping."""

from retrieval.web.extraction import ExtractionError, WebArticle, extract_article
from retrieval.web.feeds import FeedEntry, FeedError, parse_feed
from retrieval.web.stories import Stories, group_stories
from retrieval.web.urls import canonical_url, doc_id_for

__all__ = [
    "ExtractionError",
    "FeedEntry",
    "FeedError",
    "Stories",
    "WebArticle",
    "canonical_url",
    "doc_id_for",
    "extract_article",
    "group_stories",
    "parse_feed",
]
