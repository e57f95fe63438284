"""The query worker: results and errors reach the caller, waits end, closing is safe."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from config.errors import RunFailed
from retrieval.query_vectors import QueryVectorTimeout, VectorsAhead


@pytest.fixture
def ahead() -> Iterator[VectorsAhead]:
    worker = VectorsAhead(wait_s=5.0)
    yield worker
    worker.close()


def test_work_runs_on_the_worker_and_its_result_reaches_the_caller(ahead: VectorsAhead) -> None:
    pending = ahead.start(lambda: threading.current_thread().name)
    assert pending.result().startswith("newsdesk-query-vector")


def test_the_workers_error_is_raised_in_the_caller(ahead: VectorsAhead) -> None:
    def broken() -> None:
        raise RunFailed("the index holds 256-dimension vectors")

    pending = ahead.start(broken)
    with pytest.raises(RunFailed, match="256-dimension"):
        pending.result()


def test_a_wait_past_the_deadline_is_one_clear_error() -> None:
    release = threading.Event()
    ahead = VectorsAhead(wait_s=0.05)
    try:
        pending = ahead.start(lambda: release.wait(5))
        with pytest.raises(QueryVectorTimeout, match=r"longer than 0\.05 s"):
            pending.result()
        assert isinstance(QueryVectorTimeout("x"), RunFailed)  # one line and exit 1 in the CLI
    finally:
        release.set()
        ahead.close()


def test_after_close_work_runs_in_the_caller() -> None:
    ahead = VectorsAhead()
    ahead.close()
    assert ahead.start(lambda: threading.current_thread().name).result() == threading.current_thread().name
    with pytest.raises(ZeroDivisionError):
        ahead.start(lambda: 1 / 0).result()


def test_one_worker_pool_serves_every_query(ahead: VectorsAhead) -> None:
    names = {ahead.start(lambda: threading.current_thread().ident).result() for _ in range(50)}
    assert len(names) <= 2  # a long-lived pool, not a thread per query


def test_work_cancelled_by_closing_the_index_is_one_clear_error() -> None:
    release = threading.Event()
    ahead = VectorsAhead(workers=1)
    try:
        ahead.start(lambda: release.wait(5))  # keeps the one worker busy
        queued = ahead.start(lambda: "never run")
        ahead.close()
        with pytest.raises(RunFailed, match="closed"):
            queued.result()
    finally:
        release.set()
