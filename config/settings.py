"""The one typed settings tree: ``default.yaml`` merged with the user's file, validated.

Secrets are never read from YAML: a section names the environment variable that holds its
secret, and :meth:`Settings.secret` reads it when a client is built.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from config.errors import UserError
from config.redaction import remember

DEFAULTS_FILE = Path(__file__).with_name("default.yaml")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class ConfigError(UserError, ValueError):
    """A configuration file that cannot be used; the message says what to change."""


def _looks_like_secret(value: str) -> bool:
    """A value that is not an environment variable's name, or one that reads like a key or token
    (long, with both lower-case letters and digits) rather than a name like OPENAI_API_KEY."""
    if not _ENV_NAME.match(value):
        return True
    return len(value) >= 20 and any(c.islower() for c in value) and any(c.isdigit() for c in value)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _env_names_are_names(cls, value: Any, info: Any) -> Any:
        if str(info.field_name).endswith("_env") and isinstance(value, str) and _looks_like_secret(value):
            raise ValueError(
                "must be the NAME of an environment variable (like OPENAI_API_KEY) that holds the secret, "
                "not the secret itself; the value is not repeated here"
            )
        return value


class CorpusSettings(_Section):
    path: Path | None = Field(None, description="Folder of articles; null = bundled sample corpus.")
    manifest: str = Field("manifest.yaml", description="Metadata file inside the corpus folder.")


class EmbeddingSettings(_Section):
    provider: Literal["minilm", "minilm-l3", "wordllama", "openai"] = Field(
        "minilm",
        description="Embedding backend: minilm (bundled), minilm-l3 or wordllama (the fast extra), openai.",
    )
    batch_size: int = Field(4, ge=1, le=256, description="Passages embedded per batch.")
    threads: int = Field(2, ge=1, le=64, description="onnxruntime intra-op threads.")
    int8_queries: bool = Field(
        True,
        description=(
            "minilm: embed questions with int8 matrix products (~1.8x faster; passages stay float; "
            "false = the float graph, for bit-for-bit rankings of older releases)."
        ),
    )
    model: str = Field("text-embedding-3-small", description="Model name for provider openai.")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint for provider openai.")
    api_key_env: str = Field("OPENAI_API_KEY", description="Env var holding the embeddings key.")
    timeout_s: float = Field(30.0, gt=0, description="Per-request timeout for provider openai, seconds.")
    retry_budget_s: float = Field(120.0, gt=0, description="Total time for retries of one batch, seconds.")
    max_attempts: int = Field(5, ge=1, le=20, description="Attempts per batch before giving up.")


class SplittingSettings(_Section):
    max_tokens: int = Field(200, ge=32, le=250, description="Word pieces per passage (model max 256).")
    overlap_sentences: int = Field(1, ge=0, le=3, description="Sentences repeated between passages.")


# the postgres backend (PostgreSQL + pgvector) beside Qdrant.
class StoreSettings(_Section):
    backend: Literal["qdrant", "postgres"] = Field("qdrant", description="Vector store backend.")
    url: str | None = Field(None, description="Qdrant server URL; null = local files only.")
    api_key_env: str = Field("QDRANT_API_KEY", description="Env var holding a Qdrant API key.")
    collection: str = Field("newsdesk", min_length=1, description="Collection name.")
    postgres_dsn_env: str = Field(
        "NEWSDESK_POSTGRES_DSN", description="Env var holding the PostgreSQL DSN (backend postgres)."
    )
    table: str = Field(
        "newsdesk", pattern=r"^[a-z][a-z0-9_]{0,23}$", description="Table name prefix (backend postgres)."
    )
    hnsw_m: int = Field(16, ge=4, le=100, description="pgvector HNSW links per node.")
    hnsw_ef_construction: int = Field(128, ge=8, le=1000, description="pgvector HNSW build list size.")
    hnsw_ef_search: int = Field(100, ge=1, le=1000, description="pgvector HNSW search list size.")
    keyword_budget: int = Field(
        1000,
        ge=10,
        le=1_000_000,
        description="Passages a PostgreSQL keyword query ranks at most (those with its rarest words).",
    )
    batch_articles: int = Field(
        64, ge=1, le=9999, description="Articles embedded and saved at once (a killed build loses one batch)."
    )
    poll_s: float = Field(2.0, ge=0, description="Seconds between checks for an index another process built.")
    first_build_wait_s: float = Field(
        600.0, ge=0, description="Seconds to wait for another process's first build of an empty data folder."
    )


class SearchSettings(_Section):
    top_k: int = Field(6, ge=1, le=50, description="Passages returned after fusion and dedup.")
    candidates: int = Field(60, ge=1, le=500, description="Candidates taken from each retriever.")
    rrf_k: int = Field(30, ge=1, description="Reciprocal-rank-fusion constant.")
    article_weight: float = Field(
        1.5, ge=0, le=10, description="Weight of whole-article keyword rank in the fusion."
    )
    duplicate_overlap: float = Field(
        0.5, gt=0, le=1, description="Shared-sentence share above which passages are duplicates."
    )
    dense_weight: float = Field(1.0, ge=0, le=10, description="Weight of the dense passage rank.")
    keyword_weight: float = Field(1.0, ge=0, le=10, description="Weight of the keyword passage rank.")
    recency_weight: float = Field(
        1.0, ge=0, le=10, description="Boost for coverage near the asking date (0 = off)."
    )
    recency_days: float = Field(7.0, gt=0, description="Age in days at which that boost halves.")
    headline_weight: float = Field(
        0.0, ge=0, le=10, description="Boost for headlines sharing the query's words (0 = off)."
    )
    expansion_terms: int = Field(
        0, ge=0, le=50, description="Keywords added from the best articles (0 = no feedback)."
    )
    expansion_docs: int = Field(3, ge=1, le=20, description="Articles the added keywords come from.")
    phrase_weight: float = Field(
        0.0, ge=0, le=10, description="Boost for passages quoting the query's names (0 = off)."
    )
    article_evidence: float = Field(
        0.0, ge=0, le=10, description="Credit from the article's second-best passage (0 = off)."
    )
    rerank_depth: int = Field(
        0, ge=0, le=200, description="Articles the learned re-ranker re-orders (0 = off)."
    )


class AnswerSettings(_Section):
    mode: Literal["extractive", "llm", "auto"] = Field("extractive", description="Answer mode.")
    max_sentences: int = Field(4, ge=1, le=12, description="Sentences in an extractive answer.")
    min_relevance: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Evidence below this similarity does not answer (offline: unless keywords matched it).",
    )
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused.")


class LLMSettings(_Section):
    base_url: str | None = Field(None, description="OpenAI-compatible base URL; null = OpenAI.")
    model: str = Field("gpt-4o-mini", description="Chat model name.")
    api_key_env: str = Field("OPENAI_API_KEY", description="Env var holding the API key.")
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(600, ge=16, description="Completion token limit.")
    timeout_s: float = Field(30.0, gt=0, description="Per-request timeout, seconds.")
    retry_budget_s: float = Field(60.0, gt=0, description="Total time for retries, seconds.")
    max_attempts: int = Field(5, ge=1, le=20, description="Attempts before falling back.")
    backoff_initial_s: float = Field(
        0.5, gt=0, description="First retry waits up to this long (exponential, full jitter)."
    )
    backoff_max_s: float = Field(8.0, gt=0, description="Longest wait between two attempts.")
    max_passages: int | None = Field(
        None, ge=1, description="Passages shown to the model, best first; null = all search returns."
    )
    context_tokens: int | None = Field(
        None,
        ge=256,
        description="The model's context window; prompts are trimmed to fit it with max_tokens to "
        "spare. null = unknown: passages are dropped only when the server says it is too long.",
    )


class DiscordSettings(_Section):
    token_env: str = Field("DISCORD_TOKEN", description="Env var holding the bot token.")
    api_base_url: str | None = Field(None, description="REST base override (proxy or test).")
    gateway_url: str | None = Field(None, description="Gateway URL override (proxy or test).")
    guild_ids: list[int] = Field(default_factory=list, description="Guilds to serve; [] = all.")
    channel_ids: list[int] = Field(default_factory=list, description="Channels; [] = all.")
    mentions: bool = Field(True, description="Answer mentions (needs message content intent).")
    admin_role_ids: list[int] = Field(default_factory=list, description="Roles that may admin.")
    shards: int | Literal["auto"] | None = Field(
        None, description="Shard count (at least 1), 'auto' = Discord's advice; null = one."
    )
    cooldown_s: float = Field(5.0, ge=0, description="Per-user seconds between questions.")
    guild_concurrency: int = Field(2, ge=1, description="Answers computed at once per guild.")
    database: Path | None = Field(None, description="SQLite file; null = in the data dir.")
    history_turns: int = Field(3, ge=0, le=20, description="Earlier turns sent with a follow-up.")
    progress_interval_s: float = Field(
        1.0, ge=0, description="Least seconds between /reindex progress edits."
    )
    delivery_retry_s: float = Field(
        30.0,
        ge=0,
        le=600,
        description="Seconds an answer keeps being sent while Discord cannot be reached (0 = once).",
    )
    shutdown_grace_s: float = Field(
        20.0,
        ge=0,
        le=300,
        description="Seconds a stopping bot lets answers in progress finish (new questions are refused).",
    )
    max_rate_limit_wait_s: float = Field(
        60.0,
        ge=30,
        le=600,
        description="Longest a message waits out Discord's rate limits (429) before it fails with one "
        "line; at least 30 s (discord.py's least).",
    )
    login_timeout_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Seconds the bot waits for Discord to accept its login before it gives up "
        "(exit 1); discord.py's own limit is aiohttp's 5 minutes per request.",
    )

    @field_validator("shards", mode="before")
    @classmethod
    def _at_least_one_shard(cls, value: Any) -> Any:
        """A whole number of at least 1 (0 connected nothing: the bot waited forever, silent) or
        ``auto``, in any case; anything else names both forms (pydantic named only the integer)."""
        if value is None:
            return None
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError("give a number of at least 1, or auto")
        return value


_SOURCE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


def _check_http_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"'{url}' is not an http(s) URL")
    return url.strip()


class SourceSettings(_Section):
    """One place coverage comes from: a folder, a list of article URLs, or an RSS/Atom feed."""

    name: str = Field(..., pattern=_SOURCE_NAME, description="Unique name, used by /reindex source:NAME.")
    kind: Literal["folder", "urls", "feed"] = Field(..., description="folder | urls | feed.")
    path: Path | None = Field(None, description="Folder of articles (kind folder).")
    urls: list[str] = Field(default_factory=list, description="Article URLs (kind urls).")
    url: str | None = Field(None, description="RSS or Atom feed URL (kind feed).")
    outlet: str | None = Field(None, description="Outlet name; null = the site's own name.")
    refresh_minutes: int = Field(60, ge=1, le=10080, description="Minutes between scheduled refreshes.")
    enabled: bool = Field(True, description="Disabled sources are not read; their articles leave the index.")
    internal: bool = Field(False, description="Allow loopback and private addresses (trusted hosts only).")
    max_entries: int = Field(50, ge=1, le=1000, description="Feed entries read per refresh (kind feed).")

    @field_validator("urls")
    @classmethod
    def _urls_are_http(cls, urls: list[str]) -> list[str]:
        return [_check_http_url(u) for u in urls]

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, url: str | None) -> str | None:
        return None if url is None else _check_http_url(url)

    @model_validator(mode="after")
    def _fields_match_kind(self) -> SourceSettings:
        needed = {"folder": ("path", self.path), "urls": ("urls", self.urls), "feed": ("url", self.url)}
        key, value = needed[self.kind]
        if not value:
            raise ValueError(f"source '{self.name}' of kind {self.kind} needs '{key}'")
        for other, (other_key, other_value) in needed.items():
            if other != self.kind and other_value:
                raise ValueError(f"source '{self.name}' of kind {self.kind} cannot have '{other_key}'")
        return self


class FetchSettings(_Section):
    timeout_s: float = Field(15.0, gt=0, description="Whole-request time limit, seconds.")
    max_bytes: int = Field(3_000_000, ge=1024, description="Responses larger than this are skipped.")
    user_agent: str = Field(
        "newsdesk/0.1 (news citation bot; put a contact URL here)",
        min_length=1,
        description="User-Agent sent with every request.",
    )
    per_host: int = Field(2, ge=1, le=32, description="Requests at once to one host.")
    max_connections: int = Field(16, ge=1, le=256, description="Requests at once in all.")
    max_redirects: int = Field(5, ge=0, le=20, description="Redirect hops followed (each re-checked).")
    attempts: int = Field(3, ge=1, le=10, description="Tries on timeouts, connection errors, 429, 5xx.")
    backoff_initial_s: float = Field(0.5, gt=0, description="First retry waits about this long.")
    backoff_max_s: float = Field(10.0, gt=0, description="Longest wait between two tries.")
    story_threshold: float = Field(
        0.5, gt=0, le=1, description="Shingle similarity above which articles are one story."
    )


class Settings(_Section):
    data_dir: Path | None = Field(None, description="Index and state folder; null = user data dir.")
    corpus: CorpusSettings = Field(default_factory=CorpusSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    splitting: SplittingSettings = Field(default_factory=SplittingSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    sources: list[SourceSettings] = Field(
        default_factory=list, description="Where coverage comes from; [] = the corpus.path folder only."
    )
    fetch: FetchSettings = Field(default_factory=FetchSettings)

    @field_validator("sources")
    @classmethod
    def _names_unique(cls, sources: list[SourceSettings]) -> list[SourceSettings]:
        seen: set[str] = set()
        for source in sources:
            if source.name.lower() in seen:
                raise ValueError(f"two sources are named '{source.name}'; names must be unique")
            seen.add(source.name.lower())
        return sources

    @staticmethod
    def secret(env_name: str) -> str | None:
        """The secret held by environment variable ``env_name``, or None when unset or empty."""
        value = os.environ.get(env_name, "").strip()
        remember(value)
        return value or None

    def remember_secrets(self) -> None:
        """Have every secret these settings name redacted from all output from now on."""
        for section in (self.embedding, self.store, self.llm, self.discord):
            for name, value in section:
                if name.endswith("_env") and isinstance(value, str):
                    self.secret(value)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(f"config file {path} is not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, not {type(data).__name__}")
    return data


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The settings model inside ``annotation`` (``X``, ``X | None``, ``list[X]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_in, get_args(annotation)) if m is not None), None)


def _keys_beside(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the settings model accepts where ``loc``'s last key was found."""
    model: type[BaseModel] | None = Settings
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        model = _model_in(field.annotation) if field is not None else None
    return list(model.model_fields) if model is not None else []


