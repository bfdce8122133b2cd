"""The write path across processes: a server killed mid-bundle leaves nothing behind, and
the `ingest` and `embed --missing` commands."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from phiacta.db import admin
from tests.support import TEST_API_KEY_SALT, create_api_key, data_of, database_env, unique_name
from tests.test_cli_serve import base_env, free_port, wait_until_ready
from tests.write_support import bundle, row_counts, submit

WAIT_SECONDS = 60


@pytest.fixture
def own_database(pg_admin_url: str, template_database: str) -> Iterator[str]:
    name = unique_name("write_proc")
    admin.create_database(pg_admin_url, name, template=template_database)
    try:
        yield admin.with_database(pg_admin_url, name)
    finally:
        admin.drop_database(pg_admin_url, name)


def _env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    return base_env(
        tmp_path / "data",
        **database_env(database_url),
        API_KEY_SALT=TEST_API_KEY_SALT,
        EMBED_ON_WRITE="false",
        MATVIEW_REFRESH_SECONDS="0",
        **extra,
    )


def _start(env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "phiacta", "serve", "--port", str(port)], env=env, cwd=cwd
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_ready(url, process)
    return process, url


def _wait_for(condition: Any, what: str) -> None:
    """Poll a condition with a bounded deadline (no fixed sleeps)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _writing_backends(conn: psycopg.Connection[Any], *, blocked: bool) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE application_name = 'phiacta' AND datname = current_database()"
        " AND backend_xid IS NOT NULL"
        " AND (NOT %s OR wait_event_type = 'Lock')",
        (blocked,),
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_server_killed_mid_bundle_leaves_no_row_and_the_key_then_succeeds_once(
    tmp_path: Path, own_database: str
) -> None:
    key = create_api_key(own_database, ["bundles:write"])
    body = bundle(400)
    env = _env(tmp_path, own_database)
    before = row_counts(own_database)
    process, url = _start(env, tmp_path)
    try:
        with (
            psycopg.connect(own_database) as gate,
            psycopg.connect(own_database, autocommit=True) as watch,
        ):
            # Outbox events are the bundle transaction's last insert: holding this lock
            # stops the server there, with every other row of the bundle written.
            gate.execute("LOCK TABLE events IN EXCLUSIVE MODE")

            def send() -> None:
                try:
                    with httpx.Client(base_url=url, timeout=WAIT_SECONDS) as http:
                        submit(http, body, key.headers)
                except httpx.TransportError:
                    pass

            sender = threading.Thread(target=send, daemon=True)
            sender.start()
            _wait_for(lambda: _writing_backends(watch, blocked=True) == 1, "the open bundle")
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=WAIT_SECONDS)
            gate.rollback()
            _wait_for(lambda: _writing_backends(watch, blocked=False) == 0, "the rollback")
            sender.join(timeout=WAIT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
    assert row_counts(own_database) == before

    process, url = _start(env, tmp_path)
    try:
        with httpx.Client(base_url=url, timeout=WAIT_SECONDS) as http:
            first = data_of(submit(http, body, key.headers))["submitBundle"]
            again = data_of(submit(http, body, key.headers))["submitBundle"]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=WAIT_SECONDS)
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["bundleId"] == first["bundleId"]
    after = row_counts(own_database)
    assert after["bundles"] - before["bundles"] == 1
    assert after["claims"] - before["claims"] == 400


def _phiacta(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phiacta", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_ingest_submits_a_file_and_embed_missing_fills_in_the_vectors(
    tmp_path: Path, own_database: str
) -> None:
    document = bundle(3)
    file = tmp_path / "bundle.json"
    file.write_text(json.dumps(document))
    env = _env(tmp_path, own_database)
    done = _phiacta(env, tmp_path, "ingest", str(file), "--agent", "file-bot")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [m["tempId"] for m in result["claims"]] == ["c0", "c1", "c2"]
    again = _phiacta(env, tmp_path, "ingest", str(file), "--agent", "file-bot")
    assert json.loads(again.stdout)["bundleId"] == result["bundleId"]
    ids = [m["id"] for m in result["claims"]]
    missing = "SELECT count(*) FROM claims WHERE id = ANY(%s::uuid[]) AND embedding IS NULL"
    with psycopg.connect(own_database) as conn:
        assert conn.execute(missing, (ids,)).fetchone() == (3,)
    filled = _phiacta(
        {**env, "EMBEDDING_PROVIDER": "local"}, tmp_path, "embed", "--missing", "--batch-size", "2"
    )
    assert filled.returncode == 0, filled.stderr
    with psycopg.connect(own_database) as conn:
        assert conn.execute(missing, (ids,)).fetchone() == (0,)


def test_ingest_reports_every_problem_of_a_bad_file_with_its_path(
    tmp_path: Path, own_database: str
) -> None:
    document = bundle(2)
    document["claims"][0]["content"] = ""
    document["edges"][0]["edgeType"] = "nope"
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(document))
    agent = unique_name("careful-bot")
    create_api_key(own_database, ["claims:read"], agent_name=agent)
    before = row_counts(own_database)
    done = _phiacta(_env(tmp_path, own_database), tmp_path, "ingest", str(file), "--agent", agent)
    assert done.returncode == 1
    assert "claims[0].content" in done.stderr and "EDGE_TYPE_UNKNOWN" in done.stderr
    assert row_counts(own_database) == before
