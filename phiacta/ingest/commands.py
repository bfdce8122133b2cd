"""`phiacta ingest FILE` and `phiacta embed --missing`: the write path from a shell.

`ingest` submits a bundle JSON document (the `SubmitBundleInput` shape) through the same
`submit_bundle` the GraphQL mutation uses, as an agent named on the command line.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from phiacta.config import Settings
from phiacta.db.pool import create_pool
from phiacta.db.runtime import open_database
from phiacta.embeddings import EmbeddingError, create_provider
from phiacta.errors import PhiactaError, ValidationFailed
from phiacta.ingest.embedding import fill_missing_embeddings
from phiacta.ingest.spec import bundle_from_json
from phiacta.ingest.submit import Actor, submit_bundle
from phiacta.store import agents as agent_store

DEFAULT_INGEST_AGENT = "phiacta-ingest"


async def _ingest(settings: Settings, url: str, document: object, agent_name: str) -> int:
    spec = bundle_from_json(document)
    pool = create_pool(settings, url)
    await pool.open()
    embedder = create_provider(settings) if settings.embed_on_write else None
    try:
        async with pool.connection() as conn:
            agents = await agent_store.agents_named(conn, agent_name)
            if len(agents) > 1:
                print(f"phiacta: more than one agent is named {agent_name!r}", file=sys.stderr)
                return 2
            agent = agents[0] if agents else None
            if agent is None:
                agent = await agent_store.insert_agent(conn, agent_type="pipeline", name=agent_name)
        result = await submit_bundle(
            pool, embedder, settings, Actor(agent_id=agent.id, request_id="cli"), spec
        )
    finally:
        if embedder is not None:
            await embedder.aclose()
        await pool.close()
    print(json.dumps(result.to_json() | {"replayed": result.replayed}, indent=2))
    return 0


def run_ingest(settings: Settings, file: Path, agent_name: str) -> int:
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        print(f"phiacta: cannot read {file}: {exc}", file=sys.stderr)
        return 2
    database = open_database(settings)
    try:
        return asyncio.run(_ingest(settings, database.url, document, agent_name))
    except ValidationFailed as exc:
        for problem in exc.problems:
            print(f"{problem.path}: {problem.message} [{problem.code}]", file=sys.stderr)
        return 1
    except PhiactaError as exc:
        print(f"phiacta: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        database.stop_embedded()


async def _embed_missing(settings: Settings, url: str, batch_size: int) -> int:
    pool = create_pool(settings, url)
    await pool.open()
    embedder = create_provider(settings)
    try:
        return await fill_missing_embeddings(pool, embedder, batch_size=batch_size)
    finally:
        await embedder.aclose()
        await pool.close()


def run_embed_missing(settings: Settings, batch_size: int) -> int:
    database = open_database(settings)
    try:
        filled = asyncio.run(_embed_missing(settings, database.url, batch_size))
    except EmbeddingError as exc:
        print(f"phiacta: the embedding provider failed: {exc}", file=sys.stderr)
        return 1
    finally:
        database.stop_embedded()
    print(f"embedded {filled} claims")
    return 0
