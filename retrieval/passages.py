"""Turning articles into llama-index documents and passage nodes (a ``NodeParser``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from llama_index.core.node_parser import NodeParser
from llama_index.core.schema import BaseNode, Document, NodeRelationship, TextNode
from pydantic import Field

from retrieval.models import Article
from retrieval.splitting import split_article

_NAMESPACE = uuid.UUID("6f1c1d38-2d0e-4c55-9a8e-2a3c1c7e9b10")
#: Metadata kept with each passage but not embedded nor indexed for keywords.
HIDDEN_KEYS = ["article_id", "outlet", "published", "url", "sentences"]


def article_document(article: Article) -> Document:
    """A llama-index document whose id is the article's doc id and whose hash covers metadata."""
    return Document(
        id_=article.doc_id,
        text=article.text,
        metadata={
            "title": article.title,
            "outlet": article.outlet,
            "published": article.published.isoformat() if article.published else None,
            "url": article.url,
        },
        excluded_embed_metadata_keys=HIDDEN_KEYS,
        excluded_llm_metadata_keys=HIDDEN_KEYS,
    )


class PassageParser(NodeParser):
    """Sentence-aware passages sized in the embedder's word pieces, with char offsets."""

    max_tokens: int = Field(200, description="Word pieces per passage.")
    overlap: int = Field(1, description="Sentences shared by neighbouring passages.")
    count_tokens: Callable[[str], int] = Field(exclude=True, description="Word-piece counter.")

    @classmethod
    def class_name(cls) -> str:
        return "PassageParser"

    def _parse_nodes(
        self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any
    ) -> list[BaseNode]:
        out: list[BaseNode] = []
        for doc in nodes:
            text = doc.get_content()
            for i, (start, end, sentences) in enumerate(
                split_article(text, self.count_tokens, self.max_tokens, self.overlap)
            ):
                node = TextNode(
                    id_=str(uuid.uuid5(_NAMESPACE, f"{doc.node_id}\x00{i}\x00{doc.hash}")),
                    text=text[start:end],
                    start_char_idx=start,
                    end_char_idx=end,
                    metadata={"article_id": doc.node_id, "sentences": sentences},
                    excluded_embed_metadata_keys=HIDDEN_KEYS,
                    excluded_llm_metadata_keys=HIDDEN_KEYS,
                )
                node.relationships[NodeRelationship.SOURCE] = doc.as_related_node_info()
                out.append(node)
        return out
