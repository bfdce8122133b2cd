"""Reading the knowledge out in bulk: every record as one JSON object, streamed.

Records come kind by kind in an order an importer can follow (agents, namespaces
parents first, edge types, sources, claims first versions first, provenance, edges,
reviews). Only what must be ordered is sorted (the small namespace tree, and the few
claims past version 1, so a revision follows the version it supersedes); everything
else streams in table order.

Two readers share the queries (`SCANS`):

- `export_ndjson`: PostgreSQL writes the NDJSON lines itself (`ndjson_line`, string
  concatenation in the spelling orjson gave them) and hands them over a chunk of
  `CHUNK_BLOCKS` table blocks at a time (a TID range scan per chunk, one aggregate
  row each), so the client only passes bytes on. Making the JSON in the client cost
  it about 4 us a record (100k claims, 805k records); PostgreSQL makes a line in
  about 3, and several connections make them at once (`helpers`).
- `export_rows`: rows of typed columns through binary server-side cursors, for the
  writers that need values (RDF, nanopublications, BibTeX).

Either way memory stays flat however many claims there are.

Guarantees: run it inside one transaction (`export_transaction`), which reads a single
REPEATABLE READ snapshot: the records are consistent with each other even while
writers go on. API keys, bundles, events and embeddings are never exported (embeddings
are derived: `phiacta embed --missing` remakes them).

A selection narrows the claims (namespace subtree, source, created-at range, latest
versions only) with the same filter SQL as the `claims` query; then only the edges
between selected claims, their provenance and reviews, and the agents, sources and
namespaces those records refer to go out. With no selection everything goes out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from psycopg import sql
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format

from phiacta.store import Connection
from phiacta.store.claims import ClaimFilterSpec, claim_filter_sql
from phiacta.store.namespaces import NAMESPACE_TREE

BATCH_ROWS = 1000
# Table blocks per chunk of NDJSON (about 9,000 edges or 600 claims with embeddings).
CHUNK_BLOCKS = 128
# Chunks (or pages of rows) a connection reads ahead of the writer.
CHUNKS_AHEAD = 2

KINDS = ("agent", "namespace", "edge_type", "source", "claim", "provenance", "edge", "review")


@dataclass(frozen=True)
class ExportSelection:
    """Which claims to export; every condition given must hold."""

    namespace: str | None = None  # dotted path; its whole subtree
    source_id: UUID | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    latest_only: bool = False

    @property
    def everything(self) -> bool:
        return self == ExportSelection()


SUBTREE_IDS = (
    NAMESPACE_TREE
    + """
