"""docs/scaling.md says where our SQL uses each construct Citus limits: keep it true.

The audit table's rows read `| \\`construct\\` | file, file | rule | change |`; the
files must be exactly those under phiacta/store/ and migrations/versions/ whose text
contains the construct, so a new use (or a removed one) fails here until the document
says what Citus makes of it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "scaling.md"
SQL_FOLDERS = ("phiacta/store", "migrations/versions")
ROW = re.compile(r"^\| `(?P<construct>[^`]+)` \| (?P<files>[^|]+) \|")


def audit_rows() -> dict[str, set[str]]:
    text = DOC.read_text()
    section = text.split("### Audit: our SQL against Citus's limits", 1)[1].split("\n### ", 1)[0]
    rows: dict[str, set[str]] = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            files = {f.strip() for f in match["files"].split(",")}
            rows[match["construct"]] = files
    return rows


def files_containing(construct: str) -> set[str]:
    found = set()
    for folder in SQL_FOLDERS:
        for path in sorted((ROOT / folder).glob("*.py")):
            if construct in path.read_text():
                found.add(str(path.relative_to(ROOT)))
    return found


def test_the_audit_covers_the_constructs_citus_limits() -> None:
    assert {
        "WITH RECURSIVE",
        "FOR UPDATE",
        "LATERAL",
        "MATERIALIZED VIEW",
        "CREATE TRIGGER",
        "UNIQUE",
        "REFERENCES claims",
    } <= set(audit_rows())


@pytest.mark.parametrize("construct", sorted(audit_rows()))
def test_the_audit_lists_every_file_using_the_construct(construct: str) -> None:
    assert audit_rows()[construct] == files_containing(construct)


def test_every_citation_is_defined() -> None:
    text = DOC.read_text()
    defined = set(re.findall(r"^- \[([A-Z])\] ", text, flags=re.MULTILINE))
    used = set(re.findall(r"\[([A-Z])(?:,|\])", text))
    assert used <= defined
