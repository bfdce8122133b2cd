"""The examples/ scripts run as a reader would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg

from tests import test_write_processes
from tests.test_ingest_command import _env

own_database = test_write_processes.own_database  # a fresh migrated database per test
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_custom_extension_example_ingests_once(tmp_path: Path, own_database: str) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text(
        "Plants grown under blue light were taller\n"
        "Batch 1 grew 12.5 cm in 14 days under blue light\n"
        "Batch 2 grew 9.1 cm in 14 days under red light\n"
    )
    env = _env(tmp_path, own_database)

    def run() -> str:
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / "custom_extension.py"), str(notes)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert run().split()[-2:] == ["3", "ok"]
    assert run().strip().endswith("already ingested")
    with psycopg.connect(own_database) as conn:
        rows = conn.execute(
            "SELECT c.claim_type, e.edge_type FROM claims c"
            " LEFT JOIN edges e ON e.source_id = c.id"
            " WHERE c.content LIKE 'Batch%' ORDER BY c.content"
        ).fetchall()
    assert rows == [("observation", "supports"), ("observation", "supports")]
