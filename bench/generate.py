"""Load a synthetic knowledge graph into a database of its own, through COPY.

    .venv/bin/python bench/generate.py --claims 100000 [--data-dir /tmp/phiacta-bench]

Shape: claims in lineages (about 10% have a second version, the first one deprecated;
1% retracted), 5 edges per claim over the 15 seeded types with power-law out- and
in-degrees (a few hubs, a long tail), about one review and one provenance row per claim,
one source per ten claims, creation times about a minute apart (edges after their claims),
clustered unit vectors (100 centres plus noise) as embeddings and Zipf-distributed words
as content. The ANN index is dropped before the load and
rebuilt after it; its build time is printed, since it decides HNSW versus IVFFlat.

The database is named `bench_<claims>` on an embedded server in --data-dir, which is left
running for bench/read.py.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg

from phiacta.db import admin, migrate
from phiacta.db.embedded import EmbeddedPostgres

DIMENSIONS = 384
EDGES_PER_CLAIM = 5
CLUSTERS = 100
EDGE_TYPE_WEIGHTS = {
    "supports": 20, "contradicts": 6, "corroborates": 6, "depends_on": 10, "assumes": 5,
    "derives_from": 5, "implies": 4, "equivalent_to": 1, "generalizes": 3, "refines": 5,
    "part_of": 4, "instantiates": 3, "supersedes": 2, "related_to": 20, "responds_to": 6,
}  # fmt: skip
CLAIM_TYPES = ["assertion", "observation", "theorem", "definition", "method", "evidence"]
WORDS = [
    f"{a}{b}"
    for a in ("cardio", "neuro", "immuno", "onco", "geo", "astro", "bio", "chemo", "photo", "hydro")
    for b in (
        "logy", "genic", "cyte", "sphere", "metric", "kinase", "therapy", "lysis", "stasis",
        "tropic", "plasm", "gram", "scope", "phage", "toxin", "vector", "lipid", "genome",
        "protein", "signal",
    )
] + ["heart", "attack", "aspirin", "risk", "lowers", "raises", "climate", "volcano",
     "penguin", "cell", "gene", "trial", "dose"]  # fmt: skip


def bench_database(claims: int) -> str:
    return f"bench_{claims}"


def server(data_dir: Path) -> EmbeddedPostgres:
    pg = EmbeddedPostgres(data_dir)
    pg.start()
    return pg


def zipf_words(rng: np.random.Generator, count: int, length: int) -> list[str]:
    ranks = np.minimum(rng.zipf(1.3, size=(count, length)), len(WORDS)) - 1
    return [" ".join(WORDS[i] for i in row) for row in ranks]


def vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    centres = rng.normal(size=(CLUSTERS, DIMENSIONS)).astype(np.float32)
    which = rng.integers(0, CLUSTERS, size=count)
    data = centres[which] + 0.35 * rng.normal(size=(count, DIMENSIONS)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    return data


def power_law_picks(rng: np.random.Generator, population: int, count: int) -> np.ndarray:
    """Indexes into `population` items with a heavy tail (a few items picked very often)."""
    weights = 1.0 / np.arange(1, population + 1) ** 0.8
    weights /= weights.sum()
    order = rng.permutation(population)
    return np.asarray(order[rng.choice(population, size=count, p=weights)])


def generate(conn: psycopg.Connection, claims: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    pyrng = random.Random(seed)
    timings: dict[str, float] = {}
    agents = [uuid.UUID(int=pyrng.getrandbits(128)) for _ in range(1000)]
    namespaces = [uuid.UUID(int=pyrng.getrandbits(128)) for _ in range(20)]
    sources = [uuid.UUID(int=pyrng.getrandbits(128)) for _ in range(max(1, claims // 10))]
    claim_ids = [uuid.UUID(int=pyrng.getrandbits(128)) for _ in range(claims)]

    started = time.perf_counter()
    with conn.cursor() as cur:
        with cur.copy("COPY agents (id, agent_type, name, trust_score) FROM STDIN") as copy:
            for i, agent in enumerate(agents):
                copy.write_row((agent, "human" if i % 3 else "ai", f"agent {i}", 1.0))
        with cur.copy("COPY namespaces (id, name) FROM STDIN") as copy:
            for i, ns in enumerate(namespaces):
                copy.write_row((ns, f"field{i}"))
        with cur.copy(
            "COPY sources (id, source_type, title, external_ref, submitted_by) FROM STDIN"
        ) as copy:
            for i, source in enumerate(sources):
                copy.write_row((source, "paper", f"Paper {i}", f"10.5555/{i}", agents[i % 1000]))
        contents = zipf_words(rng, claims, 14)
        embeddings = vectors(rng, claims)
        # ~10% of claims are the second version of the claim before them.
        with cur.copy(
            "COPY claims (id, lineage_id, version, supersedes, claim_type, content,"
            " namespace_id, created_by, status, embedding, created_at) FROM STDIN"
        ) as copy:
            lineage = claim_ids[0]
            for i, claim in enumerate(claim_ids):
                second = i > 0 and i % 10 == 5
                lineage = lineage if second else claim
                status = "retracted" if i % 100 == 7 else "active"
                if i % 10 == 4:
                    status = "deprecated"  # the first version of the next (second) one
                vector = "[" + ",".join(f"{x:.4f}" for x in embeddings[i]) + "]"
                copy.write_row(
                    (
                        claim, lineage, 2 if second else 1, claim_ids[i - 1] if second else None,
                        CLAIM_TYPES[i % len(CLAIM_TYPES)], contents[i], namespaces[i % 20],
                        agents[int(rng.integers(0, 1000))], status, vector,
                        created_at(i, rng),
                    )
                )  # fmt: skip
    timings["copy_claims_s"] = time.perf_counter() - started

    started = time.perf_counter()
    total = claims * EDGES_PER_CLAIM
    sources_of = power_law_picks(rng, claims, total)
    targets_of = power_law_picks(rng, claims, total)
    types = list(EDGE_TYPE_WEIGHTS)
    weights = np.array(list(EDGE_TYPE_WEIGHTS.values()), dtype=float)
    type_of = rng.choice(len(types), size=total, p=weights / weights.sum())
    seen: set[tuple[int, int, int]] = set()
    with conn.cursor() as cur:
        with cur.copy(
            "COPY edges (source_id, target_id, edge_type, strength, created_by, created_at)"
            " FROM STDIN"
        ) as copy:
            for s, t, k in zip(
                sources_of.tolist(), targets_of.tolist(), type_of.tolist(), strict=True
            ):
                if s == t or (s, t, k) in seen:
                    continue
                seen.add((s, t, k))
                copy.write_row(
                    (
                        claim_ids[s],
                        claim_ids[t],
                        types[k],
                        round(pyrng.random(), 3),
                        agents[s % 1000],
                        # An edge is made after both its claims.
                        created_at(max(s, t), rng) + timedelta(seconds=pyrng.random() * 60),
                    )
                )
        with cur.copy(
            "COPY reviews (claim_id, reviewer_id, verdict, confidence) FROM STDIN"
        ) as copy:
            for i, claim in enumerate(claim_ids):
                for r in range(i % 3):
                    verdict = "dispute" if (i + r) % 5 == 0 else "endorse"
                    copy.write_row(
                        (claim, agents[(i + r * 7) % 1000], verdict, 0.5 + (i % 50) / 100)
                    )
        with cur.copy(
            "COPY provenance (claim_id, source_id, extracted_by, location_in_source, confidence)"
            " FROM STDIN"
        ) as copy:
            for i, claim in enumerate(claim_ids):
                copy.write_row((claim, sources[i // 10], agents[0], str(i % 10), 0.9))
    timings["copy_edges_reviews_provenance_s"] = time.perf_counter() - started
    timings["edges"] = float(len(seen))
    return timings


# Claims arrive over months, a minute or so apart with microseconds of their own, as a
# graph fed by bots does: pages and cursors then order by real, distinct timestamps.
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def created_at(i: int, rng: np.random.Generator) -> datetime:
    return EPOCH + timedelta(seconds=i * 60, microseconds=int(rng.integers(0, 60_000_000)))


def build_ann_index(conn: psycopg.Connection, kind: str) -> float:
    conn.execute("DROP INDEX IF EXISTS ix_claims_embedding")
    conn.execute("SET maintenance_work_mem = '6GB'")
    conn.execute("SET max_parallel_maintenance_workers = 1")
    started = time.perf_counter()
    if kind == "hnsw":
        conn.execute(
            "CREATE INDEX ix_claims_embedding ON claims USING hnsw (embedding vector_cosine_ops)"
        )
    else:
        conn.execute(
            "CREATE INDEX ix_claims_embedding ON claims USING ivfflat (embedding vector_cosine_ops)"
            " WITH (lists = 1000)"
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "phiacta-bench"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ann", choices=["hnsw", "ivfflat"], default="hnsw")
    args = parser.parse_args()

    pg = server(args.data_dir)
    name = bench_database(args.claims)
    admin.drop_database(pg.url(), name)
    admin.create_database(pg.url(), name)
    url = admin.with_database(pg.url(), name)
    migrate.upgrade(url, DIMENSIONS)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP INDEX ix_claims_embedding")
        timings = generate(conn, args.claims, args.seed)
        timings[f"{args.ann}_build_s"] = build_ann_index(conn, args.ann)
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        timings["vacuum_analyze_s"] = time.perf_counter() - started
    report = {"claims": args.claims, "database": name, "url": url, **timings}
    print(json.dumps(report, indent=2))
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"generate_{args.claims}.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