def _where(loc: tuple[int | str, ...]) -> str:
    """``loc`` as the keys a user wrote (``discord.shards``), without pydantic's tag of the union
    member it tried (``discord.shards.int``, ``...constrained-int``)."""
    model: type[BaseModel] | None = Settings
    keys: list[str] = []
    for part in loc:
        if isinstance(part, int):
            keys.append(str(part))
        elif model is not None:
            keys.append(part)
            field = model.model_fields.get(part)
            model = _model_in(field.annotation) if field is not None else None
        # else: below a plain value, a part can only be the union member's tag
    return ".".join(keys)


def _explain(error: ValidationError, source: Path, overrides: dict[str, Any]) -> str:
    """The first error in one line, named by the key the user wrote and where its value came from:
    ``source`` (the user's file, else the defaults), or ``the override`` when ``overrides`` set it."""
    first = error.errors()[0]
    where = _where(first["loc"]) or "(top level)"
    overridden = _set_by(overrides, first["loc"])
    if first["type"] == "extra_forbidden":
        key = str(first["loc"][-1])
        close = difflib.get_close_matches(key, _keys_beside(first["loc"]), n=1, cutoff=0.6)
        guess = f"did you mean '{close[0]}'? " if close else ""
        unknown = "unknown override key" if overridden else f"{source}: unknown key"
        return f"{unknown} '{where}' ({guess}every setting is in {DEFAULTS_FILE})"
    named = f"the override '{where}'" if overridden else f"{source}: '{where}'"
    if str(first["loc"][-1] if first["loc"] else "").endswith("_env"):
        return f"{named}: {first['msg'].removeprefix('Value error, ')}"
    said, got = first["msg"].removeprefix("Value error, "), repr(first.get("input"))
    return f"{named}: {said}" + ("" if got in said else f" (got {got})")