SELECT id FROM tree WHERE path = %(path)s OR path LIKE %(prefix)s
"""
)

# The columns each kind of record carries, with their types (for COPY's binary rows).
FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "agent": (("id", "uuid"), ("agent_type", "text"), ("name", "text"),
              ("external_id", "text"), ("trust_score", "float8"), ("attrs", "jsonb"),
              ("created_at", "timestamptz")),
    "namespace": (("id", "uuid"), ("name", "text"), ("parent_id", "uuid"), ("path", "text"),
                  ("description", "text"), ("attrs", "jsonb"), ("created_at", "timestamptz")),
    "edge_type": (("name", "text"), ("description", "text"), ("inverse_name", "text"),
                  ("is_transitive", "bool"), ("is_symmetric", "bool"),
                  ("is_anti_reflexive", "bool"), ("category", "text"), ("attrs", "jsonb"),
                  ("created_at", "timestamptz")),
    "source": (("id", "uuid"), ("source_type", "text"), ("title", "text"),
               ("external_ref", "text"), ("content_hash", "text"), ("submitted_by", "uuid"),
               ("attrs", "jsonb"), ("created_at", "timestamptz")),
    "claim": (("id", "uuid"), ("lineage_id", "uuid"), ("version", "int4"),
              ("claim_type", "text"), ("content", "text"), ("formal_content", "text"),
              ("namespace_id", "uuid"), ("created_by", "uuid"), ("supersedes", "uuid"),
              ("status", "text"), ("attrs", "jsonb"), ("created_at", "timestamptz")),
    "provenance": (("id", "uuid"), ("claim_id", "uuid"), ("source_id", "uuid"),
                   ("extracted_by", "uuid"), ("extraction_method", "text"),
                   ("location_in_source", "text"), ("confidence", "float8"), ("attrs", "jsonb"),
                   ("created_at", "timestamptz")),
    "edge": (("id", "uuid"), ("source_id", "uuid"), ("target_id", "uuid"),
             ("edge_type", "text"), ("strength", "float8"), ("created_by", "uuid"),
             ("source_provenance", "uuid"), ("attrs", "jsonb"), ("created_at", "timestamptz")),
    "review": (("id", "uuid"), ("claim_id", "uuid"), ("reviewer_id", "uuid"),
               ("verdict", "text"), ("confidence", "float8"), ("comment", "text"),
               ("attrs", "jsonb"), ("created_at", "timestamptz"), ("updated_at", "timestamptz")),
    "nanopub": (("nanopub", "json"),),
}  # fmt: skip

# The columns of FIELDS that may be NULL (a test holds this to the schema): the others
# skip the null check when PostgreSQL writes their JSON, which is a fifth of its cost.
NULLABLE: dict[str, frozenset[str]] = {
    "agent": frozenset({"external_id"}),
    "namespace": frozenset({"parent_id", "description"}),
    "edge_type": frozenset({"description", "inverse_name"}),
    "source": frozenset({"title", "external_ref", "content_hash", "submitted_by"}),
    "claim": frozenset({"formal_content", "namespace_id", "created_by", "supersedes"}),
    "provenance": frozenset(
        {"extracted_by", "extraction_method", "location_in_source", "confidence"}
    ),
    "edge": frozenset({"created_by", "source_provenance"}),
    "review": frozenset({"comment"}),
}


def _columns(kind: str, alias: str) -> str:
    # Ids travel as text: making a uuid.UUID of each costs the client more than the
    # server's uuid_out costs PostgreSQL.
    return ", ".join(
        f"{alias}.{name}::text" if type_name == "uuid" else f"{alias}.{name}"
        for name, type_name in FIELDS[kind]
    )


# The NDJSON line of each kind, built by PostgreSQL as text in the spelling orjson gave
# it before (ids as strings, `1.0` for whole floats and null for non-finite ones, UTC
# times with six fraction digits unless they are whole seconds, jsonb as stored): the
# client then only passes bytes on. String concatenation costs the server about half
# what json_build_object does, which recomputes each argument's type per row.

_FLOAT_JSON = """CASE WHEN {c} IN ('Infinity', '-Infinity', 'NaN') THEN 'null'
     WHEN {c} = trunc({c}) AND abs({c}) < 1e16 THEN trunc({c})::bigint::text || '.0'
     ELSE {c}::text END"""
_TIME_JSON = """CASE WHEN date_trunc('second', {c}) = {c}
     THEN to_char({c}, '"\\""YYYY-MM-DD"T"HH24:MI:SSTZH:TZM"\\""')
     ELSE to_char({c}, '"\\""YYYY-MM-DD"T"HH24:MI:SS.USTZH:TZM"\\""') END"""
# Each type's JSON text of a NOT NULL value {c}.
JSON_VALUE = {
    "uuid": """'"' || {c} || '"'""",
    "text": "to_json({c})::text",
    "int4": "{c}::text",
    "bool": "{c}::text",
    "jsonb": "{c}::text",
    "float8": _FLOAT_JSON,
    "timestamptz": _TIME_JSON,
}


def json_value(kind: str, name: str, type_name: str, alias: str) -> str:
    """The SQL text expression of one field's JSON."""
    column = f"{alias}.{name}"
    value = JSON_VALUE[type_name].format(c=column)
    if name in NULLABLE[kind]:
        return f"CASE WHEN {column} IS NULL THEN 'null' ELSE {value} END"
    return value


def ndjson_line(kind: str, alias: str) -> str:
    """The SQL text expression of a record's NDJSON line (without its newline): the
    `type` first, then `FIELDS[kind]` in order."""
    parts = [f"""'{{"type":"{kind}"'"""]
    for name, type_name in FIELDS[kind]:
        parts.append(f"""',"{name}":'""")
        parts.append(json_value(kind, name, type_name, alias))
    parts.append("'}'")
    return "\n    || ".join(parts)


