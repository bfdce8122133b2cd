"""The smallest Strawberry + psycopg server that answers the claim-by-id benchmark query.

A yardstick, not part of Phiacta: it shows what the stack itself reaches on a machine,
so the figures of `phiacta serve` can be read against it. It answers

    query ($id: ID!) { claim(id: $id) { id content createdBy { name }
        outgoing(first: 10) { edges { node { edgeType target { id content } } } } } }

from two statements on one connection, with Strawberry's ParserCache and
ValidationCache and `gc.freeze()` after start-up, and nothing else: no authentication,
limits, logging, metrics or DataLoaders. Against a database made by bench/generate.py:

    DATABASE_URL=... .venv/bin/python -m uvicorn bench.reference_server:app \\
        --workers 2 --port 8301 --log-level warning

then the same wrk script or `bench.latency --port 8301` as for Phiacta.
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import strawberry
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache

CLAIM = """
SELECT c.id, c.content, a.name
FROM claims c LEFT JOIN agents a ON a.id = c.created_by
WHERE c.id = %s
"""
OUTGOING = """
SELECT e.edge_type, t.id, t.content
FROM edges e JOIN claims t ON t.id = e.target_id
WHERE e.source_id = %s
ORDER BY e.created_at, e.id
LIMIT %s
"""

MAX_EDGES = 20

pool = AsyncConnectionPool(
    os.environ.get("DATABASE_URL", ""),
    min_size=4,
    max_size=8,
    open=False,
    kwargs={"autocommit": True},
)


@strawberry.type
class Agent:
    name: str


@strawberry.type
class Target:
    id: strawberry.ID
    content: str


@strawberry.type
class EdgeNode:
    edge_type: str
    target: Target


@strawberry.type
class EdgeEdge:
    node: EdgeNode


@strawberry.type
class EdgeConnection:
    edges: list[EdgeEdge]


@strawberry.type
class Claim:
    id: strawberry.ID
    content: str
    created_by: Agent | None
    _outgoing: strawberry.Private[list[tuple[str, uuid.UUID, str]]]

    @strawberry.field
    def outgoing(self, first: int = 10) -> EdgeConnection:
        return EdgeConnection(
            edges=[
                EdgeEdge(
                    node=EdgeNode(edge_type=t, target=Target(id=strawberry.ID(str(i)), content=c))
                )
                for t, i, c in self._outgoing[:first]
            ]
        )


@strawberry.type
class Query:
    @strawberry.field
    async def claim(self, id: strawberry.ID) -> Claim | None:
        claim_id = uuid.UUID(id)
        # Both statements on one pooled connection, in the one async resolver: the
        # nested fields are then plain and synchronous.
        async with pool.connection() as conn:
            cur = await conn.execute(CLAIM, (claim_id,))
            row = await cur.fetchone()
            if row is None:
                return None
            cur = await conn.execute(OUTGOING, (claim_id, MAX_EDGES))
            outgoing = await cur.fetchall()
        creator = Agent(name=row[2]) if row[2] is not None else None
        return Claim(
            id=strawberry.ID(str(row[0])),
            content=row[1],
            created_by=creator,
            _outgoing=outgoing,
        )


schema = strawberry.Schema(
    Query,
    extensions=[lambda: ParserCache(maxsize=128), lambda: ValidationCache(maxsize=128)],
)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await pool.open()
    gc.collect()
    gc.freeze()
    yield
    await pool.close()


app = Starlette(
    routes=[Route("/graphql", GraphQL(schema), methods=["GET", "POST"])], lifespan=lifespan
)
