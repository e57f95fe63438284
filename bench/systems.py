"""The systems compared: newsdesk as configured, and the baselines a user would build instead.

Each system ranks whole articles for a question (passages collapsed to their article, first
occurrence kept), so they can be compared at the article level whatever their unit of search.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from bench.data import BenchSet
from config import Settings, load_settings
from retrieval.catalog import Catalog, current_generation
from retrieval.models import Article

RANK_DEPTH = 10


def first_unique(doc_ids: list[str], n: int = RANK_DEPTH) -> list[str]:
    return list(dict.fromkeys(doc_ids))[:n]


def bench_settings(data_dir: Path, provider: str | None = None) -> Settings:
    """The default settings over ``data_dir``; ``provider``: the embedder its index was built with."""
    if provider:
        return load_settings(data_dir=str(data_dir), embedding={"provider": provider})
    return load_settings(data_dir=str(data_dir))


# -- newsdesk --------------------------------------------------------------------------------


def newsdesk_dir(work: Path, bset: BenchSet) -> Path:
    return work / f"newsdesk-{bset.name}"


def has_index(data_dir: Path, bset: BenchSet) -> bool:
    generation = current_generation(data_dir / "index")
    if generation is None:
        return False
    return set(Catalog.read(generation).articles) == {a.doc_id for a in bset.articles}


def build_newsdesk(
    data_dir: Path, articles: list[Article], embedder: Any = None, rebuild: bool = True, progress: Any = None
) -> Any:
    """Index ``articles`` with newsdesk's own builder; returns its ReindexReport."""
    from retrieval.backends import open_backend
    from retrieval.embedding import build_embedder
    from retrieval.index import build_generation

    settings = bench_settings(data_dir)
    embedder = embedder or build_embedder(settings.embedding)
    return build_generation(
        open_backend(settings),
        settings,
        data_dir / "index",
        embedder,
        articles,
        [],
        rebuild=rebuild,
        progress=progress,
    )


def ensure_newsdesk(work: Path, bset: BenchSet) -> Path:
    """The newsdesk index of ``bset``: built when missing; otherwise brought up to date by a
    normal reindex (instant when nothing changed; fills in what a newer core adds, unembedded)."""
    data_dir = newsdesk_dir(work, bset)
    if not has_index(data_dir, bset):
        shutil.rmtree(data_dir, ignore_errors=True)
        build_newsdesk(data_dir, bset.articles)
    else:
        build_newsdesk(data_dir, bset.articles, rebuild=False)
    return data_dir


class Newsdesk:
    """newsdesk's hybrid retrieval and offline answer, through the public Desk."""

    name = "newsdesk"

    def __init__(
        self, data_dir: Path, asked_on: dict[str, date | None] | None = None, provider: str | None = None
    ) -> None:
        from prompts.desk import Desk
        from prompts.timeframes import local_today

        self.asked_on = asked_on or {}
        self._day: date | None = None
        # one clock for the whole desk: the day the question being answered was asked
        settings = bench_settings(data_dir, provider)
        self.desk = Desk.open(settings, data_dir, build=False, today=lambda: self._day or local_today())
        self.depth = self.desk.settings.search.candidates

    def _as_of(self, question: str) -> None:
        """Read "this week" in a question as of the day it was asked (the quiz's date)."""
        self._day = self.asked_on.get(question)

    def rank(self, question: str) -> list[str]:
        self._as_of(question)
        hits = self.desk.search(question, k=self.depth)
        return first_unique([h.passage.doc_id for h in hits])

    def retrieve(self, question: str) -> Any:
        self._as_of(question)
        return self.desk.search(question)

    def answer(self, question: str) -> Any:
        self._as_of(question)
        return self.desk.ask_offline(question)

    def close(self) -> None:
        self.desk.close()


class NewsdeskDense:
    """(d) dense alone: newsdesk's passages and Qdrant collection, no BM25, no fusion."""

    name = "dense"

    def __init__(self, newsdesk: Newsdesk) -> None:
        # the core has no public dense-only search: use the searcher's own dense step (exact
        # numpy search over dense.npy, or Qdrant when a server is configured)
        self.searcher = newsdesk.desk.searcher
        self.depth = newsdesk.depth

    def rank(self, question: str) -> list[str]:
        from retrieval.search import Filters

        vector = self.searcher.encoder.embed_query(question)
        hits = self.searcher.source.dense(vector, self.depth, Filters())
        return first_unique([passage.doc_id for passage, _ in hits])


class NewsdeskKeyword:
    """newsdesk's own BM25 over its passages, alone (an ablation, not a baseline)."""

    name = "newsdesk-bm25-passages"

    def __init__(self, newsdesk: Newsdesk) -> None:
        from retrieval.backends.embedded import EmbeddedSource

        source = newsdesk.desk.searcher.source
        self.keyword = source.passages if isinstance(source, EmbeddedSource) else None
        self.depth = newsdesk.depth

    def rank(self, question: str) -> list[str]:
        if self.keyword is None:
            return []
        hits = self.keyword.search(question, self.depth, None)
        return first_unique([self.keyword.passage(i).doc_id for i, _ in hits])