# The same records as JSON objects, for the nanopublication query's aggregates.
AGENT_JSON = """json_build_object(
    'type', 'agent', 'id', a.id, 'agent_type', a.agent_type, 'name', a.name,
    'external_id', a.external_id, 'trust_score', a.trust_score, 'attrs', a.attrs,
    'created_at', a.created_at)"""
NAMESPACE_JSON = """json_build_object(
    'type', 'namespace', 'id', t.id, 'name', t.name, 'parent_id', t.parent_id,
    'path', t.path, 'description', t.description, 'attrs', t.attrs,
    'created_at', t.created_at)"""
EDGE_TYPE_JSON = """json_build_object(
    'type', 'edge_type', 'name', et.name, 'description', et.description,
    'inverse_name', et.inverse_name, 'is_transitive', et.is_transitive,
    'is_symmetric', et.is_symmetric, 'is_anti_reflexive', et.is_anti_reflexive,
    'category', et.category, 'attrs', et.attrs, 'created_at', et.created_at)"""
SOURCE_JSON = """json_build_object(
    'type', 'source', 'id', s.id, 'source_type', s.source_type, 'title', s.title,
    'external_ref', s.external_ref, 'content_hash', s.content_hash,
    'submitted_by', s.submitted_by, 'attrs', s.attrs, 'created_at', s.created_at)"""
CLAIM_JSON = """json_build_object(
    'type', 'claim', 'id', c.id, 'lineage_id', c.lineage_id, 'version', c.version,
    'claim_type', c.claim_type, 'content', c.content, 'formal_content', c.formal_content,
    'namespace_id', c.namespace_id, 'created_by', c.created_by, 'supersedes', c.supersedes,
    'status', c.status, 'attrs', c.attrs, 'created_at', c.created_at)"""
PROVENANCE_JSON = """json_build_object(
    'type', 'provenance', 'id', p.id, 'claim_id', p.claim_id, 'source_id', p.source_id,
    'extracted_by', p.extracted_by, 'extraction_method', p.extraction_method,
    'location_in_source', p.location_in_source, 'confidence', p.confidence,
    'attrs', p.attrs, 'created_at', p.created_at)"""
EDGE_JSON = """json_build_object(
    'type', 'edge', 'id', e.id, 'source_id', e.source_id, 'target_id', e.target_id,
    'edge_type', e.edge_type, 'strength', e.strength, 'created_by', e.created_by,
    'source_provenance', e.source_provenance, 'attrs', e.attrs,
    'created_at', e.created_at)"""
REVIEW_JSON = """json_build_object(
    'type', 'review', 'id', r.id, 'claim_id', r.claim_id, 'reviewer_id', r.reviewer_id,
    'verdict', r.verdict, 'confidence', r.confidence, 'comment', r.comment,
    'attrs', r.attrs, 'created_at', r.created_at, 'updated_at', r.updated_at)"""

# What each kind of record reads: its table, the condition that selects it and, for the
# few kinds whose order matters to an importer, that order. In conditions, `{claims}` is
# the selected claims' ids (a subquery) and `{everything}` is TRUE when there is no
# selection.


@dataclass(frozen=True)
class Scan:
    kind: str
    table: str  # the table scanned, as `table alias`
    alias: str
    where: str
    order_by: str | None = None  # None: table order, which lets PostgreSQL read in chunks
    prelude: str = ""  # a WITH clause the scan reads from

    def columns_query(self) -> str:
        """The records as rows of `FIELDS[kind]`'s values."""
        order = f"\nORDER BY {self.order_by}" if self.order_by else ""
        return (
            f"{self.prelude}SELECT {_columns(self.kind, self.alias)}\n"
            f"FROM {self.table}\nWHERE {self.where}{order}\n"
        )

    @property
    def chunked(self) -> bool:
        return self.order_by is None

    def lines_query(self, part: int = 0, parts: int = 1) -> str:
        """The records as NDJSON text, in rows of (first block, records, lines): a row
        per chunk of `CHUNK_BLOCKS` table blocks (read by TID range, in table order;
        of every `parts` chunks, the `part`th), or a row per record (first block 0)
        when the order matters."""
        # Braces doubled: the statement is a template for `{claims}` and `{everything}`.
        line = ndjson_line(self.kind, self.alias).replace("{", "{{").replace("}", "}}")
        line = f"{line} || E'\\n'"
        if self.order_by is not None:
            return (
                f"{self.prelude}SELECT 0, 1::bigint, {line}\n"
                f"FROM {self.table}\nWHERE {self.where}\nORDER BY {self.order_by}\n"
            )
        name = self.table.split()[0]
        return f"""
SELECT b.first_block, chunk.records, chunk.lines
FROM generate_series(
    {part * CHUNK_BLOCKS},
    (pg_relation_size('{name}') / current_setting('block_size')::int)::int,
    {parts * CHUNK_BLOCKS}) AS b(first_block)
CROSS JOIN LATERAL (
    SELECT count(*) AS records, string_agg({line}, '') AS lines
    FROM {self.table}
    WHERE {self.alias}.ctid >= format('(%%s,0)', b.first_block)::tid
      AND {self.alias}.ctid < format('(%%s,0)', b.first_block + {CHUNK_BLOCKS})::tid
      AND ({self.where})
) AS chunk
WHERE chunk.records > 0
"""


