"""Settings: every configuration variable, its default and its validation, in one place.

Values come from the environment and from a `.env` file in the working directory.
`load_settings()` is the only entry point; it turns a bad value into a `ConfigError`
whose message is one line naming the variable, so start-up can print it and exit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

Environment = Literal["development", "production"]
LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["json", "console"]
EmbeddingProviderName = Literal["openai", "local", "auto"]
DatabasePooler = Literal["none", "pgbouncer"]

OPENAI_DEFAULT_MODEL = "text-embedding-3-small"
OPENAI_MODEL_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
LOCAL_EMBEDDING_DIMENSIONS = 384
# How many dependency steps walks and retraction impact take, unless configured.
DEFAULT_MAX_TRAVERSAL_DEPTH = 10


class ConfigError(Exception):
    """A configuration variable has a value the server cannot run with."""


class Settings(BaseSettings):
    """The server's configuration. Field names are the lower-cased variable names."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=False,
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    # The guide's required variables.
    database_url: str | None = None
    openai_api_key: SecretStr | None = None

    # The guide's optional variables, with its defaults.
    environment: Environment = "production"
    log_level: LogLevel = "info"
    log_format: LogFormat = "json"
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    api_key_salt: SecretStr | None = None
    embedding_model: str = OPENAI_DEFAULT_MODEL
    embedding_dimensions_setting: int | None = Field(
        default=None, alias="EMBEDDING_DIMENSIONS", gt=0, le=16000
    )
    database_pool_size: int = Field(default=20, ge=1, le=1000)
    database_max_overflow: int = Field(default=10, ge=0, le=1000)
    database_pool_timeout: float = Field(default=30.0, gt=0)
    max_bundle_claims: int = Field(default=500, ge=1)
    max_traversal_depth: int = Field(default=DEFAULT_MAX_TRAVERSAL_DEPTH, ge=1, le=100)

    # Phiacta's own variables.
    embedding_provider_setting: EmbeddingProviderName = Field(
        default="auto", alias="EMBEDDING_PROVIDER"
    )
    phiacta_data_dir: Path = Path(".phiacta")
    openai_base_url: str | None = None
    embedding_timeout: float = Field(default=30.0, gt=0)
    # paper-ingestion's claim extractor: `heuristic` (offline) or `openai` (a chat model
    # in JSON-schema mode). Unset: openai when OPENAI_API_KEY is set, else heuristic.
    paper_extractor: Literal["heuristic", "openai"] | None = None
    paper_extractor_model: str = "gpt-4o-mini"
    # Off: claims are stored without embeddings (bulk loads); `phiacta embed --missing`
    # fills them in later.
    embed_on_write: bool = True
    statement_timeout_ms: int = Field(default=15_000, ge=0)
    public_reads: bool = True
    # Shortest gap between two background refreshes of the materialized views; 0 = off.
    matview_refresh_seconds: float = Field(default=10.0, ge=0)

    # Read replicas (phiacta/db/replicas.py): queries go to them, writes to DATABASE_URL.
    database_replica_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # A replica further behind than this serves no read until it catches up.
    replica_max_lag_ms: float = Field(default=1000.0, ge=0)
    # How often each replica's replay position and lag are read.
    replica_check_interval_ms: float = Field(default=200.0, gt=0)
    # A replica that failed is tried again after this many seconds.
    replica_retry_seconds: float = Field(default=5.0, gt=0)
    # The longest a read waits for a replica's connection before the primary serves it.
    replica_pool_timeout: float = Field(default=2.0, gt=0)
    # A pooler between the server and PostgreSQL. `pgbouncer` (transaction pooling):
    # no server-side prepared statements, no session state, and LISTEN plus migrations
    # over DATABASE_LISTEN_URL, a direct connection.
    database_pooler: DatabasePooler = "none"
    database_listen_url: str | None = None

    # Access and limits (phiacta/auth/ratelimit.py, phiacta/graphql/engine/limits.py).
    redis_url: str | None = None
    rate_limit_enabled: bool = True
    rate_limit_window_seconds: float = Field(default=60.0, gt=0)
    # Requests per window by scope group, e.g. `search=60,claims:read=600`; the groups
    # not named keep their defaults (see phiacta.auth.ratelimit.DEFAULT_LIMITS).
    rate_limits: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    max_request_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # A request body must arrive within this long (slow senders hold a connection).
    request_body_timeout_seconds: float = Field(default=30.0, gt=0)
    # A request's head (request line and headers) must arrive within this long after the
    # connection opens or the previous response ends (slowloris: a head sent a byte at
    # a time would otherwise hold a connection forever).
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    # Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed, as uvicorn's
    # forwarded_allow_ips: comma-separated addresses or networks, `*` for any. Empty:
    # none, the client address is the TCP peer's (else anyone could pick their own IP
    # and escape the per-IP rate limit).
    forwarded_allow_ips: str = ""
    graphql_max_document_bytes: int = Field(default=200_000, ge=100)
    graphql_max_tokens: int = Field(default=15_000, ge=10)
    graphql_max_depth: int = Field(default=12, ge=1)
    graphql_max_aliases: int = Field(default=50, ge=0)
    graphql_max_cost: int = Field(default=25_000, ge=1)
    # Queries run from a plan made once per document (phiacta.graphql.engine.compiled); off:
    # every query goes through graphql-core's general execution.
    graphql_compiled_queries: bool = True
    # Covered reads answered by one SQL statement building the JSON in PostgreSQL
    # (phiacta.graphql.engine.planner); off: they run through the executor.
    graphql_read_planner: bool = True
    # Unset: on in development, off in production.
    graphql_introspection: bool | None = None
    # An Apollo persisted-query manifest; when set, only the operations in it run.
    graphql_allowlist_file: Path | None = None
    apq_cache_size: int = Field(default=1000, ge=1)

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _parse_rate_limits(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        limits: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            group, _, number = part.partition("=")
            if not number.strip().isdigit():
                raise ValueError("must read group=requests,..., e.g. search=60,claims:read=600")
            limits[group.strip()] = int(number)
        return limits

    @property
    def introspection_enabled(self) -> bool:
        if self.graphql_introspection is None:
            return self.is_development
        return self.graphql_introspection

    # Live updates: the outbox, subscriptions and webhooks.
    events_retention_days: float = Field(default=7.0, gt=0)
    events_prune_interval_seconds: float = Field(default=3600.0, gt=0)
    subscription_queue_size: int = Field(default=5000, ge=1)
    subscription_keep_alive_seconds: float = Field(default=15.0, gt=0)
    # Open subscriptions per WebSocket, and per client (API key, else IP) per process.
    subscriptions_per_socket: int = Field(default=20, ge=1)
    subscriptions_per_client: int = Field(default=100, ge=1)
    # A socket whose client reads nothing for this long is closed (1013) instead of
    # having its messages buffered.
    subscription_send_timeout_seconds: float = Field(default=10.0, gt=0)
    # Outbox events per second one client (API key, else address) may replay through
    # events(after), over all its subscriptions in a process; live events are not paced.
    subscription_replay_events_per_second: float = Field(default=2000.0, gt=0)
    webhooks_allow_private: bool = False
    # Seconds before the 2nd, 3rd, ... attempt; a delivery gives up after the last one.
    webhook_retry_delays: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [30.0, 120.0, 600.0, 3600.0]
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_poll_interval_seconds: float = Field(default=1.0, gt=0)
    # `phiacta mcp` (stdio): the server to call and the key to call it with; without a
    # URL it runs on the database in use, as the key's agent (anonymous without a key).
    phiacta_url: str | None = None
    phiacta_api_key: SecretStr | None = None

    @field_validator("webhook_retry_delays", mode="before")
    @classmethod
    def _parse_delays(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return [float(part) for part in value.split(",") if part.strip()]
            except ValueError:
                raise ValueError("must be comma-separated seconds, e.g. 30,120,600,3600") from None
        return value

    @field_validator("webhook_retry_delays")
    @classmethod
    def _check_delays(cls, delays: list[float]) -> list[float]:
        if any(d < 0 for d in delays):
            raise ValueError("delays must not be negative")
        return delays

    @field_validator("log_level", "log_format", "environment", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return []
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(
                'must be a JSON array of origins, e.g. ["http://localhost:3000"]'
            ) from None
        if not isinstance(parsed, list) or not all(isinstance(o, str) for o in parsed):
            raise ValueError('must be a JSON array of strings, e.g. ["http://localhost:3000"]')
        return parsed

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            parts = urlsplit(origin)
            if origin != "*" and (parts.scheme not in ("http", "https") or not parts.netloc):
                raise ValueError(f"{origin!r} is not an origin like https://example.org")
        return origins

    @field_validator("database_url", "database_listen_url", mode="before")
    @classmethod
    def _normalize_url(cls, value: object) -> object:
        if isinstance(value, str):
            return normalize_database_url(value) if value.strip() else None
        return value

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def _parse_replica_urls(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            try:
                value = json.loads(text) if text else []
            except json.JSONDecodeError:
                raise ValueError(
                    'must be a JSON array of URLs, e.g. ["postgresql://replica-1/phiacta"]'
                ) from None
        if not isinstance(value, list) or not all(isinstance(url, str) for url in value):
            raise ValueError(
                'must be a JSON array of URLs, e.g. ["postgresql://replica-1/phiacta"]'
            )
        return [normalize_database_url(url) for url in value]

    @model_validator(mode="after")
    def _pooler_needs_listen_url(self) -> Settings:
        if self.database_pooler == "pgbouncer" and not self.database_listen_url:
            raise ValueError(
                "DATABASE_LISTEN_URL: must be set when DATABASE_POOLER=pgbouncer "
                "(LISTEN and migrations need a direct connection to PostgreSQL)"
            )
        return self

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def embedding_provider(self) -> Literal["openai", "local"]:
        """The provider in use: `auto` means openai when a key is set, else local."""
        if self.embedding_provider_setting == "auto":
            return "openai" if self.openai_api_key else "local"
        return self.embedding_provider_setting

    @property
    def embedding_dimensions(self) -> int:
        """The vector size: as configured, else the provider's own size."""
        if self.embedding_dimensions_setting is not None:
            return self.embedding_dimensions_setting
        if self.embedding_provider == "local":
            return LOCAL_EMBEDDING_DIMENSIONS
        return OPENAI_MODEL_DIMENSIONS.get(self.embedding_model, 1536)

    @property
    def pool_max_size(self) -> int:
        return self.database_pool_size + self.database_max_overflow

    @property
    def behind_pooler(self) -> bool:
        """Connections go through a transaction pooler: no state outlives a transaction."""
        return self.database_pooler != "none"


def normalize_database_url(url: str) -> str:
    """Turn a SQLAlchemy-style URL (`postgresql+asyncpg://`, `postgres://`) into libpq's.

    asyncpg spells TLS as `ssl=`; libpq wants `sslmode=`, so that parameter is renamed.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme in ("postgres", "postgresql") or scheme.startswith("postgresql+"):
        scheme = "postgresql"
    else:
        raise ValueError("must be a postgresql:// URL")
    query = [
        ("sslmode" if key == "ssl" else key, val)
        for key, val in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _variable_name(loc: tuple[int | str, ...]) -> str:
    field = str(loc[0]) if loc else "?"
    aliases = {
        "embedding_dimensions_setting": "EMBEDDING_DIMENSIONS",
        "embedding_provider_setting": "EMBEDDING_PROVIDER",
    }
    return aliases.get(field, field.upper())


def load_settings(**overrides: object) -> Settings:
    """Read the settings, raising `ConfigError` with one readable line on a bad value."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        if not first["loc"]:
            # A check across variables names them in its own message.
            raise ConfigError(message) from None
        raise ConfigError(f"{_variable_name(first['loc'])}: {message}") from None
    except SettingsError as exc:
        raise ConfigError(str(exc)) from None
