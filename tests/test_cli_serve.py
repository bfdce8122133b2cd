"""`phiacta serve` as an operator runs it: as a subprocess, on the embedded server or not."""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import psycopg

from phiacta.cli import build_parser
from phiacta.db import admin
from phiacta.db.embedded import EmbeddedPostgres, binaries_dir
from tests.support import data_of, database_env, gql

STARTUP_TIMEOUT_SECONDS = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "PHIACTA_"))}
    env.update(
        {
            "PHIACTA_DATA_DIR": str(data_dir),
            "ENVIRONMENT": "development",
            "EMBEDDING_PROVIDER": "local",
            "DATABASE_POOL_SIZE": "2",
            "LOG_LEVEL": "warning",
        }
    )
    env.update(extra)
    return env


def wait_until_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    """Poll /ready until it answers 200; fail fast if the process dies."""
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


@contextmanager
def serving(env: dict[str, str], cwd: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "phiacta", "serve", "--port", str(port)], env=env, cwd=cwd
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


PHIACTA = [sys.executable, "-m", "phiacta"]


def phiacta(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`phiacta ARGS` run to its end, its output captured."""
    return subprocess.run(
        [*PHIACTA, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=check,
        timeout=STARTUP_TIMEOUT_SECONDS,
    )


def writer_headers(env: dict[str, str], cwd: Path) -> dict[str, str]:
    """A claims:write key made by `phiacta apikey create` against the same database."""
    created = phiacta(
        "apikey", "create", "--agent", "cli-writer", "--scopes", "claims:write", env=env, cwd=cwd
    )
    return {"Authorization": f"Bearer {created.stdout.strip()}"}


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] == "postgres" and str(data_dir) in cmdline:
            found.append(proc)
    return found


def no_postgres_left(data_dir: Path) -> bool:
    """True when no server of `data_dir` runs. pg_ctl returns once the postmaster removed
    its pid file, a moment before the process itself is gone, so exiting ones are awaited."""
    _, alive = psutil.wait_procs(postgres_processes(data_dir), timeout=10)
    return not alive


def test_serve_starts_the_embedded_server_stops_it_on_ctrl_c_and_keeps_data(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    env = base_env(data_dir)
    with serving(env, tmp_path) as url, httpx.Client(base_url=url) as client:
        assert len(data_of(gql(client, "{ edgeTypes { name } }"))["edgeTypes"]) == 15
        mutation = 'mutation { createNamespace(input: {path: "kept"}) { id } }'
        data_of(gql(client, mutation, headers=writer_headers(env, tmp_path)))
        assert postgres_processes(data_dir)
    assert no_postgres_left(data_dir)
    with serving(env, tmp_path) as url, httpx.Client(base_url=url) as client:
        paths = [n["path"] for n in data_of(gql(client, "{ namespaces { path } }"))["namespaces"]]
        assert paths == ["kept"]
    assert no_postgres_left(data_dir)


def test_a_second_serve_on_one_data_folder_is_refused_and_leaves_the_first_untouched(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    env = base_env(data_dir)
    with serving(env, tmp_path) as url, httpx.Client(base_url=url) as client:
        postmasters = {p.pid for p in postgres_processes(data_dir)}
        port = url.rsplit(":", 1)[1]
        # As a second `make run` does: the same folder and the same port.
        second = phiacta("serve", "--port", port, env=env, cwd=tmp_path, check=False)
        assert second.returncode == 1
        assert "already serves from" in second.stderr
        assert f"http://127.0.0.1:{port}" in second.stderr
        assert "embedded_postgres" not in second.stderr
        other_port = phiacta(
            "serve", "--port", str(free_port()), env=env, cwd=tmp_path, check=False
        )
        assert other_port.returncode == 1 and "already serves from" in other_port.stderr
        assert {p.pid for p in postgres_processes(data_dir)} == postmasters
        assert client.get("/ready").status_code == 200
        mutation = 'mutation { createNamespace(input: {path: "still-here"}) { id } }'
        data_of(gql(client, mutation, headers=writer_headers(env, tmp_path)))
        assert {p.pid for p in postgres_processes(data_dir)} == postmasters
        paths = [n["path"] for n in data_of(gql(client, "{ namespaces { path } }"))["namespaces"]]
        assert paths == ["still-here"]
    assert no_postgres_left(data_dir)


def test_processes_that_adopt_the_embedded_server_never_stop_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = base_env(data_dir)
    owner = EmbeddedPostgres(data_dir / "postgres")
    owner.start()
    try:
        with serving(env, tmp_path) as url, httpx.Client(base_url=url) as client:
            mutation = 'mutation { createNamespace(input: {path: "adopted"}) { id } }'
            data_of(gql(client, mutation, headers=writer_headers(env, tmp_path)))
        assert owner.is_running()
        writer_headers(env, tmp_path)  # a one-shot command adopts it too
        assert owner.is_running()
        with psycopg.connect(owner.url("phiacta")) as conn:
            assert conn.execute("SELECT name FROM namespaces").fetchall() == [("adopted",)]
    finally:
        owner.stop()
    assert no_postgres_left(data_dir)


def test_serve_uses_database_url_and_starts_no_embedded_server(
    tmp_path: Path, pg_admin_url: str, template_database: str
) -> None:
    name = f"cli_{os.getpid()}_{time.monotonic_ns()}"
    admin.create_database(pg_admin_url, name, template=template_database)
    try:
        url = admin.with_database(pg_admin_url, name)
        data_dir = tmp_path / "data"
        env = base_env(data_dir, **database_env(url))
        env["DATABASE_URL"] = env["DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://")
        with serving(env, tmp_path) as base, httpx.Client(base_url=base) as client:
            mutation = 'mutation { createNamespace(input: {path: "elsewhere"}) { id } }'
            data_of(gql(client, mutation, headers=writer_headers(env, tmp_path)))
        assert not (data_dir / "postgres").exists()
        assert no_postgres_left(data_dir)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT name FROM namespaces").fetchall() == [("elsewhere",)]
    finally:
        admin.drop_database(pg_admin_url, name)


def test_db_url_prints_a_url_psql_can_use(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = base_env(data_dir)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "phiacta", "db-url"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        url = result.stdout.strip()
        psql = subprocess.run(
            [str(binaries_dir() / "psql"), url, "-Atc", "SELECT current_database()"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert psql.stdout.strip() == "phiacta"
    finally:
        EmbeddedPostgres(data_dir / "postgres").stop()


def test_one_shot_commands_print_for_people_not_log_collectors(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in base_env(tmp_path / "data").items()
        if k not in ("ENVIRONMENT", "LOG_LEVEL", "LOG_FORMAT")
    }
    migrated = phiacta("migrate", "upgrade", "head", env=env, cwd=tmp_path)
    assert not [line for line in migrated.stderr.splitlines() if line.startswith("{")]
    created = phiacta(
        "apikey", "create", "--agent", "person", "--scopes", "claims:read", env=env, cwd=tmp_path
    )
    try:
        assert created.stdout.strip().startswith("phk_")
        assert not [line for line in created.stderr.splitlines() if line.startswith("{")]
        assert "created agent person" in created.stderr
    finally:
        EmbeddedPostgres(tmp_path / "data" / "postgres").stop()
    assert phiacta("--version").stdout.startswith("phiacta ")
    shown = phiacta("demo", "--help")
    assert "example:\n  phiacta demo" in shown.stdout


def test_every_command_has_help_with_an_example() -> None:
    parser = build_parser()
    commands = _subcommands(parser)
    apikey = _subcommands(commands["apikey"])
    assert {"serve", "demo", "ingest", "embed", "events", "export", "import", "mcp"} <= set(
        commands
    )
    listing = parser.format_help()
    for name, sub in [*commands.items(), *apikey.items()]:
        shown = sub.format_help()
        assert "example:\n  " in shown, name
        assert "phiacta " in shown.split("example:\n  ", 1)[1].splitlines()[0], shown
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    for name in commands:
        described = re.search(rf"^    {re.escape(name)}\s+(\S.*)$", listing, re.M)
        assert described, (name, listing)
        assert f"| `phiacta {name}" in table, f"README's command table lacks {name}"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [choices] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(choices.choices)
