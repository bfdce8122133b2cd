"""Logs and metrics as an operator sees them: `phiacta serve` in production mode,
its stdout read line by line, and `/metrics` scraped over HTTP."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from phiacta.observability import metrics
from phiacta.observability.logging import configure_logging
from phiacta.observability.sql import TimedCursor
from tests.support import (
    TEST_API_KEY_SALT,
    create_api_key,
    data_of,
    database_env,
    gql,
    make_settings,
)

STARTUP_TIMEOUT_SECONDS = 90
LINE_TIMEOUT_SECONDS = 10
REQUIRED_KEYS = {"timestamp", "level", "event", "request_id", "logger"}

Line = dict[str, Any]


@dataclass
class CapturedStdout:
    """Every stdout line of a process, collected by a reader thread."""

    raw: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def follow(self, stream: io.TextIOBase) -> None:
        for text in stream:
            with self.changed:
                self.raw.append(text.rstrip("\n"))
                self.changed.notify_all()

    def wait_for(self, matches: Callable[[Line], bool]) -> Line:
        """The first JSON line for which `matches` holds, waiting for it to be written."""
        deadline = time.monotonic() + LINE_TIMEOUT_SECONDS
        with self.changed:
            while True:
                for line in self.lines():
                    if matches(line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("no matching log line:\n" + "\n".join(self.raw[-20:]))
                self.changed.wait(remaining)

    def lines(self) -> list[Line]:
        return [json.loads(text) for text in list(self.raw)]

    def text(self) -> str:
        with self.changed:
            return "\n".join(self.raw)


@dataclass
class ServedProcess:
    url: str
    stdout: CapturedStdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    with httpx.Client(base_url=url, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"server exited with {process.returncode}")
            try:
                if client.get("/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise AssertionError("server did not become ready")


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    """`phiacta serve` as production runs it: JSON logs on stdout, no auto-migration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "PHIACTA_"))}
    env |= {
        **database_env(database_url),
        "ENVIRONMENT": "production",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "info",
        "API_KEY_SALT": TEST_API_KEY_SALT,
        "EMBEDDING_PROVIDER": "local",
        "DATABASE_POOL_SIZE": "2",
        "PHIACTA_DATA_DIR": str(tmp_path_factory.mktemp("data")),
    }
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "phiacta", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    captured = CapturedStdout()
    assert process.stdout is not None
    reader = threading.Thread(target=captured.follow, args=(process.stdout,), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, process)
        yield ServedProcess(url=url, stdout=captured)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        reader.join(timeout=10)


