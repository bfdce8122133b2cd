"""`phiacta ingest PATH...` as a subprocess: papers citing each other end up linked in
either arrival order and under any DOI spelling, a file ingested twice creates nothing
new (whoever ingests it again), a failing file leaves nothing and fails the run."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from tests import papers, test_write_processes
from tests.papers import Paper
from tests.support import TEST_API_KEY_SALT, create_api_key, database_env
from tests.test_cli_serve import base_env
from tests.test_write_processes import _start
from tests.write_support import row_counts

own_database = test_write_processes.own_database  # a fresh migrated database per test


def _env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return base_env(
        tmp_path / "data",
        **database_env(database_url),
        API_KEY_SALT=TEST_API_KEY_SALT,
        EMBED_ON_WRITE="false",
        MATVIEW_REFRESH_SECONDS="0",
    )


def _ingest(env: dict[str, str], cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phiacta", "ingest", *map(str, args)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _doi(tag: str) -> str:
    return f"10.5555/{tag}-{uuid.uuid4().hex[:10]}"


LINKS = """
SELECT count(*)
FROM edges e
JOIN provenance ps ON ps.claim_id = e.source_id
JOIN source_identifiers si ON si.source_id = ps.source_id
JOIN provenance pt ON pt.claim_id = e.target_id
JOIN source_identifiers ti ON ti.source_id = pt.source_id
WHERE e.edge_type = 'related_to' AND (
    (si.identifier = %(a)s AND ti.identifier = %(b)s)
    OR (si.identifier = %(b)s AND ti.identifier = %(a)s))
"""


def _links(database_url: str, a: str, b: str) -> int:
    """Citation edges between the two papers' claims, either way round."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(LINKS, {"a": a, "b": b}).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("order", ["markdown first", "jats first"])
def test_two_papers_citing_each_other_are_linked_in_either_arrival_order(
    order: str, tmp_path: Path, own_database: str
) -> None:
    a, b = _doi("A"), _doi("B")
    markdown = papers.write_markdown(
        Paper("Paper A", a.upper(), cites=[f"https://doi.org/{b.upper()}"]), tmp_path / "a"
    )
    jats = papers.write_jats(Paper("Paper B", f"doi:{b}", cites=[f"doi:{a}"]), tmp_path / "b")
    files = [markdown, jats] if order == "markdown first" else [jats, markdown]
    env = _env(tmp_path, own_database)
    for file in files:
        done = _ingest(env, tmp_path, file)
        assert done.returncode == 0, done.stderr
    # Each paper's citing claim points at the other's first claim: two edges.
    assert _links(own_database, a.lower(), b.lower()) == 2
    second = _ingest(env, tmp_path, *files)
    assert second.returncode == 0 and second.stdout.count("already ingested") == 2


def test_the_same_file_twice_creates_nothing_new(tmp_path: Path, own_database: str) -> None:
    paper = papers.write_text(Paper("Once", _doi("once"), cites=[_doi("x")]), tmp_path)
    env = _env(tmp_path, own_database)
    first = _ingest(env, tmp_path, paper)
    assert first.returncode == 0, first.stderr
    assert "ok" in first.stdout
    before = row_counts(own_database)
    again = _ingest(env, tmp_path, paper)
    assert again.returncode == 0, again.stderr
    assert "already ingested" in again.stdout
    assert row_counts(own_database) == before


