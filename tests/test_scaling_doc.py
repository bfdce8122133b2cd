"""docs/scaling.md says where our SQL uses each construct Citus limits: keep it true.

The audit table's rows read `| \\`construct\\` | file, file | rule | change |`; the
files must be exactly those of SQL_FOLDERS whose text
contains the construct, or that import a store constant whose text does, plus
`planner statements` when the statements the read planner composes for its test
documents contain it; so a new use (or a removed one) fails here until the document
says what Citus makes of it. Every file of those folders is listed under "Files
audited", so a new one fails here until someone has read its SQL against the audit.
The document's other statements about our SQL are checked below, one test each.
"""

from __future__ import annotations

import ast
import importlib
import re
import uuid
from functools import cache
from pathlib import Path

import pytest
from graphql import parse

from phiacta.graphql.engine.planner import NotCovered, plan_reads
from phiacta.graphql.schema import build_schema

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "scaling.md"
# Where SQL is written: the store, the migrations, and the connection and event plumbing
# (the WAL positions of replicas, the pooler's role settings, LISTEN).
SQL_FOLDERS = ("phiacta/store", "migrations/versions", "phiacta/db", "phiacta/events")
PLANNER = "planner statements"
ROW = re.compile(r"^\| `(?P<construct>[^`]+)` \| (?P<files>[^|]+) \|")
LISTED_FILE = re.compile(r"^- `(?P<file>[^`]+\.py)`", flags=re.MULTILINE)


def section(title: str) -> str:
    return DOC.read_text().split(f"### {title}", 1)[1].split("\n### ", 1)[0]


def audit_rows() -> dict[str, set[str]]:
    rows: dict[str, set[str]] = {}
    for line in section("Audit: our SQL against Citus's limits").splitlines():
        match = ROW.match(line)
        if match:
            files = {f.strip() for f in match["files"].split(",")}
            rows[match["construct"]] = files
    return rows


def sql_files() -> list[Path]:
    return [
        path
        for folder in SQL_FOLDERS
        for path in sorted((ROOT / folder).glob("*.py"))
        if path.name != "__init__.py"
    ]


def imported_store_text(path: Path) -> str:
    """The text of the store constants `path` imports (`from phiacta.store.x import
    NAME`): SQL it sends without spelling it."""
    texts = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("phiacta.store."):
            module = importlib.import_module(str(node.module))
            for alias in node.names:
                value = getattr(module, alias.name, None)
                if isinstance(value, str):
                    texts.append(value)
    return "\n".join(texts)


@cache
def planner_statements() -> tuple[str, ...]:
    """The statements the read planner composes for the documents of its tests (ids
    made up: only the text matters)."""
    from tests.test_compiled_http import QUERIES
    from tests.test_read_planner import PLANNER_QUERIES

    schema = build_schema()._schema
    made_up: dict[str, str] = {}
    statements = []
    for _name, query, variables in QUERIES + PLANNER_QUERIES:
        planned = plan_reads(schema, parse(query), None)
        if planned is None:
            continue
        bound = {
            key: made_up.setdefault(value, str(uuid.uuid4()))
            if isinstance(value, str) and value.isidentifier() and value.islower()
            else value
            for key, value in variables.items()
        }
        try:
            params = planned.bind(schema, bound)
        except NotCovered:
            continue
        statements.append(planned.statement(params))
    return tuple(statements)


def places_using(construct: str) -> set[str]:
    found = {
        str(path.relative_to(ROOT))
        for path in sql_files()
        if construct in path.read_text() or construct in imported_store_text(path)
    }
    if any(construct in statement for statement in planner_statements()):
        found.add(PLANNER)
    return found


def test_the_planner_statements_are_many_and_all_shapes() -> None:
    statements = planner_statements()
    assert len(statements) >= 10
    assert any("json_agg" in s for s in statements)


def test_the_audit_covers_the_constructs_citus_limits() -> None:
    assert {
        "WITH RECURSIVE",
        "FOR UPDATE",
        "LATERAL",
        "NOT EXISTS",
        "LEFT JOIN",
        "OVER (",
        "MATERIALIZED VIEW",
        "CREATE TRIGGER",
        "UNIQUE",
        "REFERENCES claims",
        "ctid",
        "pg_export_snapshot",
    } <= set(audit_rows())


@pytest.mark.parametrize("construct", sorted(audit_rows()))
def test_the_audit_lists_every_place_using_the_construct(construct: str) -> None:
    assert audit_rows()[construct] == places_using(construct)


def test_every_file_that_may_hold_sql_is_listed_as_audited() -> None:
    listed = set(LISTED_FILE.findall(section("Files audited")))
    assert listed == {str(path.relative_to(ROOT)) for path in sql_files()}


def test_the_constructs_named_beside_an_audited_file_are_in_its_rows() -> None:
    rows = audit_rows()
    for line in section("Files audited").splitlines():
        match = LISTED_FILE.match(line)
        if match:
            named = set(re.findall(r"`([^`]+)`", line)) & set(rows)
            assert {c for c in named if match["file"] not in rows[c]} == set(), line


def test_every_citation_is_defined() -> None:
    text = DOC.read_text()
    defined = set(re.findall(r"^- \[([A-Z])\] ", text, flags=re.MULTILINE))
    used = set(re.findall(r"\[([A-Z])(?:,|\])", text))
    assert used <= defined


# -- the document's other statements about our SQL ------------------------------------


def text_of(relative: str) -> str:
    return (ROOT / relative).read_text()


def test_read_your_writes_uses_the_wal_insert_and_replay_positions() -> None:
    server = text_of("phiacta/store/server.py")
    assert "pg_current_wal_insert_lsn()" in server
    assert "pg_last_wal_replay_lsn()" in server
    replicas = text_of("phiacta/db/replicas.py")
    assert "server_store.write_position(" in replicas
    assert "server_store.standby_status(" in replicas


def test_the_claim_by_id_statement_is_prepared_and_the_pooler_turns_it_off() -> None:
    assert "prepare=True" in text_of("phiacta/store/prefetch.py")
    assert "prepare_threshold" in text_of("phiacta/db/pool.py")


def test_session_settings_become_role_defaults_behind_the_pooler() -> None:
    assert "ALTER ROLE CURRENT_USER IN DATABASE {} SET" in text_of("phiacta/store/server.py")
    assert "server_store.set_role_default(" in text_of("phiacta/db/pooler.py")


def test_no_advisory_lock_outlives_its_transaction() -> None:
    """Transaction pooling keeps only transaction-scoped advisory locks."""
    for path in sorted((ROOT / "phiacta").rglob("*.py")):
        text = path.read_text()
        assert not re.search(r"pg_(try_)?advisory_lock(_shared)?\(", text), path
        assert "pg_advisory_unlock" not in text, path


def test_listen_goes_over_the_listen_url() -> None:
    """The bus LISTENs on the URL app.py gives it (test_pooler.py watches it happen)."""
    assert "LISTEN {}" in text_of("phiacta/store/server.py")
    assert "server_store.listen(" in text_of("phiacta/events/bus.py")
    assert "settings.database_listen_url or url" in text_of("phiacta/app.py")
