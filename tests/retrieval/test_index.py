"""Incremental reindex: unchanged articles are not re-embedded; interrupted runs lose nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from prompts.desk import Desk
from retrieval.backends import embedded
from retrieval.catalog import current_generation
from retrieval.index import ReindexBusy
from retrieval.sources import CorpusError


def test_incremental_reindex_embeds_only_what_changed(
    tmp_path: Path, settings: Settings, corpus_copy: Path
) -> None:
    desk = Desk.open(settings, tmp_path / "data", build=False)
    first = desk.reindex(corpus_copy)
    assert (first.added, first.embedded) == (5, first.passages)

    again = desk.reindex(corpus_copy)
    assert (again.unchanged, again.embedded, again.added, again.changed) == (5, 0, 0, 0)

    path = corpus_copy / "004_b7190532bde7290f.txt"
    path.write_text(
        path.read_text(encoding="utf-8") + "\nPutin later added a closing remark.\n", encoding="utf-8"
    )
    (corpus_copy / "003_8ede539651f993fa.txt").unlink()
    changed = desk.reindex(corpus_copy)
    assert (changed.changed, changed.removed, changed.unchanged) == (1, 1, 3)
    assert 0 < changed.embedded <= 5
    assert "003_8ede539651f993fa" not in desk.catalog.articles
    assert all(h.passage.doc_id != "003_8ede539651f993fa" for h in desk.search("Katrina Yu Al Jazeera", k=20))
    assert "closing remark" in desk.ask_offline("What closing remark did Putin add?").text
    desk.close()


def test_a_first_build_stopped_half_way_is_continued_from_its_folder_not_the_sample(
    tmp_path: Path, settings: Settings, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during 'newsdesk index --corpus X', then 'newsdesk ask': the ask builds from X."""
    (corpus_copy / "ferry.txt").write_text(
        "Ferry strike\n\n" + "Ferry crews in Tallinn stopped work over pay on Friday. " * 30, "utf-8"
    )

    def stop(*args: object) -> None:
        raise KeyboardInterrupt

    desk = Desk.open(settings, tmp_path / "data", build=False)
    with monkeypatch.context() as mp:
        mp.setattr(embedded, "build_catalog", stop)
        with pytest.raises(KeyboardInterrupt):
            desk.reindex(corpus_copy)
    desk.close()
    assert current_generation(tmp_path / "data" / "index") is None
    asking = Desk.open(settings, tmp_path / "data")  # what 'ask' does when there is no index
    assert asking.search("Ferry crews in Tallinn", k=1)[0].passage.doc_id == "ferry"
    asking.close()


def test_a_run_killed_half_way_leaves_the_last_good_index(
    tmp_path: Path, settings: Settings, corpus_copy: Path
) -> None:
    desk = Desk.open(settings, tmp_path / "data", build=False)
    desk.reindex(corpus_copy)
    good = current_generation(desk.index_root)
    (corpus_copy / "new.txt").write_text(
        "Fresh talks\n\n" + "Delegates met again in Beijing today. " * 40, encoding="utf-8"
    )

    def die(folder: Path, nodes: list) -> None:  # after vectors and docstore were written
        raise KeyboardInterrupt("killed")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(embedded, "write_bm25", die)
        with pytest.raises(KeyboardInterrupt):
            desk.reindex(corpus_copy)
    assert current_generation(desk.index_root) == good
    assert desk.ask_offline("Who is the head of Rosneft?").grounded
    desk.close()

    reopened = Desk.open(settings, tmp_path / "data")
    report = reopened.reindex(corpus_copy)
    assert report.added == 1
    assert not list(reopened.index_root.glob("building-*"))
    assert len(list(reopened.index_root.glob("gen-*"))) == 1
    reopened.close()


def _held(started: threading.Event, release: threading.Event) -> Callable[[Path, Sequence[Any]], None]:
    original = embedded.write_bm25

    def write(folder: Path, nodes: Sequence[Any]) -> None:
        started.set()
        release.wait(10)
        original(folder, nodes)

    return write


