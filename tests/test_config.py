"""Configuration: every variable of the guide, its default, and one clear line when bad."""

from __future__ import annotations

import subprocess
import sys

import pytest

from phiacta.config import ConfigError, load_settings


def test_defaults_follow_the_deployment_guide() -> None:
    settings = load_settings(_env_file=None)
    assert settings.database_url is None
    assert settings.environment == "production"
    assert settings.log_level == "info"
    assert settings.log_format == "json"
    assert settings.cors_origins == []
    assert settings.embedding_model == "text-embedding-3-small"
    assert settings.database_pool_size == 20
    assert settings.database_max_overflow == 10
    assert settings.database_pool_timeout == 30
    assert settings.max_bundle_claims == 500
    assert settings.max_traversal_depth == 10
    assert settings.api_key_salt is None


def test_embedding_provider_auto_picks_openai_only_with_a_key() -> None:
    local = load_settings(_env_file=None)
    assert (local.embedding_provider, local.embedding_dimensions) == ("local", 384)
    remote = load_settings(_env_file=None, openai_api_key="sk-test")
    assert (remote.embedding_provider, remote.embedding_dimensions) == ("openai", 1536)
    sized = load_settings(_env_file=None, openai_api_key="sk-test", EMBEDDING_DIMENSIONS=512)
    assert sized.embedding_dimensions == 512


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql+asyncpg://u:p@db:5432/phiacta", "postgresql://u:p@db:5432/phiacta"),
        ("postgresql+psycopg://u:p@db/phiacta", "postgresql://u:p@db/phiacta"),
        ("postgres://u@db/x?ssl=require", "postgresql://u@db/x?sslmode=require"),
    ],
)
def test_sqlalchemy_style_urls_are_normalized(given: str, expected: str) -> None:
    assert load_settings(_env_file=None, database_url=given).database_url == expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LOG_LEVEL", "loud"),
        ("CORS_ORIGINS", "[not json"),
        ("CORS_ORIGINS", '["not-an-origin"]'),
        ("DATABASE_URL", "mysql://x/y"),
        ("MAX_TRAVERSAL_DEPTH", "0"),
        ("EMBEDDING_PROVIDER", "magic"),
        ("DATABASE_REPLICA_URLS", "postgresql://replica/phiacta"),
        ("DATABASE_REPLICA_URLS", '["mysql://replica/phiacta"]'),
        ("DATABASE_POOLER", "pgpool"),
        ("REPLICA_MAX_LAG_MS", "-1"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value).startswith(f"{variable}: ")
    assert "\n" not in str(caught.value)


def test_replica_urls_are_a_json_list_normalized_like_database_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "DATABASE_REPLICA_URLS",
        '["postgres://r1/phiacta", "postgresql+asyncpg://r2/phiacta?ssl=require"]',
    )
    settings = load_settings(_env_file=None)
    assert settings.database_replica_urls == [
        "postgresql://r1/phiacta",
        "postgresql://r2/phiacta?sslmode=require",
    ]


def test_pgbouncer_needs_a_direct_listen_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_POOLER", "pgbouncer")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value).startswith("DATABASE_LISTEN_URL: ")
    monkeypatch.setenv("DATABASE_LISTEN_URL", "postgresql://primary/phiacta")
    assert load_settings(_env_file=None).behind_pooler


def test_the_cli_stops_on_a_bad_value_without_a_traceback(tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "phiacta", "db-url"],
        env={"LOG_LEVEL": "loud", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "phiacta: configuration error: LOG_LEVEL: Input should be 'debug', 'info', "
        "'warning' or 'error'"
    ]
