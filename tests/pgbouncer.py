"""A PgBouncer in transaction-pooling mode in front of the test server, for the HTTP
suite's second pass (PHIACTA_TEST_POOLER=pgbouncer; see conftest.py and the Makefile).

PgBouncer comes from Debian's `pgbouncer` package (no wheel ships it). It listens only
on a Unix socket in a folder of its own and logs every database in as the server's
superuser, so the test databases created per module are reachable through it unlisted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import psycopg

from phiacta.db.embedded import SYSTEM_USER

# The pass that runs the suite through PgBouncer ("pgbouncer"), or "" (conftest.py).
POOLER = os.environ.get("PHIACTA_TEST_POOLER", "")
PGBOUNCER_PATHS = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")
PORT = 6432
START_TIMEOUT_SECONDS = 30
# PgBouncer's default: after a failed login to the server it tries again this much later.
SERVER_LOGIN_RETRY_SECONDS = 15
HOW_TO_GET_IT = "apt-get install pgbouncer (Debian/Ubuntu); .ci/run installs it"


def pgbouncer_binary() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    return next((path for path in PGBOUNCER_PATHS if os.access(path, os.X_OK)), None)


@dataclass(frozen=True)
class PgBouncer:
    """A running PgBouncer; `pooled(url)` is the same database reached through it."""

    socket_dir: Path
    # The server behind it: (host, port) of its URLs.
    server: tuple[str, str]

    @property
    def admin_url(self) -> str:
        """PgBouncer's own console (SHOW CLIENTS, SHOW POOLS)."""
        return self.pooled("/pgbouncer")

    def route(self, direct_url: str) -> dict[str, object] | None:
        """Settings reaching `direct_url`'s database through this PgBouncer, LISTEN and
        migrations going direct; None for a database of another server."""
        if _server_of(direct_url) != self.server:
            return None
        return {
            "database_url": self.pooled(direct_url),
            "database_pooler": "pgbouncer",
            "database_listen_url": direct_url,
        }

    def pooled(self, direct_url: str) -> str:
        database = urlsplit(direct_url).path.lstrip("/")
        host = quote(str(self.socket_dir), safe="")
        return f"postgresql://postgres@/{database}?host={host}&port={PORT}"

    @classmethod
    @contextmanager
    def run(cls, server_url: str) -> Iterator[PgBouncer]:
        """PgBouncer in transaction mode in front of the server of `server_url`."""
        binary = pgbouncer_binary()
        if binary is None:
            raise RuntimeError(f"pgbouncer is not installed: {HOW_TO_GET_IT}")
        as_root = os.geteuid() == 0
        with tempfile.TemporaryDirectory(prefix="phiacta-pgbouncer-") as folder:
            root = Path(folder)
            if as_root:
                # PgBouncer refuses to run as root; it runs as the embedded server's user.
                root.chmod(0o755)
                shutil.chown(root, SYSTEM_USER, SYSTEM_USER)
            ini = root / "pgbouncer.ini"
            ini.write_text(_config(server_url, root))
            process = subprocess.Popen(
                [binary, str(ini)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                user=SYSTEM_USER if as_root else None,
                start_new_session=True,
            )
            try:
                bouncer = cls(root, _server_of(server_url))
                _wait_until_accepting(bouncer.pooled(server_url), process, root)
                yield bouncer
            finally:
                process.terminate()
                process.wait(timeout=30)


Route = Callable[[str], dict[str, object] | None]


@contextmanager
def own_route(server_url: str) -> Iterator[Route | None]:
    """For a test that starts a PostgreSQL of its own (marked `own_postgres`): in the
    PgBouncer pass, a PgBouncer in front of it and its `route`; otherwise None."""
    if not POOLER:
        yield None
        return
    with PgBouncer.run(server_url) as bouncer:
        yield bouncer.route


def _server_of(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    host = query.get("host") or parts.hostname or ""
    return host, str(query.get("port") or parts.port or 5432)


def _config(server_url: str, root: Path) -> str:
    parts = urlsplit(server_url)
    host, port = _server_of(server_url)
    user = parts.username or "postgres"
    password = f" password={parts.password}" if parts.password else ""
    return f"""[databases]
* = host={host} port={port} user={user}{password}

[pgbouncer]
unix_socket_dir = {root}
listen_port = {PORT}
auth_type = any
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 40
server_login_retry = {SERVER_LOGIN_RETRY_SECONDS}
admin_users = {user}
logfile = {root}/pgbouncer.log
pidfile = {root}/pgbouncer.pid
"""


def _wait_until_accepting(url: str, process: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                log = root / "pgbouncer.log"
                text = log.read_text() if log.exists() else ""
                raise RuntimeError(f"pgbouncer did not start:\n{text[-2000:]}") from None
            time.sleep(0.05)
