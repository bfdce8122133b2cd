"""Carry edges forward on revision, or resolve them by lineage when read? Both measured.

    .venv/bin/python bench/generate.py --claims 10000
    .venv/bin/python bench/lineage_edges.py --claims 10000

On the database bench/generate.py made, it times, alternating the two per claim:
- the read each choice implies for a claim's first page of outgoing edges: the edges of
  the claim itself (edges carried forward), or the edges of every version of its
  lineage (edges resolved by lineage);
- the write carrying forward costs: store.edges.CARRY_EDGES_FORWARD for a new version
  of claims of growing degree, in a transaction that is rolled back.
Prints the figures and writes bench/results/lineage_edges.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from phiacta.db import admin
from phiacta.db.embedded import EmbeddedPostgres
from phiacta.store.edges import CARRY_EDGES_FORWARD

CARRIED_READ = """
SELECT e.id, e.target_id FROM edges e
WHERE e.source_id = %(id)s
ORDER BY e.created_at, e.id
LIMIT 11
"""

# Edges stay on the version they were made for; a read gathers the whole lineage's.
LINEAGE_READ = """
SELECT e.id, e.target_id
FROM claims me
JOIN claims v ON v.lineage_id = me.lineage_id
JOIN edges e ON e.source_id = v.id
WHERE me.id = %(id)s
ORDER BY e.created_at, e.id
LIMIT 11
"""


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
    }


async def measure(url: str, iterations: int) -> dict[str, Any]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT source_id FROM edges GROUP BY source_id HAVING count(*) >= 2 LIMIT 2000"
        )
        ids = [row[0] for row in await cur.fetchall()]
        rng = random.Random(7)
        carried: list[float] = []
        lineage: list[float] = []
        for _ in range(iterations):
            claim_id = rng.choice(ids)
            for statement, samples in ((CARRIED_READ, carried), (LINEAGE_READ, lineage)):
                start = time.perf_counter()
                await (await conn.execute(statement, {"id": claim_id}, prepare=True)).fetchall()
                samples.append(time.perf_counter() - start)
        writes = {}
        for degree in (10, 100, 1000):
            cur = await conn.execute(
                "SELECT c.id, c.lineage_id, count(*) FROM claims c"
                " JOIN edges e ON e.source_id = c.id OR e.target_id = c.id"
                " GROUP BY c.id HAVING count(*) >= %(d)s ORDER BY count(*) LIMIT 1",
                {"d": degree},
            )
            row = await cur.fetchone()
            if row is None:
                continue
            old_id, lineage_id, actual = row
            samples = []
            for _ in range(5):
                async with conn.transaction(force_rollback=True):
                    new_id = uuid.uuid4()
                    await conn.execute(
                        "INSERT INTO claims (id, lineage_id, version, claim_type, content)"
                        " SELECT %(new)s, lineage_id, 1000, claim_type, content"
                        " FROM claims WHERE id = %(old)s",
                        {"new": new_id, "old": old_id},
                    )
                    start = time.perf_counter()
                    await conn.execute(
                        CARRY_EDGES_FORWARD,
                        {"old_id": old_id, "new_id": new_id, "lineage_id": lineage_id},
                    )
                    samples.append(time.perf_counter() - start)
            writes[str(degree)] = {"degree": int(actual), **_summary(samples)}
    return {
        "read_first_page_carried": _summary(carried),
        "read_first_page_by_lineage": _summary(lineage),
        "carry_forward_write": writes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "phiacta-bench"
    )
    parser.add_argument("--iterations", type=int, default=500)
    args = parser.parse_args()
    pg = EmbeddedPostgres(args.data_dir)
    pg.start()
    try:
        url = admin.with_database(pg.url(), f"bench_{args.claims}")
        results = asyncio.run(measure(url, args.iterations))
    finally:
        pg.stop()
    print(json.dumps(results, indent=2))
    out = Path(__file__).parent / "results" / "lineage_edges.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
