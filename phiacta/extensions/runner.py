"""Running an input extension: ingest a source, build one bundle, submit it once.

The bundle's idempotency key is `<manifest id>@<version>:<SHA-256 of the content>`, so
running the same extension version on the same bytes again creates nothing new: the
runner first asks whether any agent's accepted bundle already carries that key (another
agent's run counts too), and the submission itself is idempotent for the same agent.
A new extension version re-reads the document; its claims join the same source, which
is found by its identifiers.

Where the bundle goes is a `Target`: `DatabaseTarget` writes to the configured database
through the same `submit_bundle` the GraphQL mutation uses, as the extension's agent
(registered on first use); a server target (the SDK) sends it over HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from uuid import UUID

from phiacta.config import Settings
from phiacta.db.pool import Pool
from phiacta.embeddings.base import EmbeddingProvider
from phiacta.extensions.base import (
    ExtractionResult,
    InputExtension,
    Manifest,
    Source,
)
from phiacta.identifiers import canonical_identifier, parse_orcid
from phiacta.ingest.result import BundleResult
from phiacta.ingest.spec import (
    ArtifactSpec,
    BundleSpec,
    ClaimSpec,
    EdgeSpec,
    EndSpec,
    SourceSpec,
)
from phiacta.ingest.submit import Actor, submit_bundle
from phiacta.store import agents as agent_store
from phiacta.store import bundles as bundle_store

EXTENSION_AGENT_TYPE = "extension"
# A bundle holds at most MAX_BUNDLE_CLAIMS claims (500 by default).
DEFAULT_MAX_CLAIMS = 500


def idempotency_key(manifest: Manifest, source: Source) -> str:
    """The same extension version on the same bytes: the same key."""
    return f"{manifest.id}@{manifest.version}:{source.sha256}"


@dataclass(frozen=True)
class Outcome:
    """What ingesting one document did, for the summary table."""

    name: str
    claims: int = 0
    edges: int = 0
    references: int = 0
    links: int = 0
    warnings: list[str] = field(default_factory=list)
    already_ingested: bool = False
    bundle_id: UUID | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class Submitted:
    """What a target reports of one submitted (or earlier accepted) bundle."""

    bundle_id: UUID
    claims: int
    pending_references: int
    resolved_references: int
    warnings: list[str]
    replayed: bool

    @classmethod
    def of(cls, result: BundleResult) -> Submitted:
        return cls(
            bundle_id=result.bundle_id,
            claims=len(result.claims),
            pending_references=len(result.pending_references),
            resolved_references=len(result.resolved_references),
            warnings=[f"{w.path}: {w.code}" for w in result.warnings if w.code != "NO_EDGES"],
            replayed=result.replayed,
        )


class Target(Protocol):
    """Where bundles go."""

    async def register(self, manifest: Manifest) -> None:
        """Make sure the extension is known (an agent with its manifest)."""

    async def accepted(self, key: str) -> Submitted | None:
        """Any agent's accepted bundle with this key, if there is one."""

    async def submit(self, spec: BundleSpec) -> Submitted:
        """Submit the bundle; typed errors on refusal."""


