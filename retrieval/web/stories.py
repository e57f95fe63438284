"""Near-duplicate articles (the same wire story on several sites) grouped into stories.

Each article becomes a MinHash signature of its 5-word shingles; locality-sensitive hashing
(64 bands of 2 rows) proposes pairs, and a pair whose estimated Jaccard similarity reaches the
threshold is one story. A story's id is the doc id of its representative: a full article before
a feed summary, then the earliest published, then the longest text.
"""

from __future__ import annotations

import json
import re
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from retrieval.models import Article

SHINGLE_WORDS = 5
PERMUTATIONS = 128
BANDS = 64
_PRIME = np.uint64((1 << 31) - 1)
_RNG = np.random.default_rng(20261123)  # fixed: signatures must not change between runs
_A = _RNG.integers(1, int(_PRIME), PERMUTATIONS, dtype=np.uint64)
_B = _RNG.integers(0, int(_PRIME), PERMUTATIONS, dtype=np.uint64)
_WORD = re.compile(r"\w+")
SUMMARY_MARK = "(feed summary)"


def shingles(text: str) -> set[int]:
    """32-bit hashes of the text's overlapping 5-word sequences (lower-cased)."""
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE_WORDS:
        return {zlib.crc32(" ".join(words).encode())} if words else set()
    return {
        zlib.crc32(" ".join(words[i : i + SHINGLE_WORDS]).encode())
        for i in range(len(words) - SHINGLE_WORDS + 1)
    }


def signature(text: str) -> np.ndarray:
    """The MinHash signature: for each of 128 hash functions, the least hash of any shingle."""
    found = shingles(text)
    if not found:
        return np.full(PERMUTATIONS, _PRIME, dtype=np.uint64)
    x = np.fromiter(found, dtype=np.uint64, count=len(found))
    hashed = (np.outer(_A, x) + _B[:, None]) % _PRIME
    return hashed.min(axis=1)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures' shingle sets."""
    return float(np.mean(a == b))


def jaccard(a: str, b: str) -> float:
    """Exact Jaccard similarity of two texts' shingle sets (for measuring the threshold)."""
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else 0.0


@dataclass(frozen=True, slots=True)
class Stories:
    """doc id -> story id, where a story id is the doc id of the story's representative."""

    story_of: dict[str, str]

    def representative(self, doc_id: str) -> str:
        return self.story_of.get(doc_id, doc_id)

    def members(self, story_id: str) -> list[str]:
        return sorted(d for d, s in self.story_of.items() if s == story_id)

    def groups(self) -> dict[str, list[str]]:
        """Stories of more than one article, by story id."""
        found: dict[str, list[str]] = defaultdict(list)
        for doc_id, story in sorted(self.story_of.items()):
            found[story].append(doc_id)
        return {s: m for s, m in found.items() if len(m) > 1}

    def write(self, path: Path) -> None:
        from retrieval.catalog import write_atomically

        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps({"stories": self.groups()}, indent=1, sort_keys=True))

    @classmethod
    def read(cls, path: Path) -> Stories:
        """The grouping written by :meth:`write`; empty when there is none."""
        try:
            groups = json.loads(path.read_text(encoding="utf-8"))["stories"]
        except (OSError, ValueError, KeyError):
            return cls({})
        return cls({doc_id: story for story, members in groups.items() for doc_id in members})


def _candidate_pairs(signatures: Sequence[np.ndarray]) -> set[tuple[int, int]]:
    rows = PERMUTATIONS // BANDS
    pairs: set[tuple[int, int]] = set()
    for band in range(BANDS):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        for i, sig in enumerate(signatures):
            buckets[sig[band * rows : (band + 1) * rows].tobytes()].append(i)
        for members in buckets.values():
            pairs.update((a, b) for n, a in enumerate(members) for b in members[n + 1 :])
    return pairs


def _rank(article: Article) -> tuple[bool, date, int, str]:
    return (
        SUMMARY_MARK in article.source,
        article.published or date.max,
        -len(article.text),
        article.doc_id,
    )


def group_stories(articles: Iterable[Article], threshold: float) -> Stories:
    """Every article's story: near-duplicates (estimated Jaccard >= ``threshold``) share one."""
    items = list(articles)
    signatures = [signature(a.text) for a in items]
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in _candidate_pairs(signatures):
        if similarity(signatures[a], signatures[b]) >= threshold:
            parent[root(a)] = root(b)
    groups: dict[int, list[Article]] = defaultdict(list)
    for i, article in enumerate(items):
        groups[root(i)].append(article)
    story_of: dict[str, str] = {}
    for members in groups.values():
        representative = min(members, key=_rank).doc_id
        story_of.update({m.doc_id: representative for m in members})
    return Stories(story_of)
