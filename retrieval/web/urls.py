"""One identity per article: its canonical URL, with tracking parameters and fragments gone."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "_hs")
_TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "_ga",
        "_gl",
        "vero_id",
        "wickedid",
        "ocid",
        "cmpid",
        "ito",
        "icid",
        "ncid",
        "sr_share",
        "smid",
        "at_medium",
        "at_campaign",
        "ref_src",
        "s_cid",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE = re.compile(r"[^a-z0-9._/-]+")
_MOBILE_PREFIXES = ("www.", "m.", "amp.", "mobile.")


#: query parameters that carry a credential (the names config.redaction hides): a source's URL
#: may need one to be fetched, but the article's URL is cited to every reader
_SECRET = frozenset(
    {"password", "passwd", "pwd", "api_key", "api-key", "apikey", "token", "access_token", "secret"}
)


def is_tracking(param: str) -> bool:
    """Whether the query parameter ``param`` leaves the canonical URL: tracking, or a secret."""
    name = param.lower()
    return name in _TRACKING or name.startswith(_TRACKING_PREFIXES) or name in _SECRET


def canonical_url(url: str) -> str:
    """``url`` with scheme and host lower-cased, default port, ``user:password@``, fragment,
    tracking and credential parameters removed, and the remaining query parameters sorted."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.port and parts.port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking(k))
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


def site_of(url: str) -> str:
    """The host without ``www.``/``m.``/``amp.``: two URLs of one site share it."""
    host = (urlsplit(url).hostname or "").lower()
    for prefix in _MOBILE_PREFIXES:
        if host.startswith(prefix):
            return host[len(prefix) :]
    return host


def pick_canonical(fetched_url: str, declared: str | None) -> str:
    """The page's own canonical URL when it is http(s) on the same site, else the fetched URL.

    A page may not claim another site's URL: that would let it replace that site's article.
    """
    if declared:
        parts = urlsplit(declared)
        if parts.scheme in ("http", "https") and site_of(declared) == site_of(fetched_url):
            return canonical_url(declared)
    return canonical_url(fetched_url)


def doc_id_for(url: str) -> str:
    """A stable, readable doc id for a canonical URL: ``web/<host>/<path>~<hash>``."""
    parts = urlsplit(url)
    path = _UNSAFE.sub("-", parts.path.lower()).strip("-/") or "index"
    digest = hashlib.sha256(url.encode()).hexdigest()[:10]
    return f"web/{parts.netloc.lower()}/{path[:80]}~{digest}"