# -- (c) BM25 over whole articles --------------------------------------------------------------


class Bm25Articles:
    """bm25s over whole articles (title and cleaned body), English stemmer and stop words."""

    name = "bm25-articles"

    def __init__(self, articles: list[Article]) -> None:
        import bm25s
        import Stemmer

        self._bm25s = bm25s
        self.stemmer = Stemmer.Stemmer("english")
        self.ids = [a.doc_id for a in articles]
        tokens = bm25s.tokenize(
            [a.text for a in articles], stopwords="en", stemmer=self.stemmer, show_progress=False
        )
        self.index = bm25s.BM25()
        self.index.index(tokens, show_progress=False)

    def rank(self, question: str, depth: int = RANK_DEPTH) -> list[str]:
        tokens = self._bm25s.tokenize(question, stopwords="en", stemmer=self.stemmer, show_progress=False)
        k = min(depth, len(self.ids))
        docs, scores = self.index.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [self.ids[int(d)] for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


class AsOfQuizDate:
    """A control, not a product: BM25 over whole articles that only returns articles published on
    or before the day the question was asked (a reader on that day could not have seen later ones,
    and the judged labels count them as not relevant)."""

    name = "bm25-articles-asof"

    def __init__(
        self,
        ranker: Bm25Articles,
        articles: list[Article],
        asked_on: dict[str, date | None],
        depth: int = 100,
    ) -> None:
        self.ranker = ranker
        self.published = {a.doc_id: a.published for a in articles}
        self.asked_on = asked_on
        self.depth = depth

    def rank(self, question: str) -> list[str]:
        day = self.asked_on.get(question)
        ranked = self.ranker.rank(question, depth=self.depth)
        if day is None:
            return ranked[:RANK_DEPTH]
        kept = [d for d in ranked if (self.published.get(d) or day) <= day]
        return kept[:RANK_DEPTH]


# -- (b) the llama-index default ---------------------------------------------------------------


def llama_dir(work: Path, bset: BenchSet) -> Path:
    return work / f"llamaindex-{bset.name}"


def build_llama_default(articles: list[Article], embed_model: Any = None) -> Any:
    """What the docs' starter example does: documents in, VectorStoreIndex out (default
    SentenceSplitter 1024/200, in-memory SimpleVectorStore), with the same MiniLM embedder."""
    from llama_index.core import Document, VectorStoreIndex

    from retrieval.embedding import MiniLMEmbedding

    documents = [Document(text=a.text, id_=a.doc_id) for a in articles]
    return VectorStoreIndex.from_documents(documents, embed_model=embed_model or MiniLMEmbedding())


def ensure_llama_default(work: Path, bset: BenchSet, embed_model: Any = None) -> tuple[Any, float | None]:
    """The default index for ``bset``, persisted under ``work`` and reloaded when it is there;
    returns (index, build seconds or None when it was loaded)."""
    import time

    from llama_index.core import StorageContext, load_index_from_storage

    from retrieval.embedding import MiniLMEmbedding

    folder = llama_dir(work, bset)
    marker = folder / "docs.json"
    embed_model = embed_model or MiniLMEmbedding()
    wanted = sorted(a.doc_id for a in bset.articles)
    if marker.is_file() and json.loads(marker.read_text()) == wanted:
        context = StorageContext.from_defaults(persist_dir=str(folder))
        return load_index_from_storage(context, embed_model=embed_model), None
    started = time.perf_counter()
    index = build_llama_default(bset.articles, embed_model)
    seconds = time.perf_counter() - started
    shutil.rmtree(folder, ignore_errors=True)
    index.storage_context.persist(persist_dir=str(folder))
    marker.write_text(json.dumps(wanted))
    return index, seconds


class LlamaDefault:
    """(b) retrieval and a query engine over the default index, as a user would write them.
    The query engine's LLM is llama-index's MockLLM: its time is the framework's, not a model's."""

    name = "llamaindex-default"

    def __init__(self, index: Any, top_k: int = 30) -> None:
        from llama_index.core.llms import MockLLM

        self.index = index
        self.ranker = index.as_retriever(similarity_top_k=top_k)
        self.retriever = index.as_retriever()  # default similarity_top_k=2
        self.engine = index.as_query_engine(llm=MockLLM(max_tokens=64))

    def rank(self, question: str) -> list[str]:
        return first_unique([n.node.ref_doc_id for n in self.ranker.retrieve(question)])

    def retrieve(self, question: str) -> Any:
        return self.retriever.retrieve(question)

    def answer(self, question: str) -> Any:
        return self.engine.query(question)
