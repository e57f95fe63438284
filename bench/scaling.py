"""Indexes of other sizes made from a built one without re-embedding (vectors are reused).

A smaller index takes a subset of the articles; a larger one adds copies of the articles under
changed ids (``<id>~2``, ``<id>~3``, ...). Every copy keeps its passages' text and vectors, so
the result is exactly what indexing those articles would produce, at no embedding cost:
- newsdesk: passages (with vectors) are written through llama-index's ``QdrantVectorStore.add``,
  then the core's own BM25 and dense-matrix writers and a catalog make the generation;
- llama-index default: the nodes, with their embeddings set, go into a new ``VectorStoreIndex``
  (llama-index embeds only nodes without an embedding).
"""

from __future__ import annotations

import shutil
import uuid
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from retrieval import catalog as catalog_module
from retrieval.catalog import CURRENT_FILE, DENSE_FILE, Catalog, current_generation, write_atomically

_NAMESPACE = uuid.UUID("0b7f3a52-5a1e-4d8e-9a39-6b5cbd1a2f11")


def copy_plan(doc_ids: list[str], size: int) -> list[tuple[str, str]]:
    """(new id, source id) pairs: the first ``size`` ids, or all ids then copies up to ``size``."""
    plan: list[tuple[str, str]] = []
    copy = 1
    while len(plan) < size and doc_ids:
        for doc in doc_ids:
            if len(plan) == size:
                break
            plan.append((doc if copy == 1 else f"{doc}~{copy}", doc))
        copy += 1
    return plan


def _renamed(node: Any, new_doc: str, embedding: list[float] | None) -> Any:
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo

    if new_doc == node.ref_doc_id:
        out = node.model_copy(deep=True)
    else:
        out = node.model_copy(deep=True)
        out.id_ = str(uuid.uuid5(_NAMESPACE, f"{node.node_id}\x00{new_doc}"))
        if "article_id" in out.metadata:
            out.metadata["article_id"] = new_doc
        out.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=new_doc)
    out.embedding = embedding
    return out


def newsdesk_nodes(generation: Path) -> list[Any]:
    """The passages of a generation as llama-index nodes with their vectors (no Qdrant read)."""
    import bm25s
    from llama_index.core.vector_stores.utils import metadata_dict_to_node

    rows = list(bm25s.BM25.load(str(generation / "bm25"), load_corpus=True).corpus)
    matrix = np.load(generation / DENSE_FILE)
    nodes = []
    for row, vector in zip(rows, matrix, strict=True):
        node = metadata_dict_to_node(row)
        node.id_ = row["node_id"]
        node.embedding = vector.tolist()
        nodes.append(node)
    return nodes


def derive_newsdesk(
    source_dir: Path,
    target_dir: Path,
    size: int,
    order: list[str] | None = None,
    settings: Any = None,
    with_qdrant: bool = True,
    articles: list[Any] | None = None,
) -> dict[str, Any]:
    """A newsdesk data dir of ``size`` articles made from the index in ``source_dir``."""
    from bench.systems import bench_settings
    from retrieval.backends.embedded import write_bm25, write_dense
    from retrieval.store import open_client, vector_store

    source = current_generation(source_dir / "index")
    if source is None:
        raise FileNotFoundError(f"no index in {source_dir}")
    catalog = Catalog.read(source)
    by_doc: dict[str, list[Any]] = {}
    for node in newsdesk_nodes(source):
        by_doc.setdefault(node.ref_doc_id, []).append(node)
    plan = copy_plan(order or list(catalog.articles), size)
    nodes = [_renamed(n, new, n.embedding) for new, src in plan for n in by_doc.get(src, [])]
    nodes.sort(key=lambda n: (n.ref_doc_id or "", n.start_char_idx or 0))
    shutil.rmtree(target_dir, ignore_errors=True)
    generation = target_dir / "index" / "gen-derived"
    generation.mkdir(parents=True)
    settings = settings or bench_settings(target_dir)
    if with_qdrant:
        client = open_client(settings.store, generation / "qdrant")
        try:
            store = vector_store(settings.store, client)
            with warnings.catch_warnings():  # local Qdrant: payload indexes are server-only
                warnings.filterwarnings("ignore", message="Payload indexes have no effect")
                for i in range(0, len(nodes), 2048):
                    store.add(nodes[i : i + 2048])
        finally:
            client.close()
    write_bm25(generation / "bm25", nodes)
    write_dense(generation / DENSE_FILE, nodes)
    if articles is not None and hasattr(catalog_module, "ARTICLE_BM25"):  # newer cores
        from retrieval.passages import article_document

        by_id = {a.doc_id: a for a in articles}
        documents = [article_document(replace(by_id[src], doc_id=new)) for new, src in plan]
        write_bm25(generation / catalog_module.ARTICLE_BM25, documents)
    entries = {new: replace(catalog.articles[src], doc_id=new) for new, src in plan}
    replace(catalog, articles=entries).write(generation)
    write_atomically(target_dir / "index" / CURRENT_FILE, generation.name)
    return {"articles": len(plan), "passages": len(nodes), "qdrant": with_qdrant}


def derive_llama(index: Any, size: int, order: list[str], embed_model: Any) -> Any:
    """A llama-index default index of ``size`` articles from a built one, vectors reused."""
    from llama_index.core import VectorStoreIndex

    by_doc: dict[str, list[Any]] = {}
    for node in index.docstore.docs.values():
        by_doc.setdefault(node.ref_doc_id, []).append(node)
    store = index.vector_store
    nodes = [
        _renamed(n, new, store.get(n.node_id))
        for new, src in copy_plan(order, size)
        for n in by_doc.get(src, [])
    ]
    return VectorStoreIndex(nodes=nodes, embed_model=embed_model)