SCANS: dict[str, tuple[Scan, ...]] = {
    "agent": (
        Scan(
            "agent",
            "agents a",
            "a",
            """{everything} OR a.id IN (
    SELECT c.created_by FROM claims c WHERE c.id IN ({claims})
    UNION SELECT p.extracted_by FROM provenance p WHERE p.claim_id IN ({claims})
    UNION SELECT r.reviewer_id FROM reviews r WHERE r.claim_id IN ({claims})
    UNION SELECT e.created_by FROM edges e
          WHERE e.source_id IN ({claims}) AND e.target_id IN ({claims})
    UNION SELECT s.submitted_by FROM sources s JOIN provenance p ON p.source_id = s.id
          WHERE p.claim_id IN ({claims}))""",
        ),
    ),
    "namespace": (
        Scan(
            "namespace",
            "tree t",
            "t",
            """{everything} OR EXISTS (
    SELECT 1 FROM tree used
    WHERE used.id IN (SELECT c.namespace_id FROM claims c WHERE c.id IN ({claims}))
      AND (used.path = t.path OR used.path LIKE t.path || '.%%'))""",
            order_by="t.depth, t.path",
            prelude=NAMESPACE_TREE,
        ),
    ),
    "edge_type": (Scan("edge_type", "edge_types et", "et", "TRUE", "et.category, et.name"),),
    "source": (
        Scan(
            "source",
            "sources s",
            "s",
            """{everything} OR s.id IN (
    SELECT p.source_id FROM provenance p WHERE p.claim_id IN ({claims})
    UNION SELECT e.source_provenance FROM edges e
          WHERE e.source_id IN ({claims}) AND e.target_id IN ({claims}))""",
        ),
    ),
    # First versions in table order; then the few later ones by version, so a revision
    # follows the version it supersedes (in table order within a version, so the same
    # data always gives the same file).
    "claim": (
        Scan("claim", "claims c", "c", "c.version = 1 AND ({everything} OR c.id IN ({claims}))"),
        Scan(
            "claim",
            "claims c",
            "c",
            "c.version > 1 AND ({everything} OR c.id IN ({claims}))",
            order_by="c.version, c.ctid",
        ),
    ),
    "provenance": (
        Scan("provenance", "provenance p", "p", "{everything} OR p.claim_id IN ({claims})"),
    ),
    "edge": (
        Scan(
            "edge",
            "edges e",
            "e",
            "{everything} OR (e.source_id IN ({claims}) AND e.target_id IN ({claims}))",
        ),
    ),
    "review": (Scan("review", "reviews r", "r", "{everything} OR r.claim_id IN ({claims})"),),
}

