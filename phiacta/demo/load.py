"""`phiacta demo` (and `make demo`): load the demo graph through the bundle write path.

Each topic is one bundle with a fixed idempotency key, so loading twice writes nothing
new: the second run gets each bundle's stored response (the same claim ids) back.
A review is written only when its reviewer has not reviewed that claim yet.
Every claim carries `attrs.demo = "topic/temp_id"`, by which GraphiQL's examples find
their claims (`claims(filter: {attrs: {demo: "cardio/aspirin-secondary"}})`).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from phiacta.config import Settings
from phiacta.db import migrate
from phiacta.db.pool import Pool, create_pool
from phiacta.db.runtime import open_database
from phiacta.demo.content import TOPICS, Topic
from phiacta.demo.tables import elements_topic, planets_topic, units_topic
from phiacta.embeddings import create_provider
from phiacta.embeddings.base import EmbeddingProvider
from phiacta.errors import PhiactaError
from phiacta.ingest.reviews import write_review
from phiacta.ingest.spec import bundle_from_json
from phiacta.ingest.submit import Actor, submit_bundle
from phiacta.store import Connection
from phiacta.store import agents as agent_store
from phiacta.store import reviews as review_store
from phiacta.store.visibility import EVERYTHING

# Part of every idempotency key: a changed demo gets a new version, not a conflict.
DEMO_VERSION = "v1"
CURATOR = "phiacta-demo"
REVIEWERS = {"reviewer-a": "Demo reviewer A", "reviewer-b": "Demo reviewer B"}


def all_topics() -> tuple[Topic, ...]:
    # Topics may point at claims of topics before them (`thermo/kelvin`).
    return (*TOPICS, elements_topic(), planets_topic(), units_topic())


@dataclass
class DemoSummary:
    claims: int = 0
    edges: int = 0
    reviews: int = 0
    new_bundles: int = 0
    replayed_bundles: int = 0
    ids: dict[str, UUID] = field(default_factory=dict)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def _claims(topic: Topic) -> list[dict[str, Any]]:
    claims = []
    for line in _lines(topic.claims):
        head, content = line.split(":", 1)
        temp_id, claim_type = head.split()
        claims.append(
            {
                "tempId": temp_id,
                "claimType": claim_type,
                "content": content.strip(),
                "confidence": 0.95,
                "attrs": {"demo": f"{topic.slug}/{temp_id}"},
            }
        )
    return claims


def _end(name: str, known: dict[str, UUID]) -> dict[str, str]:
    return {"claimId": str(known[name])} if "/" in name else {"tempId": name}


def _edges(topic: Topic, known: dict[str, UUID]) -> list[dict[str, Any]]:
    edges = []
    for line in _lines(topic.edges):
        source, edge_type, target, *strength = line.split()
        edge: dict[str, Any] = {
            "source": _end(source, known),
            "target": _end(target, known),
            "edgeType": edge_type,
        }
        if strength:
            edge["strength"] = float(strength[0])
        edges.append(edge)
    return edges


def bundle_document(topic: Topic, known: dict[str, UUID]) -> dict[str, Any]:
    """The SubmitBundleInput of one topic; `known` maps earlier topics' claims to ids."""
    return {
        "idempotencyKey": f"phiacta-demo-{DEMO_VERSION}-{topic.slug}",
        "source": {"sourceType": topic.source_type, "title": topic.source_title},
        "namespace": topic.namespace,
        "createNamespaces": True,
        "claims": _claims(topic),
        "edges": _edges(topic, known),
        "attrs": {"demo": topic.slug},
    }


async def _agent(conn: Connection, name: str, agent_type: str) -> UUID:
    found = await agent_store.agents_named(conn, name)
    if found:
        return found[0].id
    return (await agent_store.insert_agent(conn, agent_type=agent_type, name=name)).id


async def _reviews(
    pool: Pool, topic: Topic, reviewers: dict[str, UUID], known: dict[str, UUID]
) -> int:
    """Write the topic's reviews that are not there yet; how many were written."""
    lines = [line.split(":", 1) for line in _lines(topic.reviews)]
    wanted = [(head.split(), comment.strip()) for head, comment in lines]
    claim_ids = [known[f"{topic.slug}/{fields[0]}"] for fields, _ in wanted]
    written = 0
    async with pool.connection() as conn:
        existing = await review_store.reviews_of_claims(conn, claim_ids, limit=50, after=None)
        for (fields, comment), claim_id in zip(wanted, claim_ids, strict=True):
            _, reviewer, verdict, confidence = fields
            if any(r.reviewer_id == reviewers[reviewer] for r in existing[claim_id]):
                continue
            await write_review(
                conn,
                claim_id=claim_id,
                reviewer_id=reviewers[reviewer],
                verdict=verdict,
                confidence=float(confidence),
                comment=comment,
                attrs={"demo": topic.slug},
                visibility=EVERYTHING,
            )
            written += 1
    return written


async def load_demo(
    pool: Pool, embedder: EmbeddingProvider | None, settings: Settings
) -> DemoSummary:
    """Load every topic (bundles replayed when already loaded)."""
    async with pool.connection() as conn:
        curator = await _agent(conn, CURATOR, "pipeline")
        reviewers = {key: await _agent(conn, name, "human") for key, name in REVIEWERS.items()}
    summary = DemoSummary()
    for topic in all_topics():
        spec = bundle_from_json(bundle_document(topic, summary.ids))
        result = await submit_bundle(
            pool, embedder, settings, Actor(agent_id=curator, request_id="demo"), spec
        )
        for mapping in result.claims:
            summary.ids[f"{topic.slug}/{mapping.temp_id}"] = mapping.id
        summary.claims += len(result.claims)
        summary.edges += len(spec.edges)
        if result.replayed:
            summary.replayed_bundles += 1
        else:
            summary.new_bundles += 1
        summary.reviews += await _reviews(pool, topic, reviewers, summary.ids)
    return summary


async def _load(settings: Settings, url: str) -> DemoSummary:
    pool = create_pool(settings, url)
    await pool.open()
    embedder = create_provider(settings) if settings.embed_on_write else None
    try:
        return await load_demo(pool, embedder, settings)
    finally:
        if embedder is not None:
            await embedder.aclose()
        await pool.close()


def run_demo(settings: Settings) -> int:
    """The `phiacta demo` command: load, then say what was loaded and where to look."""
    database = open_database(settings)
    try:
        if settings.is_development or not settings.database_url:
            migrate.upgrade(database.url, settings.embedding_dimensions)
        summary = asyncio.run(_load(settings, database.url))
    except PhiactaError as exc:
        print(f"phiacta demo: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        database.stop_embedded()
    if summary.new_bundles or summary.reviews:
        print(
            f"Loaded the demo graph: {summary.claims} claims on {len(all_topics())} "
            f"topics, {summary.edges} edges, {summary.reviews} new reviews."
        )
    else:
        print(f"The demo graph is already loaded ({summary.claims} claims); nothing new written.")
    print("Open /graphql in a browser: its example tabs run against it.")
    return 0