def _set_by(overrides: dict[str, Any], loc: tuple[int | str, ...]) -> bool:
    """Whether the value at ``loc`` (or a list or value above it) was given in ``overrides``."""
    node: Any = overrides
    for part in loc:
        if not isinstance(node, dict):
            return True  # a list or value the override set whole holds the bad part
        if part not in node:
            return False
        node = node[part]
    return bool(loc)


#: Fusion settings tuned for an embedder other than the default MiniLM-L6 (on the tuning half of
#: RealTimeQA; BENCHMARKS.md sections 1b and 9): they apply when that embedder is chosen, unless
#: the user's file or overrides set the value themselves. WordLlama's static vectors rank
#: passages differently from MiniLM's and fuse best with more weight and a sharper rank curve.
EMBEDDER_SEARCH: dict[str, dict[str, Any]] = {
    "wordllama": {"dense_weight": 1.5, "keyword_weight": 0.5, "rrf_k": 15},
}


def load_settings(path: Path | str | None = None, **overrides: Any) -> Settings:
    """Load ``default.yaml``, merge the user's file over it, apply keyword overrides (and the
    chosen embedder's own fusion settings where the user set none), validate."""
    data = _read_yaml(DEFAULTS_FILE)
    source = DEFAULTS_FILE
    user: dict[str, Any] = {}
    if path is not None:
        source = Path(path)
        user = _read_yaml(source)
    given = {key: value for key, value in overrides.items() if value is not None}
    user = _merge(user, given)
    data = _merge(data, user)
    data = _embedder_search(data, user)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, source, given)) from None
    settings.remember_secrets()
    return settings


def _embedder_search(data: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the chosen embedder's :data:`EMBEDDER_SEARCH` values for the search keys
    the user did not set (anything malformed is left for validation to explain)."""
    embedding, search = data.get("embedding"), data.get("search")
    if not isinstance(embedding, dict) or not isinstance(search, dict):
        return data
    tuned = EMBEDDER_SEARCH.get(str(embedding.get("provider")), {})
    mine = user.get("search")
    chosen = mine if isinstance(mine, dict) else {}
    extra = {key: value for key, value in tuned.items() if key not in chosen}
    return {**data, "search": {**search, **extra}} if extra else data