# One object per claim version with everything its nanopublication holds: the claim,
# its namespace (with its ancestors), its outgoing edges (to selected claims), its
# provenance, and the agents and sources these refer to, so each nanopublication
# stands on its own.
NANOPUBS = (
    NAMESPACE_TREE
    + f"""
SELECT json_build_object(
    'claim', {CLAIM_JSON},
    'namespace_path', (SELECT t.path FROM tree t WHERE t.id = c.namespace_id),
    'namespaces', coalesce((SELECT json_agg({NAMESPACE_JSON} ORDER BY t.depth)
                            FROM tree t, tree own
                            WHERE own.id = c.namespace_id
                              AND (own.path = t.path OR own.path LIKE t.path || '.%%')),
                           '[]'),
    'edges', coalesce((SELECT json_agg({EDGE_JSON} ORDER BY e.created_at, e.id)
                       FROM edges e
                       WHERE e.source_id = c.id AND e.target_id IN ({{claims}})), '[]'),
    'provenance', coalesce((SELECT json_agg({PROVENANCE_JSON} ORDER BY p.created_at, p.id)
                            FROM provenance p WHERE p.claim_id = c.id), '[]'),
    'sources', coalesce((SELECT json_agg({SOURCE_JSON})
                         FROM sources s
                         WHERE s.id IN (SELECT p.source_id FROM provenance p
                                        WHERE p.claim_id = c.id)), '[]'),
    'agents', coalesce((SELECT json_agg({AGENT_JSON})
                        FROM agents a
                        WHERE a.id = c.created_by
                           OR a.id IN (SELECT p.extracted_by FROM provenance p
                                       WHERE p.claim_id = c.id)
                           OR a.id IN (SELECT e.created_by FROM edges e
                                       WHERE e.source_id = c.id)), '[]')
)
FROM claims c
WHERE {{everything}} OR c.id IN ({{claims}})
ORDER BY c.version
"""
)


COUNT_CLAIMS = "SELECT count(*) FROM claims c WHERE {where}"


@asynccontextmanager
async def export_transaction(conn: Connection) -> AsyncIterator[None]:
    """One REPEATABLE READ snapshot for a whole export, timestamps in UTC."""
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        await conn.execute("SET LOCAL TimeZone = 'UTC'")
        yield


async def _claim_filter(conn: Connection, selection: ExportSelection) -> tuple[str, dict[str, Any]]:
    namespace_ids: list[UUID] | None = None
    if selection.namespace is not None:
        path = selection.namespace.removesuffix(".*")
        cur = await conn.execute(SUBTREE_IDS, {"path": path, "prefix": path + ".%"})
        namespace_ids = [row[0] for row in await cur.fetchall()]
    spec = ClaimFilterSpec(
        namespace_ids=namespace_ids,
        source_id=selection.source_id,
        latest_only=selection.latest_only,
        include_retracted=True,
        created_after=selection.created_after,
        created_before=selection.created_before,
    )
    return claim_filter_sql(spec)


async def count_selected_claims(conn: Connection, selection: ExportSelection) -> int:
    where, params = await _claim_filter(conn, selection)
    cur = await conn.execute(COUNT_CLAIMS.format(where=where), params)
    row = await cur.fetchone()
    return int(row[0]) if row else 0


Row = tuple[Any, ...]


class _JsonText(Loader):
    """jsonb as its JSON text (an `orjson.Fragment`), never parsed: an export only
    passes `attrs` on."""

    format = Format.BINARY

    def load(self, data: Buffer) -> orjson.Fragment:
        return orjson.Fragment(bytes(data)[1:])  # after the binary format's version byte


async def export_rows(
    conn: Connection, selection: ExportSelection, kinds: tuple[str, ...] = KINDS
) -> AsyncIterator[tuple[str, list[Row]]]:
    """(kind, rows) of every selected record, kind by kind in import order, in batches
    of at most `BATCH_ROWS` (handing rows on one by one costs more than making them);
    a row holds the values of `FIELDS[kind]`."""
    claims, everything, params = await _selected(conn, selection)
    for kind in kinds:
        queries = [NANOPUBS] if kind == "nanopub" else [s.columns_query() for s in SCANS[kind]]
        for query in queries:
            statement = query.format(claims=claims, everything=everything)
            # A named cursor is server-side: PostgreSQL keeps the result, pages come over
            # one round trip each and are parsed in C (COPY would cost a wait per row).
            async with conn.cursor(name=f"export_{kind}", binary=True) as cur:
                cur.adapters.register_loader("jsonb", _JsonText)
                await cur.execute(statement, params)
                while rows := await cur.fetchmany(BATCH_ROWS):
                    yield kind, rows


class _Utf8(Loader):
    """text as its UTF-8 bytes, never decoded: NDJSON lines go out as they come."""

    format = Format.BINARY

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