def test_a_failing_file_leaves_nothing_behind_and_fails_the_run(
    tmp_path: Path, own_database: str
) -> None:
    folder = tmp_path / "papers"
    papers.write_latex(Paper("Good", _doi("good"), cites=[]), folder / "good")
    (folder / "bad.yaml").write_text(
        "source: {type: manual_entry, title: Bad}\n"
        "claims:\n"
        "  - {id: c1, content: Water boils at 100 degrees Celsius at sea level.}\n"
        "  - {id: c2, content: Ice melts at 0 degrees Celsius at sea level.}\n"
        "edges:\n"
        "  - {from: c1, to: c2, type: no_such_edge_type}\n"
    )
    # A narrow terminal: the failure's line is not wrapped, its path and code stay whole.
    env = _env(tmp_path, own_database) | {"COLUMNS": "40"}
    before = row_counts(own_database)
    done = _ingest(env, tmp_path, folder)
    assert done.returncode == 1
    [failure] = [line for line in done.stderr.splitlines() if "EDGE_TYPE_UNKNOWN" in line]
    assert f"{folder / 'bad.yaml'}: edges[0].edgeType:" in failure
    assert "main.tex" in done.stdout and "failed" in done.stdout
    after = row_counts(own_database)
    # Only the good paper arrived: one source, one bundle.
    assert after["sources"] - before["sources"] == 1
    assert after["bundles"] - before["bundles"] == 1
    with psycopg.connect(own_database) as conn:
        assert conn.execute(
            "SELECT count(*) FROM claims WHERE content LIKE 'Water boils%'"
        ).fetchone() == (0,)


def test_a_manual_entry_mistake_is_reported_at_its_line_and_column(
    tmp_path: Path, own_database: str
) -> None:
    bad = tmp_path / "claims.yaml"
    bad.write_text(
        "source:\n  type: paper\n  title: T\nclaims:\n  - id: c1\n    content: ''\n"
        "  - id: c2\n    content: A claim that is fine and long enough.\n    confidence: 7\n"
    )
    done = _ingest(_env(tmp_path, own_database), tmp_path, bad)
    assert done.returncode == 1
    assert "claims.yaml:6:14: claims[0].content: must not be empty" in done.stderr
    assert "claims.yaml:9:17: claims[1].confidence: must be a number from 0 to 1" in done.stderr


def test_one_cited_work_from_two_papers_is_one_node(tmp_path: Path, own_database: str) -> None:
    cited = _doi("cited")
    one = papers.write_text(Paper("One", _doi("one"), cites=[cited]), tmp_path / "one")
    two = papers.write_markdown(Paper("Two", _doi("two"), cites=[f"doi:{cited}"]), tmp_path / "two")
    work = papers.write_jats(Paper("Cited", f"https://dx.doi.org/{cited}"), tmp_path / "w")
    done = _ingest(_env(tmp_path, own_database), tmp_path, one, two, work)
    assert done.returncode == 0, done.stderr
    with psycopg.connect(own_database) as conn:
        rows = conn.execute(
            "SELECT external_ref, status, resolved_to FROM pending_references"
            " WHERE external_ref = %s",
            (cited,),
        ).fetchall()
    assert len(rows) == 2
    assert {r[1] for r in rows} == {"resolved"} and len({r[2] for r in rows}) == 1


def test_through_a_server_with_another_agents_key_nothing_is_ingested_twice(
    tmp_path: Path, own_database: str
) -> None:
    env = _env(tmp_path, own_database)
    known = papers.write_text(Paper("Known", _doi("known"), cites=[]), tmp_path / "k")
    fresh = papers.write_markdown(Paper("Fresh", _doi("fresh"), cites=[]), tmp_path / "f")
    assert _ingest(env, tmp_path, known).returncode == 0
    other = create_api_key(own_database, ["bundles:write", "claims:read"])
    process, url = _start(env, tmp_path)
    try:
        before = row_counts(own_database)
        again = _ingest(env, tmp_path, known, "--server", url, "--key", other.raw)
        assert again.returncode == 0, again.stderr
        assert "already ingested" in again.stdout
        assert row_counts(own_database) == before
        done = _ingest(env, tmp_path, fresh, "--server", url, "--key", other.raw)
        assert done.returncode == 0, done.stderr
    finally:
        process.terminate()
        process.wait(timeout=60)
    with psycopg.connect(own_database) as conn:
        row = conn.execute(
            "SELECT b.submitted_by, b.claim_count FROM bundles b"
            " JOIN sources s ON s.id = b.source_id WHERE s.title = 'Fresh'"
        ).fetchone()
    assert row is not None and str(row[0]) == str(other.agent_id) and row[1] == 6
