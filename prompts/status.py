"""What ``newsdesk status`` and Discord's ``/status`` report: one typed snapshot of the desk.

Coverage (articles, passages, outlets, dates), the index generation and its age, the store
backend, the embedder, the answer mode, whether the configured model answers, and each
configured source with its last refresh. Built from a Desk; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from config.counts import counted
from config.errors import one_line
from config.redaction import redact
from config.settings import LLMSettings, Settings
from retrieval.collecting import read_statuses
from retrieval.sources import CorpusError
from retrieval.store import StoreError

#: How long the model probe may take: status must answer even when the model server hangs.
PROBE_S = 2.0


@dataclass(frozen=True, slots=True)
class SourceReport:
    name: str
    kind: str
    enabled: bool
    state: str  # "ok", "FAILED" or "never refreshed"
    articles: int
    last_refresh: str | None
    error: str | None
    #: the last refresh that worked (a failing source serves its articles from then)
    last_success: str | None = None
    #: pages of a source that worked which failed (their last good copies serve)
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class DeskStatus:
    articles: int | None
    passages: int | None
    outlets: tuple[str, ...]
    start: date | None
    end: date | None
    generation: str | None
    built_at: datetime | None
    age_s: float | None
    index_problem: str | None  # no index yet, or one that needs a rebuild
    store: str
    embedder: str
    mode: str
    model: str
    sources: tuple[SourceReport, ...]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("start", "end", "built_at"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        data["outlets"] = list(self.outlets)
        data["sources"] = [asdict(s) for s in self.sources]
        return data

    def lines(self) -> list[str]:
        if self.index_problem:
            index = f"index: {self.index_problem}"
        else:
            age = _age(self.age_s) if self.age_s is not None else "?"
            index = f"index: {self.generation}, built {_when(self.built_at)} ({age} ago)"
        lines = [
            f"articles: {_count(self.articles)}, passages: {_count(self.passages)}",
            f"outlets: {len(self.outlets)}" + (f" ({', '.join(self.outlets[:15])})" if self.outlets else ""),
            f"dates: {self.start or '?'} to {self.end or '?'}",
            index,
            f"store: {self.store}",
            f"embedder: {self.embedder}",
            f"answer mode: {self.mode}",
            f"model: {self.model}",
        ]
        if not self.sources:
            lines.append("sources: none configured (the corpus folder only)")
        for s in self.sources:
            line = f"source {s.name} ({s.kind}): {s.state}, {counted(s.articles, 'article')}"
            line += f", last refresh {_stamp(s.last_refresh)}" if s.last_refresh else ""
            if s.state == "FAILED":  # since when its articles have not been renewed
                line += f", last good {_stamp(s.last_success)}" if s.last_success else ", never good"
            line += f"; error: {s.error}" if s.error else (f"; {s.warning}" if s.warning else "")
            lines.append(line + ("" if s.enabled else " (disabled)"))
        return lines


def desk_status(
    desk: Any, probe: Callable[[Settings], str] | None = None, now: datetime | None = None
) -> DeskStatus:
    """The snapshot for ``desk`` (a :class:`prompts.desk.Desk`); ``probe`` checks the model."""
    settings: Settings = desk.settings
    now = now or datetime.now(UTC)
    stats, generation, problem = None, None, None
    try:
        stats = desk.stats()
        generation = desk.searcher.generation.name
    except (CorpusError, StoreError) as exc:
        # no index yet, one built by another embedder, a damaged one, a database that is down:
        # status is what an operator runs when something is wrong, so it says what, and the rest
        problem = one_line(exc)
    built = stats.last_reindex if stats is not None else None
    mode = desk.resolve_mode(None)
    return DeskStatus(
        articles=stats.articles if stats else None,
        passages=stats.passages if stats else None,
        outlets=tuple(stats.outlets) if stats else (),
        start=stats.start if stats else None,
        end=stats.end if stats else None,
        generation=generation,
        built_at=built,
        age_s=(now - built).total_seconds() if built is not None else None,
        index_problem=redact(problem) if problem else None,
        # server URLs may carry ``user:password@``: every text shown here passes redaction
        store=redact(_store(settings)),
        embedder=redact(_embedder(settings)),
        mode={"extractive": "offline (extractive)", "llm": "model"}.get(mode, mode),
        model=redact((probe or probe_model)(settings)),
        sources=_sources(desk.data_dir, settings),
    )


def probe_model(settings: Settings, deadline_s: float = PROBE_S) -> str:
    """Whether the configured model server answers, asked once with a short deadline."""
    llm: LLMSettings = settings.llm
    if llm.base_url is None and Settings.secret(llm.api_key_env) is None:
        return "not configured"
    import openai

    from retrieval.openai_api import describe_error, sync_client

    where = llm.base_url or "OpenAI"
    client = sync_client(llm.api_key_env, llm.base_url, deadline_s)
    try:
        client.models.list(timeout=deadline_s)
    except openai.APIStatusError as exc:  # it answered: up, if unwilling
        return f"reachable at {where} ({llm.model}), but it answered HTTP {exc.status_code} to /models"
    except (openai.OpenAIError, ValueError) as exc:
        return f"NOT reachable at {where}: {describe_error(exc, client.api_key)}"
    finally:
        client.close()
    return f"reachable at {where} ({llm.model})"


def _sources(data_dir: Any, settings: Settings) -> tuple[SourceReport, ...]:
    statuses = read_statuses(data_dir)
    reports = []
    for source in settings.sources:
        status = statuses.get(source.name)
        if status is None or status.last_attempt is None:
            reports.append(
                SourceReport(source.name, source.kind, source.enabled, "never refreshed", 0, None, None)
            )
            continue
        reports.append(
            SourceReport(
                source.name,
                source.kind,
                source.enabled,
                "ok" if status.ok else "FAILED",
                status.articles,
                status.last_attempt,
                redact(status.last_error) if status.last_error else None,
                status.last_success,
                redact(status.warning) if status.warning else None,
            )
        )
    return tuple(reports)


def _store(settings: Settings) -> str:
    store = settings.store
    if store.backend == "postgres":
        return f"postgres (DSN from ${store.postgres_dsn_env}, tables {store.table}_*)"
    return f"qdrant server {store.url}" if store.url else "qdrant (embedded: local files in the data folder)"


def _embedder(settings: Settings) -> str:
    from retrieval.catalog import embedder_model

    cfg = settings.embedding
    where = f" at {cfg.base_url}" if cfg.provider == "openai" and cfg.base_url else ""
    return f"{cfg.provider} ({embedder_model(cfg)}){where}"


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "?"


def _stamp(iso: str | None) -> str:
    """A source's ISO 8601 UTC time as the index's is shown (``2026-11-30 18:29 UTC``)."""
    try:
        return _when(datetime.fromisoformat(iso)) if iso else "?"
    except ValueError:
        return iso or "?"


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h {minutes % 60} min" if hours < 48 else f"{hours // 24} days"