async def export_ndjson(
    conn: Connection, selection: ExportSelection, helpers: Sequence[Connection] = ()
) -> AsyncIterator[tuple[str, int, bytes]]:
    """(kind, records, lines): every selected record as NDJSON, kind by kind in import
    order, the lines made by PostgreSQL a chunk of table blocks at a time, so neither
    side holds more than a few chunks (a few MB each) however many claims there are.

    `helpers` (other connections, each in a transaction on `conn`'s snapshot: see
    `shared_snapshot`) make chunks at the same time as `conn`, each every n-th chunk
    of a table; the chunks still go out in table order, so the output is the same."""
    claims, everything, params = await _selected(conn, selection)
    for kind in KINDS:
        for scan in SCANS[kind]:
            readers = [conn, *helpers] if scan.chunked else [conn]
            statements = [
                scan.lines_query(part, len(readers)).format(claims=claims, everything=everything)
                for part in range(len(readers))
            ]
            page = 1 if scan.chunked else BATCH_ROWS
            async for records, lines in _in_table_order(kind, readers, statements, params, page):
                yield kind, records, lines


Chunk = tuple[int, int, bytes]  # first block, records, lines


async def _in_table_order(
    kind: str,
    readers: list[Connection],
    statements: list[str],
    params: dict[str, Any],
    page: int,
) -> AsyncIterator[tuple[int, bytes]]:
    """(records, lines) of the statements' rows, each statement on its own connection
    reading ahead of the writer (`page` rows a fetch, joined), merged by first block."""
    queues: list[asyncio.Queue[Chunk | BaseException | None]] = [
        asyncio.Queue(maxsize=CHUNKS_AHEAD) for _ in readers
    ]
    tasks = [
        asyncio.create_task(_read_chunks(conn, f"export_{kind}", statement, params, page, queue))
        for conn, statement, queue in zip(readers, statements, queues, strict=True)
    ]
    try:
        heads = [await _next_chunk(queue) for queue in queues]
        while any(head is not None for head in heads):
            index = min(
                (i for i, head in enumerate(heads) if head is not None),
                key=lambda i: heads[i][0],  # type: ignore[index]
            )
            head = heads[index]
            assert head is not None
            yield head[1], head[2]
            heads[index] = await _next_chunk(queues[index])
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _read_chunks(
    conn: Connection,
    name: str,
    statement: str,
    params: dict[str, Any],
    page: int,
    queue: asyncio.Queue[Chunk | BaseException | None],
) -> None:
    try:
        async with conn.cursor(name=name, binary=True) as cur:
            cur.adapters.register_loader("text", _Utf8)
            await cur.execute(statement, params)
            while rows := await cur.fetchmany(page):
                lines = b"".join(row[2] for row in rows)
                await queue.put((rows[0][0], sum(row[1] for row in rows), lines))
    except Exception as exc:  # handed to the writer, which raises it
        await queue.put(exc)
        return
    await queue.put(None)


async def _next_chunk(queue: asyncio.Queue[Chunk | BaseException | None]) -> Chunk | None:
    item = await queue.get()
    if isinstance(item, BaseException):
        raise item
    return item


@asynccontextmanager
async def shared_snapshot(conn: Connection, helpers: Sequence[Connection]) -> AsyncIterator[None]:
    """Each helper in a REPEATABLE READ transaction on the snapshot of `conn`'s export
    transaction (call inside `export_transaction`), timestamps in UTC, until exit."""
    if not helpers:
        yield
        return
    cur = await conn.execute("SELECT pg_export_snapshot()")
    row = await cur.fetchone()
    assert row is not None
    async with AsyncExitStack() as stack:
        for helper in helpers:
            await stack.enter_async_context(helper.transaction())
            await helper.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            await helper.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(row[0]))
            await helper.execute("SET LOCAL TimeZone = 'UTC'")
        yield


async def _selected(
    conn: Connection, selection: ExportSelection
) -> tuple[str, str, dict[str, Any]]:
    """The selected claims' ids as a subquery, `{everything}`'s value, the parameters."""
    where, params = await _claim_filter(conn, selection)
    claims = f"SELECT c.id FROM claims c WHERE {where}"
    return claims, "TRUE" if selection.everything else "FALSE", params
