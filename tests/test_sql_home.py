"""Every SQL statement the application sends is written in `phiacta/store/` (the planner's
generated SQL included) or in `migrations/`: no statement text anywhere else in the
package, and no `psycopg.sql` composition outside the store either."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "phiacta"
STATEMENT = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|SET|RESET|SHOW|LISTEN|UNLISTEN|NOTIFY|CREATE|"
    r"DROP|ALTER|COPY|TRUNCATE|VACUUM|ANALYZE|REFRESH|BEGIN|COMMIT|ROLLBACK|EXPLAIN|"
    r"DISCARD|PREPARE|EXECUTE|DEALLOCATE|LOCK|GRANT|REVOKE)\s"
)
COMPOSITION = re.compile(r"\bsql\.(SQL|Identifier|Literal|Composed)\(|from psycopg import sql")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _outside_store() -> list[Path]:
    store = PACKAGE / "store"
    return [p for p in sorted(PACKAGE.rglob("*.py")) if store not in p.parents]


def test_no_statement_text_outside_the_store() -> None:
    found = []
    for path in _outside_store():
        tree = ast.parse(path.read_text(), str(path))
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and STATEMENT.match(node.value)
            ):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}")
    assert not found, "SQL outside phiacta/store/:\n" + "\n".join(found)


def test_no_sql_composition_outside_the_store() -> None:
    found = []
    for path in _outside_store():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if COMPOSITION.search(line):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    assert not found, "SQL composed outside phiacta/store/:\n" + "\n".join(found)


def test_the_check_finds_a_statement() -> None:
    assert STATEMENT.match("\nSELECT 1")
    assert STATEMENT.match("LISTEN {}")
    assert not STATEMENT.match("Select a claim by its id")
