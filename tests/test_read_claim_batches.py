"""Claim-by-id reads of concurrent requests share statements (`graphql.loaders.ClaimReads`):
each request still gets exactly its own claim, edges and targets."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from phiacta.db.pool import Pool
from phiacta.graphql.loaders import ClaimReads
from phiacta.observability.sql import TimedCursor
from phiacta.store import prefetch as prefetch_store
from phiacta.store.visibility import PUBLIC
from tests.factories import Factory
from tests.support import LiveServer, data_of

CLAIM = """
query ($id: ID!, $first: Int, $types: [String!]) {
  claim(id: $id) {
    id content createdBy { name }
    outgoing(first: $first, edgeTypes: $types) {
      edges { node { edgeType target { id content } } }
    }
  }
}
"""


@pytest.fixture(scope="module")
def claims(database_url: str) -> Iterator[list[UUID]]:
    """Six claims with 0..5 outgoing edges of two types, each by its own creator."""
    make = Factory(database_url)
    ids = []
    for n in range(6):
        claim = make.claim(f"claim {n} {uuid.uuid4().hex}", created_by=make.agent(f"author {n}"))
        for k in range(n):
            target = make.claim(f"target {n}.{k} {uuid.uuid4().hex}")
            make.edge(claim, target, "supports" if k % 2 else "refines")
        ids.append(claim)
    yield ids
    make.close()


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every claim read (`store.prefetch`) sent through a pool while the test runs (not
    the statements that set up the pool's connections)."""
    seen: list[str] = []
    original = TimedCursor.execute

    async def counting(self: TimedCursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        if "AS position, 0 AS part" in str(query):
            seen.append(str(query))
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(TimedCursor, "execute", counting)
    return seen


def _variables(claims: list[UUID]) -> list[dict[str, Any]]:
    asked: list[dict[str, Any]] = []
    for i, claim in enumerate(claims * 4):
        asked.append({"id": str(claim), "first": 1 + i % 4})
        asked.append({"id": str(claim), "first": 10, "types": ["supports"]})
    asked.append({"id": str(uuid.uuid4()), "first": 10})
    return asked


async def test_concurrent_reads_each_get_their_own_claim(
    server: LiveServer, claims: list[UUID]
) -> None:
    asked = _variables(claims)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:

        async def read(variables: dict[str, Any]) -> dict[str, Any]:
            response = await http.post("/graphql", json={"query": CLAIM, "variables": variables})
            return data_of(response.json())

        alone = [await read(variables) for variables in asked]
        together = await asyncio.gather(*(read(variables) for variables in asked))

    assert together == alone
    assert alone[-1] == {"claim": None}
    assert {len(a["claim"]["outgoing"]["edges"]) for a in alone[:-1]} == {0, 1, 2, 3, 4}


async def test_reads_asked_in_one_turn_share_a_statement(
    pool: Pool, claims: list[UUID], statements: list[str]
) -> None:
    reads = ClaimReads(pool.connection)
    unknown = uuid.uuid4()
    found = await asyncio.gather(
        *(reads.load(claim, None, 11, PUBLIC) for claim in claims),
        reads.load(unknown, None, 11, PUBLIC),
        reads.load(claims[5], ("supports",), 2, PUBLIC),
        reads.load(claims[5], None, 11, PUBLIC),
    )

    # Statements per distinct (edge types, page size): 8 reads of one, 1 of the other.
    per_statement = prefetch_store.MAX_CLAIMS_PER_STATEMENT
    assert len(statements) == -(-8 // per_statement) + 1
    async with pool.connection() as conn:
        one_by_one = [
            await prefetch_store.claim_with_outgoing(conn, c, None, 11, PUBLIC) for c in claims
        ]
        filtered = await prefetch_store.claim_with_outgoing(
            conn, claims[5], ("supports",), 2, PUBLIC
        )
    assert found[: len(claims)] == one_by_one
    assert found[len(claims)] is None
    assert found[-2] == filtered and found[-1] == one_by_one[5]
    # The same claim asked twice is read twice: no request shares another's rows.
    assert found[-1] is not found[5]


async def test_many_reads_are_split_into_bounded_statements(
    pool: Pool, claims: list[UUID], statements: list[str]
) -> None:
    reads = ClaimReads(pool.connection)
    asked = (claims * 7)[:40]
    found = await asyncio.gather(*(reads.load(claim, None, 3, PUBLIC) for claim in asked))

    per_statement = prefetch_store.MAX_CLAIMS_PER_STATEMENT
    assert len(statements) == -(-len(asked) // per_statement)
    assert [f.claim.id if f else None for f in found] == asked