def test_a_second_reindex_at_once_is_refused(
    tmp_path: Path, settings: Settings, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = Desk.open(settings, tmp_path / "data", build=False)
    started, release = threading.Event(), threading.Event()
    monkeypatch.setattr(embedded, "write_bm25", _held(started, release))
    worker = threading.Thread(target=desk.reindex, args=(corpus_copy,))
    worker.start()
    try:
        assert started.wait(30)
        with pytest.raises(ReindexBusy):
            desk.reindex(corpus_copy)
    finally:
        release.set()
        worker.join()
    desk.close()


def test_questions_are_answered_during_a_reindex(
    tmp_path: Path, settings: Settings, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = Desk.open(settings, tmp_path / "data", build=False)
    desk.reindex(corpus_copy)
    (corpus_copy / "004_b7190532bde7290f.txt").write_text(
        "Changed\n\n" + "Entirely new text here. " * 30, encoding="utf-8"
    )
    started, release = threading.Event(), threading.Event()
    monkeypatch.setattr(embedded, "write_bm25", _held(started, release))
    worker = threading.Thread(target=desk.reindex, args=(corpus_copy,))
    worker.start()
    try:
        assert started.wait(30)
        assert "Shulginov" in desk.ask_offline("Who was in Russia's six-person delegation?").text
    finally:
        release.set()
        worker.join()
    assert "Shulginov" not in desk.ask_offline("Who was in Russia's six-person delegation?").text
    desk.close()


def test_colliding_ids_never_mix_articles_and_a_deleted_file_leaves_the_index(
    tmp_path: Path, settings: Settings
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    harbour = "The harbour at Velmora reopened to ferries on Monday. " * 12
    mine = "The copper mine at Ostrander closed for repairs this week. " * 12
    (corpus / "x.md").write_text("Harbour reopens\n\n" + harbour, encoding="utf-8")
    (corpus / "x.txt").write_text("Mine closes\n\n" + mine, encoding="utf-8")
    desk = Desk.open(settings, tmp_path / "data", build=False)
    first = desk.reindex(corpus)
    assert (first.added, [p.source for p in first.problems]) == (1, ["x.txt"])
    assert desk.catalog.articles["x"].title == "Harbour reopens"
    assert all("Ostrander" not in h.passage.text for h in desk.search("copper mine Ostrander", k=10))

    (corpus / "x.md").unlink()  # x.txt now owns the id: its text, under its own headline
    second = desk.reindex(corpus)
    assert (second.changed, second.removed) == (1, 0)
    assert desk.catalog.articles["x"].title == "Mine closes"
    hits = desk.search("harbour Velmora ferries", k=10)
    assert all("Velmora" not in h.passage.text for h in hits)
    desk.close()


def test_a_renamed_file_and_a_copy_removed_again_leave_no_passage_behind(
    tmp_path: Path, settings: Settings
) -> None:
    """Articles with the same text share a docstore hash; each must still leave when its file does."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = "Tunnel toll rises\n\n" + "The Eastbay tunnel toll rises to four dollars in March. " * 8
    (corpus / "tunnel.md").write_text(text, encoding="utf-8")
    (corpus / "tunnel-copy.md").write_text(text, encoding="utf-8")
    (corpus / "ferry.md").write_text("Ferry\n\n" + "The ferry runs every hour. " * 8, encoding="utf-8")
    desk = Desk.open(settings, tmp_path / "data", build=False)
    desk.reindex(corpus)

    (corpus / "tunnel-copy.md").unlink()
    (corpus / "tunnel.md").rename(corpus / "tolls.md")  # the same text under a new name
    report = desk.reindex(corpus)
    assert (report.added, report.removed, report.unchanged) == (1, 2, 1)
    generation = current_generation(tmp_path / "data" / "index")
    assert generation is not None
    held = {node.ref_doc_id for node in embedded.generation_nodes(generation)}
    assert held == {"tolls", "ferry"}  # not 'tunnel' nor 'tunnel-copy'
    found = {h.passage.doc_id for h in desk.search("Eastbay tunnel toll four dollars", k=20)}
    assert "tolls" in found and "tunnel" not in found
    desk.close()


# -- a build killed part way resumes ----------------------------------------------------------

_TOWNS = "Arden Brixley Caldmoor Dunmere Elswick Farrow Galloway Harlow Istead Jarrow Kelburn Lorne".split()


def town_corpus(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        town = f"{_TOWNS[i % len(_TOWNS)]}{i}"
        lines = [f"The council of {town} met on day {d} to discuss item {i * 7 + d}." for d in range(14)]
        text = f"{town} council meets\n\n" + " ".join(lines)
        (folder / f"town-{i:03d}.txt").write_text(text, encoding="utf-8")
    return folder


def _committed(index_root: Path) -> list[Path]:
    return sorted(index_root.glob("building-*/log/[0-9]*.json"))


@dataclass
class KilledBuild:
    """A real ``newsdesk index`` child SIGKILLed part way through a 30-article build, after a
    first build of one article that keeps serving."""

    command: list[str]
    env: dict[str, str]
    data: Path
    corpus: Path
    index_root: Path
    serving: Path | None

    def rerun(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603
            [*self.command, "--corpus", str(self.corpus)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )


def kill_a_build_part_way(
    tmp_path: Path, config_text: str, saved: Callable[[Path], int], at: int
) -> KilledBuild:
    """Build one article, then start a 30-article build and SIGKILL it once ``saved(index root)``
    reaches ``at`` (or after 120 s)."""
    config = tmp_path / "config.yaml"
    config.write_text(config_text, encoding="utf-8")
    data, corpus = tmp_path / "data", town_corpus(tmp_path / "corpus", 30)
    index_root = data / "index"
    command = [sys.executable, "-m", "bot", "--data-dir", str(data), "--config", str(config), "index"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.run(  # noqa: S603
        [*command, "--corpus", str(town_corpus(tmp_path / "small", 1))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "1 added" in first.stdout
    serving = current_generation(index_root)
    build = subprocess.Popen(  # noqa: S603
        [*command, "--corpus", str(corpus)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while saved(index_root) < at and build.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    build.send_signal(signal.SIGKILL)
    build.communicate(timeout=30)
    assert build.returncode == -signal.SIGKILL, "the build ended before it was killed"
    return KilledBuild(command, env, data, corpus, index_root, serving)


def test_a_build_killed_with_sigkill_resumes_from_its_last_saved_batch(
    tmp_path: Path, settings: Settings
) -> None:
    killed = kill_a_build_part_way(
        tmp_path, "store:\n  batch_articles: 2\n", lambda root: len(_committed(root)), 4
    )
    data, corpus, index_root, serving = killed.data, killed.corpus, killed.index_root, killed.serving
    saved = _committed(index_root)
    assert 4 <= len(saved) < 15, "the build was not killed part way"
    batches = [len(json.loads(p.read_text(encoding="utf-8"))["rows"]) for p in saved]
    assert current_generation(index_root) == serving  # the last good index keeps serving

    again = killed.rerun()
    report = desk_report(again.stdout)
    assert (report["added"], report["unchanged"]) == (29, 1)  # town-000 was in the first index
    # what was saved is not embedded again; at most the batch being saved when killed is lost
    assert report["embedded"] <= report["passages"] - sum(batches) + max(batches)
    assert report["embedded"] < report["passages"]
    assert not list(index_root.glob("building-*"))

    fresh = Desk.open(settings, tmp_path / "fresh", build=False)
    fresh.reindex(corpus)
    resumed = Desk.open(settings, data, build=False)
    for query in ("Brixley13 council budget", "Kelburn22 day 5"):
        assert [(h.passage.key, round(h.score, 4)) for h in resumed.search(query, k=5)] == [
            (h.passage.key, round(h.score, 4)) for h in fresh.search(query, k=5)
        ]
    assert resumed.stats().passages == fresh.stats().passages == report["passages"]
    fresh.close()
    resumed.close()


def desk_report(stdout: str) -> dict[str, int]:
    """The counts of ``newsdesk index``'s summary line."""
    import re

    line = next(x for x in stdout.splitlines() if x.startswith("indexed:"))
    counts = {name: int(n) for n, name in re.findall(r"(\d+) (added|changed|removed|unchanged|failed)", line)}
    passages, embedded = re.search(r"(\d+) passages \((\d+) embedded\)", line).groups()  # type: ignore[union-attr]
    return {**counts, "passages": int(passages), "embedded": int(embedded)}


def test_an_index_from_before_dense_vectors_keeps_answering_and_is_rebuilt_on_the_next_change(
    tmp_path: Path, settings: Settings, corpus_copy: Path
) -> None:
    from retrieval.backends.embedded import generation_nodes
    from retrieval.catalog import DENSE_FILE
    from retrieval.store import open_client, vector_store

    desk = Desk.open(settings, tmp_path / "data", build=False)
    built = desk.reindex(corpus_copy)
    desk.close()
    old = current_generation(tmp_path / "data" / "index")
    assert old is not None
    client = open_client(settings.store, old / "qdrant")  # the early layout: vectors only in Qdrant
    with warnings.catch_warnings():  # local mode: payload indexes (warned once per process)
        warnings.simplefilter("ignore")
        vector_store(settings.store, client).add(generation_nodes(old))
    client.close()
    (old / DENSE_FILE).unlink()

    desk = Desk.open(settings, tmp_path / "data", build=False)
    assert desk.ask_offline("Who is the head of Rosneft?").grounded
    (corpus_copy / "new.txt").write_text("Fresh talks\n\n" + "Delegates met in Minsk. " * 30, "utf-8")
    report = desk.reindex(corpus_copy)
    assert (report.added, report.embedded) == (1, report.passages)  # nothing to patch: all embedded
    new = current_generation(desk.index_root)
    assert new is not None and (new / DENSE_FILE).is_file() and not (new / "qdrant").exists()
    assert report.passages > built.passages
    assert desk.search("Delegates met in Minsk", k=3)[0].passage.doc_id == "new"
    desk.close()


def test_a_resumed_build_whose_saved_batch_is_damaged_embeds_that_batch_again(
    tmp_path: Path, settings: Settings
) -> None:
    small = settings.model_copy(update={"store": settings.store.model_copy(update={"batch_articles": 2})})
    corpus = town_corpus(tmp_path / "corpus", 6)

    def die(*args: object) -> None:  # after every batch and the docstore were saved
        raise KeyboardInterrupt("killed")

    desk = Desk.open(small, tmp_path / "data", build=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(embedded, "write_passage_bm25", die)
        with pytest.raises(KeyboardInterrupt):
            desk.reindex(corpus)
    saved = _committed(desk.index_root)
    assert len(saved) == 3
    saved[1].write_text("{not json", encoding="utf-8")  # the second batch is unreadable
    report = desk.reindex(corpus)
    assert report.added == 6
    assert 0 < report.embedded < report.passages  # the first batch was kept, the others redone
    assert desk.search("Caldmoor2 council", k=1)[0].passage.doc_id == "town-002"
    desk.close()


def test_a_plain_reindex_rereads_the_folder_named_last_not_the_sample(
    tmp_path: Path, settings: Settings, corpus_copy: Path
) -> None:
    """``newsdesk index --corpus X`` then ``newsdesk index`` (or the bot's /reindex) must keep
    X's articles, not silently replace them with the bundled sample."""
    mine = tmp_path / "my-articles"
    corpus_copy.rename(mine)
    (mine / "port.txt").write_text(
        "Port strike ends\n\nDock workers returned to the terminal on Tuesday after nine days.\n",
        encoding="utf-8",
    )
    desk = Desk.open(settings, tmp_path / "data", build=False)
    assert desk.reindex(mine).added == 6
    again = desk.reindex()
    assert (again.unchanged, again.added, again.removed) == (6, 0, 0)
    desk.close()

    reopened = Desk.open(settings, tmp_path / "data", build=False)
    assert "port" in reopened.catalog.articles
    shutil.rmtree(mine)
    with pytest.raises(CorpusError, match="no longer a folder; name the folder to index with --corpus"):
        reopened.reindex()
    assert "port" in reopened.catalog.articles  # the index is kept as it was
    reopened.close()


def test_a_reindex_summary_says_1_passage_not_1_passages() -> None:
    from retrieval.ingest import ReindexReport

    assert "; 1 passage (1 embedded)" in ReindexReport(1, 0, 0, 0, 0, 1, 1, 0.5).summary()
    assert "; 3 passages (0 embedded)" in ReindexReport(0, 0, 0, 1, 0, 3, 0, 0.5).summary()