@pytest.fixture
def http(served: ServedProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        yield client


def _create_namespace(http: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    path = f"audited_{uuid.uuid4().hex[:10]}"
    query = (
        "mutation CreateAudited($path: String!) { createNamespace(input: {path: $path}) { id } }"
    )
    return http.post(
        "/graphql", json={"query": query, "variables": {"path": path}}, headers=headers
    )


def test_every_line_is_json_with_timestamp_level_event_request_id_and_logger(
    served: ServedProcess, http: httpx.Client
) -> None:
    request_id = uuid.uuid4().hex
    http.get("/health", headers={"X-Request-ID": request_id})
    served.stdout.wait_for(lambda line: line.get("request_id") == request_id)
    lines = served.stdout.lines()
    # uvicorn's own start-up lines went through the same formatter.
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    for line in lines:
        assert line.keys() >= REQUIRED_KEYS, line
        assert line["timestamp"].endswith("Z")


def test_the_access_line_names_the_operation_status_and_duration_under_the_response_request_id(
    served: ServedProcess, http: httpx.Client
) -> None:
    response = http.post("/graphql", json={"query": "query ListEdgeTypes { edgeTypes { name } }"})
    request_id = response.headers["X-Request-ID"]
    line = served.stdout.wait_for(
        lambda line: line["event"] == "request" and line["request_id"] == request_id
    )
    assert line["level"] == "info"
    assert line["method"] == "POST" and line["path"] == "/graphql"
    assert line["operation"] == "ListEdgeTypes"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float | int) and line["duration_ms"] >= 0
    # One access line per request: uvicorn's own (printed first, when the response
    # starts) is switched off.
    mine = [entry for entry in served.stdout.lines() if entry.get("request_id") == request_id]
    assert [entry["logger"] for entry in mine if "access" in entry["logger"]] == ["phiacta.access"]


def test_a_write_logs_an_audit_line_with_the_agent_the_ids_and_the_request_id(
    served: ServedProcess, http: httpx.Client, database_url: str
) -> None:
    key = create_api_key(database_url, ["admin"])
    response = _create_namespace(http, key.headers)
    created = data_of(response.json())["createNamespace"]
    request_id = response.headers["X-Request-ID"]
    line = served.stdout.wait_for(
        lambda line: line["event"] == "audit" and line["request_id"] == request_id
    )
    assert line["logger"] == "phiacta.audit" and line["audit"] is True
    assert line["operation"] == "createNamespace"
    assert line["agent_id"] == str(key.agent_id)
    assert line["ids"] == [created["id"]]


def test_no_api_key_or_authorization_value_appears_in_any_line(
    served: ServedProcess, http: httpx.Client, database_url: str
) -> None:
    key = create_api_key(database_url, ["admin"])
    secret = key.raw.split("_", 2)[2]
    ok = _create_namespace(http, key.headers)
    unknown = "phk_aaaaaaaaaaaa_" + "B" * 43
    refused = http.post(
        "/graphql",
        json={"query": "{ edgeTypes { name } }"},
        headers={"Authorization": f"Bearer {unknown}"},
    )
    for response in (ok, refused):
        request_id = response.headers["X-Request-ID"]
        served.stdout.wait_for(
            lambda line, rid=request_id: line["event"] == "request" and line["request_id"] == rid
        )
    text = served.stdout.text()
    for value in (key.raw, secret, unknown, TEST_API_KEY_SALT):
        assert value not in text


def _samples(http: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_a_query_moves_the_request_counter_and_histogram_of_its_operation(
    http: httpx.Client,
) -> None:
    name = f"Probe_{uuid.uuid4().hex[:8]}"
    labels = (("operation", name), ("status", "200"))
    before = _samples(http)
    data_of(gql(http, f"query {name} {{ edgeTypes {{ name }} }}"))
    data_of(gql(http, f"query {name} {{ edgeTypes {{ name }} }}"))
    after = _samples(http)
    assert ("phiacta_http_requests_total", labels) not in before
    assert after[("phiacta_http_requests_total", labels)] == 2
    assert after[("phiacta_http_request_duration_seconds_count", labels)] == 2
    inf_bucket = tuple(sorted((*labels, ("le", "+Inf"))))
    assert after[("phiacta_http_request_duration_seconds_bucket", inf_bucket)] == 2
    assert after[("phiacta_db_query_duration_seconds_count", ())] > before.get(
        ("phiacta_db_query_duration_seconds_count", ()), 0
    )


def test_graphql_errors_are_counted_by_code_and_the_pool_is_reported(http: httpx.Client) -> None:
    key = ("phiacta_graphql_errors_total", (("code", "VALIDATION_FAILED"),))
    before = _samples(http).get(key, 0)
    body = gql(http, "{ noSuchField }")
    assert body["errors"]
    after = _samples(http)
    assert after[key] == before + 1
    assert after[("phiacta_db_pool_size", ())] >= 1
    assert ("phiacta_db_pool_available", ()) in after
    assert after[("phiacta_db_pool_waiting", ())] == 0
    assert ("phiacta_active_subscriptions", ()) in after


def test_operation_labels_stay_bounded() -> None:
    assert metrics.operation_label(None) == metrics.ANONYMOUS
    assert metrics.operation_label("x" * 65) == metrics.OTHER
    assert metrics.operation_label("has space") == metrics.OTHER
    assert metrics.operation_label("FineName_1") == "FineName_1"


def test_secrets_are_redacted_from_structured_fields_and_free_text(tmp_path: Path) -> None:
    out = io.StringIO()
    configure_logging(
        make_settings(None, tmp_path, environment="production", log_format="json"), out
    )
    try:
        structlog.get_logger("phiacta.test").warning(
            "leaky",
            authorization="Bearer phk_abc_secretpart",
            headers=[(b"authorization", b"Bearer zzz"), (b"accept", b"*/*")],
            url="postgresql://newpub:hunter2@db:5432/phiacta",
            note="called with Bearer tok.en-123 and sk-proj-abcdefghijklmnop",
        )
        line = json.loads(out.getvalue().splitlines()[-1])
    finally:
        _restore_test_logging(tmp_path)
    for secret in ("secretpart", "zzz", "hunter2", "tok.en-123", "abcdefghijklmnop"):
        assert secret not in out.getvalue()
    assert line["url"] == "postgresql://newpub:[REDACTED]@db:5432/phiacta"
    assert ["accept", "*/*"] in line["headers"]


async def test_sql_is_logged_only_in_development_at_debug(
    database_url: str, tmp_path: Path
) -> None:
    async def logged_statements(**overrides: object) -> list[Line]:
        out = io.StringIO()
        settings = make_settings(database_url, tmp_path, log_format="json", **overrides)
        configure_logging(settings, out)
        async with await psycopg.AsyncConnection.connect(
            database_url, autocommit=True, cursor_factory=TimedCursor
        ) as conn:
            await conn.execute("SELECT %s::text AS probe", ("parameter-never-logged",))
        lines = [json.loads(text) for text in out.getvalue().splitlines()]
        return [line for line in lines if line["event"] == "sql"]

    try:
        development = await logged_statements(environment="development", log_level="debug")
        production = await logged_statements(environment="production", log_level="debug")
        quiet = await logged_statements(environment="development", log_level="info")
    finally:
        _restore_test_logging(tmp_path)
    assert [line["statement"] for line in development] == ["SELECT %s::text AS probe"]
    assert "parameter-never-logged" not in json.dumps(development)
    assert development[0]["logger"] == "phiacta.sql" and development[0]["level"] == "debug"
    assert production == [] and quiet == []


def _restore_test_logging(tmp_path: Path) -> None:
    configure_logging(make_settings(None, tmp_path), sys.stdout)