def to_bundle(manifest: Manifest, source: Source, result: ExtractionResult) -> BundleSpec:
    """The one bundle an extraction becomes: claims keyed by their keys, edges between
    them or to cited works (pending references until those arrive), artifacts."""
    meta = result.source
    identifiers = [canonical_identifier(i) for i in meta.identifiers if i.strip()]
    identifiers = list(dict.fromkeys(identifiers))
    attrs: dict[str, Any] = dict(meta.attrs)
    if meta.authors:
        attrs["authors"] = [
            {"name": a.name} | ({"orcid": o} if (o := _orcid(a.orcid)) else {})
            for a in meta.authors
        ]
    if meta.year is not None:
        attrs["year"] = meta.year
    if meta.venue:
        attrs["venue"] = meta.venue
    attrs["file"] = source.name
    attrs["extension"] = {"id": manifest.id, "version": manifest.version}
    return BundleSpec(
        idempotency_key=idempotency_key(manifest, source),
        source=SourceSpec(
            source_type=meta.source_type,
            title=meta.title,
            external_ref=identifiers[0] if identifiers else None,
            content_hash=source.sha256,
            attrs=attrs,
            identifiers=tuple(identifiers[1:]),
        ),
        claims=tuple(
            ClaimSpec(
                temp_id=c.key,
                content=c.content,
                claim_type=c.claim_type,
                confidence=c.confidence,
                extraction_method=c.extraction_method or manifest.id,
                location_in_source=_location(c.section, c.position),
                attrs=c.attrs
                | ({"section": c.section} if c.section else {})
                | ({"position": c.position} if c.position is not None else {}),
            )
            for c in result.claims
        ),
        edges=_edges(result),
        artifacts=tuple(
            ArtifactSpec(
                artifact_type=a.artifact_type,
                temp_id=f"artifact-{i}",
                description=a.description,
                content_inline=a.content_inline,
                structured_data=a.structured_data,
                claim_temp_ids=a.claim_keys,
                attrs=a.attrs,
            )
            for i, a in enumerate(result.artifacts)
        ),
        extension_id=manifest.id,
        attrs={"extension_version": manifest.version},
    )


def _orcid(value: str | None) -> str | None:
    return parse_orcid(value) if value else None


def _location(section: str | None, position: int | None) -> str | None:
    if section is None and position is None:
        return None
    return f"{section or ''}:{'' if position is None else position}"


def _edges(result: ExtractionResult) -> tuple[EdgeSpec, ...]:
    """The result's edges, each (source, target, type) once: two citations of one work
    from one claim are one edge."""
    seen: set[tuple[str, str, str]] = set()
    edges = []
    for e in result.edges:
        target = (
            EndSpec(external_ref=canonical_identifier(e.target_ref))
            if e.target_ref
            else EndSpec(temp_id=e.target)
        )
        key = (e.source, target.external_ref or target.temp_id or "", e.edge_type)
        if key in seen:
            continue
        seen.add(key)
        edges.append(
            EdgeSpec(
                source=EndSpec(temp_id=e.source),
                target=target,
                edge_type=e.edge_type,
                strength=e.strength,
                attrs=e.attrs,
            )
        )
    return tuple(edges)


def outcome_of(name: str, spec: BundleSpec, done: Submitted, warnings: Sequence[str]) -> Outcome:
    references = sum(1 for e in spec.edges if e.target.external_ref is not None)
    internal = len(spec.edges) - references
    # Links: this paper's references that found their work, and earlier papers'
    # references to this one that it resolved.
    links = references - done.pending_references + done.resolved_references
    return Outcome(
        name=name,
        claims=done.claims,
        edges=internal,
        references=references,
        links=links,
        warnings=[*warnings, *done.warnings],
        already_ingested=done.replayed,
        bundle_id=done.bundle_id,
    )


async def run_extension(
    extension: InputExtension,
    source: Source,
    target: Target,
    max_claims: int = DEFAULT_MAX_CLAIMS,
) -> Outcome:
    """Ingest `source` with `extension` and submit the bundle through `target`, unless
    this extension version already ingested these bytes (for any agent)."""
    manifest = extension.manifest
    key = idempotency_key(manifest, source)
    stored = await target.accepted(key)
    if stored is not None:
        return Outcome(
            name=source.name,
            already_ingested=True,
            bundle_id=stored.bundle_id,
            claims=stored.claims,
        )
    result = extension.ingest(source)
    if not result.claims:
        return Outcome(name=source.name, error="no claims found", warnings=result.warnings)
    if len(result.claims) > max_claims:
        result = keep_most_confident(result, max_claims)
    spec = to_bundle(manifest, source, result)
    return outcome_of(source.name, spec, await target.submit(spec), result.warnings)


