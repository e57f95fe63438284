"""A query's vector computed while the keyword side of its search runs.

A search needs the query's vector (an onnxruntime run of a few milliseconds, or a call to an
embedding API, either of which releases the GIL) and its keyword candidates (BM25 over the
passages and the whole articles), and neither needs the other. :class:`VectorsAhead` runs the
vector -- and the dense scan that needs it -- on a worker thread while the caller does the
keyword side, so on two cores the shorter of the two is hidden. One executor for the life of
the index, never a thread per query; the caller waits with a deadline, and the worker's error
is raised in the caller as if it had been its own.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Generic, TypeVar

from config.errors import RunFailed

T = TypeVar("T")

#: How long a search waits for a query vector from an in-process encoder: one query takes
#: milliseconds, so this long means the process is starved or stuck, not slow.
LOCAL_WAIT_S = 30.0


class QueryVectorTimeout(RunFailed, TimeoutError):
    """The query's vector did not come within the deadline."""


class Pending(Generic[T]):
    """Work started on the worker; :meth:`result` waits for it (with the deadline)."""

    def __init__(self, future: concurrent.futures.Future[T], wait_s: float) -> None:
        self._future = future
        self._wait_s = wait_s

    def result(self) -> T:
        """The work's result, or its exception raised here; QueryVectorTimeout past the deadline."""
        try:
            return self._future.result(timeout=self._wait_s)
        except concurrent.futures.TimeoutError:
            self._future.cancel()
            raise QueryVectorTimeout(
                f"the question's vector took longer than {self._wait_s:g} s; try again"
            ) from None
        except concurrent.futures.CancelledError:  # the index closed before the work began
            raise RunFailed("the index was closed while the question was being searched") from None


class _Done(Pending[T]):
    """Work run in the caller's thread (the worker is shut down)."""

    def __init__(self, work: Callable[[], T]) -> None:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            future.set_result(work())
        except Exception as exc:  # raised from result(), where the caller expects it
            future.set_exception(exc)
        super().__init__(future, 0.0)


class VectorsAhead:
    """A long-lived worker for query vectors (see the module docstring); thread-safe.

    ``workers``: questions whose vectors can be computed at once (a bot answers several
    people); ``wait_s``: the deadline of :meth:`Pending.result`."""

    def __init__(self, wait_s: float = LOCAL_WAIT_S, workers: int = 2) -> None:
        self.wait_s = wait_s
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="newsdesk-query-vector"
        )

    def start(self, work: Callable[[], T]) -> Pending[T]:
        """``work`` started on the worker (run here, at once, after :meth:`close`)."""
        try:
            return Pending(self._pool.submit(work), self.wait_s)
        except RuntimeError:  # shut down: a search still running as the index closes
            return _Done(work)

    def close(self) -> None:
        """Stop the worker; work already started finishes, nothing waits for it here."""
        self._pool.shutdown(wait=False, cancel_futures=True)
