"""The build log of an embedded generation: batches saved one by one, replayed after a kill."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from retrieval.backends.passage_log import LOG_FOLDER, PassageLog


def _rows(article: str, n: int) -> list[dict[str, str]]:
    return [{"node_id": f"{article}-{i}", "ref_doc_id": article} for i in range(n)]


def _vectors(n: int, value: float) -> np.ndarray:
    return np.full((n, 3), value, dtype=np.float32)


def _keys(log: PassageLog) -> list[str]:
    return [row["node_id"] for row in log.passages()[0]]


def test_passages_come_article_by_article_in_the_order_each_was_split(tmp_path: Path) -> None:
    base = (_rows("b", 2) + _rows("a", 1), np.arange(9, dtype=np.float32).reshape(3, 3))
    log = PassageLog(tmp_path, base)
    rows, matrix = log.passages()
    assert [r["node_id"] for r in rows] == ["a-0", "b-0", "b-1"]
    assert matrix[:, 0].tolist() == [6.0, 0.0, 3.0]  # each vector stays with its row


def test_a_reopened_folder_replays_its_saved_batches_on_top_of_the_base(tmp_path: Path) -> None:
    base = (_rows("old", 2) + _rows("gone", 1), _vectors(3, 0.0))
    log = PassageLog(tmp_path, base)
    log.delete("gone")
    log.commit(_rows("new", 2), _vectors(2, 1.0), ["n"] * 2)
    log.commit(_rows("old", 1), _vectors(1, 2.0), ["o"])  # a changed article replaces its passages

    again = PassageLog(tmp_path, base)
    assert (again.resumed, again.batches) == (3, 2)
    assert _keys(again) == ["new-0", "new-1", "old-0"]
    assert again.passages()[1][:, 0].tolist() == [1.0, 1.0, 2.0]


def test_a_batch_killed_before_its_rows_were_saved_is_not_replayed(tmp_path: Path) -> None:
    log = PassageLog(tmp_path)
    log.commit(_rows("a", 1), _vectors(1, 1.0), ["a"])
    log.commit(_rows("b", 1), _vectors(1, 1.0), ["b"])
    (tmp_path / LOG_FOLDER / "000001.json").unlink()  # killed between the vectors and the rows
    assert _keys(PassageLog(tmp_path)) == ["a-0"]


def test_deletions_without_a_batch_are_saved_by_flush(tmp_path: Path) -> None:
    base = (_rows("a", 1) + _rows("b", 1), _vectors(2, 0.0))
    log = PassageLog(tmp_path, base)
    log.delete("a")  # a changed article that now has no passages
    log.flush()
    assert _keys(PassageLog(tmp_path, base)) == ["b-0"]
    assert log.counts() == {"b": 1}


def test_a_stored_rows_keyword_text_is_the_one_its_node_gave(tmp_path: Path) -> None:
    from llama_index.core.schema import MetadataMode

    from retrieval.backends.passage_log import PassageVectorStore, keyword_text
    from retrieval.models import Article
    from retrieval.passages import PassageParser, article_document

    text = "Harbour reopens\n\n" + "Ferries sail again. " * 20
    article = Article("a", "Harbour reopens", text, "Gazette", None, None, "")
    parser = PassageParser(max_tokens=40, overlap=1, count_tokens=lambda text: len(text.split()))
    nodes = parser.get_nodes_from_documents([article_document(article)])
    for node in nodes:
        node.embedding = [1.0, 0.0]
    log = PassageLog(tmp_path)
    PassageVectorStore(log).add(nodes)
    again = PassageLog(tmp_path)
    rows, texts = again.passages()[0], again.keyword_texts()
    assert len(rows) == len(nodes) > 1
    assert texts == [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
    assert [keyword_text(r) for r in rows] == texts
    assert texts[0].startswith("title: Harbour reopens")