def keep_most_confident(result: ExtractionResult, limit: int) -> ExtractionResult:
    """The `limit` most confident claims (in their order), the edges and artifacts
    among them, and a warning saying how many were left out."""
    ranked = sorted(range(len(result.claims)), key=lambda i: -(result.claims[i].confidence or 0))
    kept_positions = sorted(ranked[:limit])
    claims = [result.claims[i] for i in kept_positions]
    keys = {c.key for c in claims}
    return ExtractionResult(
        source=result.source,
        claims=claims,
        edges=[
            e for e in result.edges if e.source in keys and (e.target is None or e.target in keys)
        ],
        artifacts=[
            replace(a, claim_keys=tuple(k for k in a.claim_keys if k in keys))
            for a in result.artifacts
        ],
        warnings=[
            *result.warnings,
            f"{len(result.claims) - limit} least confident claims left out "
            f"(a bundle holds at most {limit})",
        ],
    )


class DatabaseTarget:
    """Writes straight to the database, as the extension's agent (made on first use,
    with its manifest, as `registerExtension` would)."""

    def __init__(self, pool: Pool, embedder: EmbeddingProvider | None, settings: Settings) -> None:
        self._pool = pool
        self._embedder = embedder
        self._settings = settings
        self._agent: UUID | None = None

    async def register(self, manifest: Manifest) -> None:
        async with self._pool.connection() as conn:
            found = await agent_store.extension_by_manifest_id(conn, manifest.id)
            if found is None:
                try:
                    found = await agent_store.insert_extension(
                        conn,
                        manifest_id=manifest.id,
                        name=manifest.name,
                        manifest=manifest.as_attrs(),
                    )
                except agent_store.ExtensionExists:
                    # Registered by a concurrent run a moment ago.
                    found = await agent_store.extension_by_manifest_id(conn, manifest.id)
        assert found is not None
        self._agent = found.id

    async def accepted(self, key: str) -> Submitted | None:
        async with self._pool.connection() as conn:
            stored = await bundle_store.accepted_submission_of_key(conn, key)
        if stored is None or stored.response is None:
            return None
        return Submitted.of(BundleResult.from_json(stored.response).as_replay())

    async def submit(self, spec: BundleSpec) -> Submitted:
        assert self._agent is not None, "register the extension first"
        actor = Actor(agent_id=self._agent, request_id="phiacta-ingest")
        result = await submit_bundle(self._pool, self._embedder, self._settings, actor, spec)
        return Submitted.of(result)


def bundle_input(spec: BundleSpec) -> dict[str, Any]:
    """The bundle as a GraphQL `SubmitBundleInput` (what the SDK sends)."""

    def end(e: EndSpec) -> dict[str, Any]:
        return {
            k: v
            for k, v in (("tempId", e.temp_id), ("externalRef", e.external_ref))
            if v is not None
        }

    source = spec.source
    return {
        "idempotencyKey": spec.idempotency_key,
        "extensionId": spec.extension_id,
        "attrs": spec.attrs,
        "source": {
            "sourceType": source.source_type.upper(),
            "title": source.title,
            "externalRef": source.external_ref,
            "contentHash": source.content_hash,
            "identifiers": list(source.identifiers),
            "attrs": source.attrs,
        },
        "claims": [
            {
                "tempId": c.temp_id,
                "content": c.content,
                "claimType": c.claim_type.upper(),
                "confidence": c.confidence,
                "extractionMethod": c.extraction_method,
                "locationInSource": c.location_in_source,
                "attrs": c.attrs,
            }
            for c in spec.claims
        ],
        "edges": [
            {
                "source": end(e.source),
                "target": end(e.target),
                "edgeType": e.edge_type,
                "strength": e.strength,
                "attrs": e.attrs,
            }
            for e in spec.edges
        ],
        "artifacts": [
            {
                "artifactType": a.artifact_type.upper(),
                "tempId": a.temp_id,
                "description": a.description,
                "contentInline": a.content_inline,
                "structuredData": a.structured_data,
                "claimTempIds": list(a.claim_temp_ids),
                "attrs": a.attrs,
            }
            for a in spec.artifacts
        ],
    }
