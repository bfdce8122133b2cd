"""Helpers for the write-path tests: bundle bodies, row counts, the submitBundle call."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg

from tests.support import gql, unique_name

SUBMIT_BUNDLE = """
mutation($input: SubmitBundleInput!) {
  submitBundle(input: $input) {
    bundleId sourceId replayed
    claims { tempId id }
    artifacts { tempId id }
    edgeIds
    pendingReferences { id claimTempId claimId externalRef edgeType }
    resolvedReferences { id externalRef sourceClaimId edgeType resolvedToId edgeId }
    warnings { path code message claimId similarClaimId similarity }
  }
}
"""


def bundle(claims: int = 2, *, key: str | None = None, **fields: Any) -> dict[str, Any]:
    """A valid bundle body: `claims` claims c0..cN-1 from one paper, c0 supports the rest."""
    tag = unique_name("b")
    body: dict[str, Any] = {
        "idempotencyKey": key or unique_name("key"),
        "source": {"sourceType": "PAPER", "title": f"paper {tag}"},
        "claims": [
            {"tempId": f"c{i}", "content": f"claim {i} of {tag}", "confidence": 0.9}
            for i in range(claims)
        ],
        "edges": [
            {"source": {"tempId": "c0"}, "target": {"tempId": f"c{i}"}, "edgeType": "supports"}
            for i in range(1, claims)
        ],
    }
    body.update(fields)
    return body


def submit(client: httpx.Client, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    return gql(client, SUBMIT_BUNDLE, {"input": body}, headers=headers)


def row_counts(database_url: str) -> dict[str, int]:
    """The number of rows of every table: proof that a refused write left nothing."""
    with psycopg.connect(database_url) as conn:
        tables = [
            str(r[0])
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            ).fetchall()
        ]
        counts = {}
        for table in tables:
            row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            assert row is not None
            counts[table] = int(row[0])
        return counts


def details(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, code) of every problem of the first error."""
    errors = body.get("errors") or []
    assert errors, body
    return [(d["path"], d["code"]) for d in errors[0]["extensions"].get("details", [])]
