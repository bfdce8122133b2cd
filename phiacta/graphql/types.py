"""GraphQL object types. Each is built from a store row by `from_row`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime
from typing import TypeVar, cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from phiacta.graphql.context import Info
from phiacta.graphql.engine.plain_lists import reads_only_context
from phiacta.graphql.enums import (
    AgentType,
    ArtifactType,
    BundleStatus,
    ClaimStatus,
    ClaimType,
    ConfidenceModel,
    EdgeCategory,
    EpistemicStatus,
    PendingReferenceStatus,
    SourceType,
    Verdict,
)
from phiacta.graphql.loaders import EdgeCountKey, EdgePageKey, ReviewPageKey, SimilarKey
from phiacta.graphql.pagination import (
    Connection,
    build_connection,
    page_size,
    time_key,
    time_page,
)
from phiacta.store.claims import MAX_SIMILAR, ClaimRow
from phiacta.store.confidence import ConfidenceRow
from phiacta.store.edge_types import EdgeTypeRow
from phiacta.store.edges import EdgeDirection
from phiacta.store.namespaces import NamespaceRow
from phiacta.store.rows import (
    AgentRow,
    ArtifactRow,
    BundleRow,
    EdgeRow,
    EventRow,
    PendingReferenceRow,
    ProvenanceRow,
    ReviewRow,
    SourceRow,
)


@strawberry.type(description="A kind of typed relation between two claims.")
class EdgeType:
    name: str
    description: str | None
    inverse_name: str | None = strawberry.field(
        description="The name of the relation read from target to source."
    )
    is_transitive: bool
    is_symmetric: bool
    is_anti_reflexive: bool
    category: EdgeCategory
    attrs: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: EdgeTypeRow) -> EdgeType:
        return cls(
            name=row.name,
            description=row.description,
            inverse_name=row.inverse_name,
            is_transitive=row.is_transitive,
            is_symmetric=row.is_symmetric,
            is_anti_reflexive=row.is_anti_reflexive,
            category=EdgeCategory(row.category),
            attrs=JSON(row.attrs),
            created_at=row.created_at,
        )


@strawberry.type(description="A node of the namespace hierarchy, addressed by dotted path.")
class Namespace:
    id: UUID
    name: str
    path: str = strawberry.field(description="The dotted path, e.g. `biology.immunology`.")
    parent_id: UUID | None
    description: str | None
    attrs: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: NamespaceRow) -> Namespace:
        return cls(
            id=row.id,
            name=row.name,
            path=row.path,
            parent_id=row.parent_id,
            description=row.description,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
        )

    @strawberry.field(description="The namespace this one sits under, if any.")
    async def parent(self, info: Info) -> Namespace | None:
        if self.parent_id is None:
            return None
        row = await info.context.loaders.namespace.load(self.parent_id)
        return Namespace.from_row(row) if row else None

    @strawberry.field(description="The namespaces directly under this one, by name.")
    async def children(self, info: Info) -> list[Namespace]:
        rows = await info.context.loaders.namespace_children.load(self.id)
        return [Namespace.from_row(row) for row in rows]


_CONFIDENCE_RULES = (
    "A self-review (by the claim's creator, an agent the creator owns, or the creator's "
    "owner) is counted in `reviewCount` and `selfReviewCount` only. SIMPLE weighs every "
    "other reviewer 1; TRUST_WEIGHTED weighs reviewer r by w_r = max(trustScore_r, 0). "
    "With c_r a review's confidence: endorsementWeight = sum of w_r * c_r over "
    "endorsements, disputeWeight the same over disputes, meanEndorsementConfidence = "
    "sum(w_r * c_r) / sum(w_r) over endorsements. Floats are rounded to 6 significant "
    "digits."
)


@strawberry.type(description="One immutable version of an atomic scientific statement.")
class Claim:
    id: UUID
    lineage_id: UUID = strawberry.field(description="Shared by every version of this claim.")
    version: int
    is_latest: bool = strawberry.field(description="Whether no newer version exists.")
    claim_type: ClaimType
    content: str
    formal_content: str | None
    status: ClaimStatus
    namespace_id: UUID | None
    created_by_id: UUID | None
    supersedes_id: UUID | None
    attrs: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: ClaimRow) -> Claim:
        return cls(
            id=row.id,
            lineage_id=row.lineage_id,
            version=row.version,
            is_latest=row.is_latest,
            claim_type=ClaimType(row.claim_type),
            content=row.content,
            formal_content=row.formal_content,
            status=ClaimStatus(row.status),
            namespace_id=row.namespace_id,
            created_by_id=row.created_by,
            supersedes_id=row.supersedes,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
        )

    @strawberry.field(description="The namespace the claim belongs to.")
    async def namespace(self, info: Info) -> Namespace | None:
        if self.namespace_id is None:
            return None
        row = await info.context.loaders.namespace.load(self.namespace_id)
        return Namespace.from_row(row) if row else None

    @strawberry.field(description="The agent that wrote this version.")
    @reads_only_context
    def created_by(self, info: Info) -> Agent | None:
        return agent_now(info, self.created_by_id)

    @strawberry.field(description="The version this one replaced, if any.")
    async def supersedes(self, info: Info) -> Claim | None:
        return await load_claim(info, self.supersedes_id)

    @strawberry.field(
        description="Truth-confidence of this version, computed from its reviews on every "
        "request, never cached. " + _CONFIDENCE_RULES
    )
    async def confidence(
        self, info: Info, model: ConfidenceModel = ConfidenceModel.TRUST_WEIGHTED
    ) -> Confidence:
        row = await info.context.loaders.confidence.load(self.id)
        return Confidence.from_row(row, model) if row else Confidence.unreviewed(model)

    @strawberry.field(
        description="Confidence across every version of this claim's lineage, with each "
        "review's version named."
    )
    async def lineage_confidence(
        self, info: Info, model: ConfidenceModel = ConfidenceModel.TRUST_WEIGHTED
    ) -> LineageConfidence:
        loaders = info.context.loaders
        row, reviews = await asyncio.gather(
            loaders.lineage_confidence.load(self.lineage_id),
            loaders.lineage_reviews.load(self.lineage_id),
        )
        return LineageConfidence(
            confidence=Confidence.from_row(row, model) if row else Confidence.unreviewed(model),
            reviews=[
                VersionedReview(version=r.version, review=Review.from_row(r.review))
                for r in reviews or []
            ],
        )

    @strawberry.field(
        description="Whether this claim stands on a retracted claim: every retracted claim "
        "within MAX_TRAVERSAL_DEPTH `depends_on`, `assumes` or `derives_from` steps (or "
        "`implies` read backwards), nearest first, with the path to each. A version counts "
        "as retracted only while it is the newest of its lineage."
    )
    async def at_risk(self, info: Info) -> AtRisk:
        paths = await info.context.loaders.risk.load(self.id) or []
        ids = {step for p in paths for step in p.path}
        rows = await info.context.loaders.claim.load_many(list(ids))
        claims = {row.id: Claim.from_row(row) for row in rows if row is not None}
        ancestors = [
            RetractedAncestor(
                retracted=claims[p.retracted_id],
                path=[claims[step] for step in p.path],
                depth=len(p.path) - 1,
            )
            for p in paths
            if all(step in claims for step in p.path)
        ]
        return AtRisk(is_at_risk=bool(ancestors), retracted_ancestors=ancestors)

    @strawberry.field(description="Where the claim was found: source, extractor, confidence.")
    async def provenance(self, info: Info) -> list[Provenance]:
        rows = await info.context.loaders.provenance.load(self.id) or []
        return [Provenance.from_row(row) for row in rows]

    @strawberry.field(description="The reviews of this version, oldest first.")
    async def reviews(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Review]:
        args, keyset = time_page(first, after, "review")
        loaders = info.context.loaders
        rows = await loaders.review_page.load(ReviewPageKey(self.id, args.first + 1, keyset))

        async def count() -> int:
            return await loaders.review_count.load(self.id) or 0

        return build_connection(
            rows,
            args,
            kind="review",
            key=lambda r: time_key(r.created_at, r.id),
            node=Review.from_row,
            count=count,
        )

    @strawberry.field(description="Every version of this claim's lineage, oldest first.")
    async def versions(self, info: Info) -> list[Claim]:
        rows = await info.context.loaders.versions.load(self.lineage_id) or []
        info.context.loaders.prime_claims(rows)
        return [Claim.from_row(row) for row in rows]

    @strawberry.field(
        description="Edges from this claim, oldest first; `edgeTypes` keeps only those types."
    )
    def outgoing(
        self,
        info: Info,
        edge_types: list[str] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Edge]:
        return edge_connection(info, self.id, "outgoing", edge_types, first, after)

    @strawberry.field(
        description="Edges into this claim, oldest first, each labelled with its type's "
        "inverse name (`supported_by` for a `supports` edge)."
    )
    def incoming(
        self,
        info: Info,
        edge_types: list[str] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Edge]:
        return edge_connection(info, self.id, "incoming", edge_types, first, after)

    @strawberry.field(description="Figures, tables and other artifacts attached to the claim.")
    async def artifacts(self, info: Info) -> list[Artifact]:
        rows = await info.context.loaders.artifacts_of_claim.load(self.id) or []
        return [Artifact.from_row(row) for row in rows]

    @strawberry.field(
        description="The claims of other lineages nearest by embedding (cosine), "
        f"retracted ones left out; `first` is 0..{MAX_SIMILAR}, default 10."
    )
    async def similar(self, info: Info, first: int | None = 10) -> list[SimilarClaim]:
        size = page_size(first, maximum=MAX_SIMILAR)
        rows = await info.context.loaders.similar.load(SimilarKey(self.id, size))
        info.context.loaders.prime_claims([row.claim for row in rows])
        return [SimilarClaim(claim=Claim.from_row(r.claim), similarity=r.similarity) for r in rows]


@strawberry.type(description="How the reviews of a claim add up. " + _CONFIDENCE_RULES)
class Confidence:
    model: ConfidenceModel
    review_count: int = strawberry.field(description="Every review, self-reviews included.")
    self_review_count: int = strawberry.field(
        description="Reviews by the creator, an agent it owns or its owner: shown, not counted."
    )
    endorsement_count: int = strawberry.field(description="Counted endorsements.")
    dispute_count: int = strawberry.field(description="Counted disputes.")
    mean_endorsement_confidence: float | None = strawberry.field(
        description="Mean confidence of the counted endorsements, weighted by the model "
        "(sum(w_r * c_r) / sum(w_r)); null without endorsements (or weight)."
    )
    endorsement_weight: float = strawberry.field(
        description="Sum of w_r * c_r over counted endorsements (w_r = 1 under SIMPLE)."
    )
    dispute_weight: float = strawberry.field(
        description="Sum of w_r * c_r over counted disputes (w_r = 1 under SIMPLE)."
    )
    epistemic_status: EpistemicStatus = strawberry.field(
        description="Over counted reviews, in this order: none: UNVERIFIED; an endorsement "
        "and a dispute (of positive weight): DISPUTED; formal content and an endorsement: "
        "FORMALLY_VERIFIED; mean endorsement confidence above 0.7 and endorsementWeight "
        "above disputeWeight (SIMPLE: more endorsements than disputes): ENDORSED; "
        "otherwise UNDER_REVIEW."
    )

    @classmethod
    def from_row(
        cls, row: ConfidenceRow, model: ConfidenceModel = ConfidenceModel.TRUST_WEIGHTED
    ) -> Confidence:
        weighted = model is ConfidenceModel.TRUST_WEIGHTED
        return cls(
            model=model,
            review_count=row.review_count,
            self_review_count=row.self_review_count,
            endorsement_count=row.endorsement_count,
            dispute_count=row.dispute_count,
            mean_endorsement_confidence=(
                row.weighted_mean_endorsement_confidence
                if weighted
                else row.mean_endorsement_confidence
            ),
            endorsement_weight=row.endorsement_weight if weighted else row.endorsement_sum,
            dispute_weight=row.dispute_weight if weighted else row.dispute_sum,
            epistemic_status=EpistemicStatus(
                row.weighted_epistemic_status if weighted else row.epistemic_status
            ),
        )

    @classmethod
    def unreviewed(cls, model: ConfidenceModel = ConfidenceModel.TRUST_WEIGHTED) -> Confidence:
        return cls(
            model=model,
            review_count=0,
            self_review_count=0,
            endorsement_count=0,
            dispute_count=0,
            mean_endorsement_confidence=None,
            endorsement_weight=0.0,
            dispute_weight=0.0,
            epistemic_status=EpistemicStatus.UNVERIFIED,
        )


@strawberry.type(description="A retracted claim another claim stands on.")
class RetractedAncestor:
    retracted: Claim
    path: list[Claim] = strawberry.field(
        description="From the claim at risk to the retracted one, both included."
    )
    depth: int = strawberry.field(description="Dependency steps between them.")


@strawberry.type(description="Whether a claim stands on retracted claims, and which.")
class AtRisk:
    is_at_risk: bool
    retracted_ancestors: list[RetractedAncestor]


@strawberry.type(description="A review of one version of a lineage, naming that version.")
class VersionedReview:
    version: int
    review: Review


@strawberry.type(
    description="The reviews of every version of a claim's lineage added up: each reviewer "
    "counts once, by its review of the newest version it reviewed."
)
class LineageConfidence:
    confidence: Confidence
    reviews: list[VersionedReview] = strawberry.field(
        description="Every review of every version, oldest version first (at most 1000)."
    )


@strawberry.type(description="A claim near another one by embedding.")
class SimilarClaim:
    claim: Claim
    similarity: float = strawberry.field(description="Cosine similarity, -1..1 (1 = same).")


async def load_claim(info: Info, claim_id: UUID | None) -> Claim | None:
    if claim_id is None:
        return None
    row = await info.context.loaders.claim.load(claim_id)
    return Claim.from_row(row) if row else None


async def load_agent(info: Info, agent_id: UUID | None) -> Agent | None:
    if agent_id is None:
        return None
    row = await info.context.loaders.agent.load(agent_id)
    return Agent.from_row(row) if row else None


# The most repeated nested fields (an edge's claims, a claim's creator) are synchronous
# resolvers: when the request already read the row (a list or the claim lookup primed
# the loader), they answer at once, without a coroutine and a task per list item, which
# is most of the CPU of a typical claim read. Otherwise they return the loader's
# awaitable, which graphql-core awaits like an async resolver's result.


RowT = TypeVar("RowT")


def _ready(future: Awaitable[RowT | None]) -> RowT | Awaitable[RowT | None] | None:
    if (
        isinstance(future, asyncio.Future)
        and future.done()
        and not future.cancelled()
        and future.exception() is None
    ):
        result: RowT | None = future.result()
        return result
    return future


def claim_now(info: Info, claim_id: UUID | None) -> Claim | None:
    if claim_id is None:
        return None
    row = _ready(info.context.loaders.claim.load(claim_id))
    if isinstance(row, ClaimRow) or row is None:
        return Claim.from_row(row) if row else None
    return cast("Claim | None", load_claim(info, claim_id))


def agent_now(info: Info, agent_id: UUID | None) -> Agent | None:
    if agent_id is None:
        return None
    row = _ready(info.context.loaders.agent.load(agent_id))
    if isinstance(row, AgentRow) or row is None:
        return Agent.from_row(row) if row else None
    return cast("Agent | None", load_agent(info, agent_id))


async def load_source(info: Info, source_id: UUID | None) -> Source | None:
    if source_id is None:
        return None
    row = await info.context.loaders.source.load(source_id)
    return Source.from_row(row) if row else None


def edge_connection(
    info: Info,
    claim_id: UUID,
    direction: EdgeDirection,
    edge_types: list[str] | None,
    first: int | None,
    after: str | None,
) -> Connection[Edge]:
    """A page of a claim's edges: at once when the request already read it (the claim
    lookup primes its first page), else an awaitable of it."""
    args, keyset = time_page(first, after, "edge")
    types = tuple(sorted(set(edge_types))) if edge_types is not None else None
    loaders = info.context.loaders

    def connection(rows: list[EdgeRow]) -> Connection[Edge]:
        async def count() -> int:
            return await loaders.edge_count.load(EdgeCountKey(claim_id, direction, types))

        return build_connection(
            rows,
            args,
            kind="edge",
            key=lambda r: time_key(r.created_at, r.id),
            node=lambda r: Edge.from_row(r, direction),
            count=count,
        )

    page = loaders.edge_page.load(EdgePageKey(claim_id, direction, types, args.first + 1, keyset))
    rows = _ready(page)
    if isinstance(rows, list):
        return connection(rows)

    async def later() -> Connection[Edge]:
        return connection(await page)

    return cast("Connection[Edge]", later())


@strawberry.type(description="A person, model, organization, pipeline or extension.")
class Agent:
    id: UUID
    agent_type: AgentType
    name: str
    external_id: str | None = strawberry.field(description="ORCID, model id, or similar.")
    trust_score: float = strawberry.field(
        description="How much the agent's reviews weigh under the TRUST_WEIGHTED model."
    )
    attrs: JSON
    created_at: datetime
    owned_by_id: UUID | None = strawberry.field(
        description="The agent that runs this one (a person and their bot): its reviews "
        "of the owner's claims, and the owner's of its claims, are self-reviews."
    )

    @classmethod
    def from_row(cls, row: AgentRow) -> Agent:
        return cls(
            id=row.id,
            agent_type=AgentType(row.agent_type),
            name=row.name,
            external_id=row.external_id,
            trust_score=row.trust_score,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
            owned_by_id=row.owned_by,
        )


@strawberry.type(description="Where claims come from: a paper, dataset, recording, ...")
class Source:
    id: UUID
    source_type: SourceType
    title: str | None
    external_ref: str | None = strawberry.field(
        description="DOI, URL or arXiv id, in its canonical spelling."
    )
    content_hash: str | None = strawberry.field(description="SHA-256 of the content, hex.")
    submitted_by_id: UUID | None
    attrs: JSON
    created_at: datetime
    identifiers: list[str] = strawberry.field(
        description="Every identifier the source is known by, canonical (DOI `10.x/y` in "
        "lower case, `arXiv:2101.00001`, `pmid:123`, URLs with lower-case host)."
    )

    @classmethod
    def from_row(cls, row: SourceRow) -> Source:
        return cls(
            id=row.id,
            source_type=SourceType(row.source_type),
            title=row.title,
            external_ref=row.external_ref,
            content_hash=row.content_hash,
            submitted_by_id=row.submitted_by,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
            identifiers=row.identifiers,
        )

    @strawberry.field(description="The agent that registered the source.")
    async def submitted_by(self, info: Info) -> Agent | None:
        return await load_agent(info, self.submitted_by_id)


@strawberry.type(description="A typed, directed relation from one claim to another.")
class Edge:
    id: UUID
    source_id: UUID
    target_id: UUID
    edge_type: str
    strength: float
    created_by_id: UUID | None
    source_provenance_id: UUID | None
    attrs: JSON
    created_at: datetime
    # Which end the edge was reached from: it decides the label.
    read_as: strawberry.Private[EdgeDirection] = "outgoing"

    @classmethod
    def from_row(cls, row: EdgeRow, read_as: EdgeDirection = "outgoing") -> Edge:
        return cls(
            id=row.id,
            source_id=row.source_id,
            target_id=row.target_id,
            edge_type=row.edge_type,
            strength=row.strength,
            created_by_id=row.created_by,
            source_provenance_id=row.source_provenance,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
            read_as=read_as,
        )

    @strawberry.field(description="The claim the edge starts from.")
    @reads_only_context
    def source(self, info: Info) -> Claim | None:
        return claim_now(info, self.source_id)

    @strawberry.field(description="The claim the edge points to.")
    @reads_only_context
    def target(self, info: Info) -> Claim | None:
        return claim_now(info, self.target_id)

    @strawberry.field(description="The agent that asserted the edge.")
    @reads_only_context
    def created_by(self, info: Info) -> Agent | None:
        return agent_now(info, self.created_by_id)

    @strawberry.field(description="The source the edge was extracted from, if any.")
    async def source_provenance(self, info: Info) -> Source | None:
        return await load_source(info, self.source_provenance_id)

    @strawberry.field(description="The edge type with its inverse name and properties.")
    async def type(self, info: Info) -> EdgeType | None:
        row = await info.context.loaders.edge_type.load(self.edge_type)
        return EdgeType.from_row(row) if row else None

    @strawberry.field(
        description="The relation as read from the claim it was listed under: the type's "
        "name on outgoing edges, its inverse name on incoming ones."
    )
    async def label(self, info: Info) -> str:
        if self.read_as == "outgoing":
            return self.edge_type
        row = await info.context.loaders.edge_type.load(self.edge_type)
        return (row.inverse_name if row else None) or self.edge_type


@strawberry.type(description="A claim's numeric place in its source (0-based indexes).")
class ReadingPosition:
    section_index: int | None
    paragraph_index: int | None
    sentence_index: int | None


@strawberry.type(description="Where a claim was found, by whom, and how confidently.")
class Provenance:
    id: UUID
    claim_id: UUID
    source_id: UUID
    extracted_by_id: UUID | None
    extraction_method: str | None
    location_in_source: str | None
    confidence: float | None = strawberry.field(description="Extraction confidence, 0..1.")
    attrs: JSON
    created_at: datetime
    position: ReadingPosition | None = strawberry.field(
        description="Where in the source, as numbers; null when the extractor gave none."
    )

    @classmethod
    def from_row(cls, row: ProvenanceRow) -> Provenance:
        given = (row.section_index, row.paragraph_index, row.sentence_index)
        position = None
        if any(index is not None for index in given):
            position = ReadingPosition(
                section_index=row.section_index,
                paragraph_index=row.paragraph_index,
                sentence_index=row.sentence_index,
            )
        return cls(
            position=position,
            id=row.id,
            claim_id=row.claim_id,
            source_id=row.source_id,
            extracted_by_id=row.extracted_by,
            extraction_method=row.extraction_method,
            location_in_source=row.location_in_source,
            confidence=row.confidence,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
        )

    @strawberry.field(description="The claim this provenance is about.")
    async def claim(self, info: Info) -> Claim | None:
        return await load_claim(info, self.claim_id)

    @strawberry.field(description="The source the claim was found in.")
    async def source(self, info: Info) -> Source | None:
        return await load_source(info, self.source_id)

    @strawberry.field(description="The agent (person, model, pipeline) that extracted it.")
    async def extracted_by(self, info: Info) -> Agent | None:
        return await load_agent(info, self.extracted_by_id)


@strawberry.type(description="One reviewer's verdict on one claim (a second one replaces it).")
class Review:
    id: UUID
    claim_id: UUID
    reviewer_id: UUID
    verdict: Verdict
    confidence: float
    comment: str | None
    attrs: JSON
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: ReviewRow) -> Review:
        return cls(
            id=row.id,
            claim_id=row.claim_id,
            reviewer_id=row.reviewer_id,
            verdict=Verdict(row.verdict),
            confidence=row.confidence,
            comment=row.comment,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The agent that gave the verdict.")
    async def reviewer(self, info: Info) -> Agent | None:
        return await load_agent(info, self.reviewer_id)

    @strawberry.field(description="The claim version reviewed.")
    async def claim(self, info: Info) -> Claim | None:
        return await load_claim(info, self.claim_id)


@strawberry.type(description="One atomic submission of claims, edges and artifacts.")
class Bundle:
    id: UUID
    idempotency_key: str
    submitted_by_id: UUID
    extension_id: str | None
    contributor_id: UUID | None
    source_id: UUID | None
    status: BundleStatus
    claim_count: int
    edge_count: int
    artifact_count: int
    attrs: JSON
    submitted_at: datetime

    @classmethod
    def from_row(cls, row: BundleRow) -> Bundle:
        return cls(
            id=row.id,
            idempotency_key=row.idempotency_key,
            submitted_by_id=row.submitted_by,
            extension_id=row.extension_id,
            contributor_id=row.contributor_id,
            source_id=row.source_id,
            status=BundleStatus(row.status),
            claim_count=row.claim_count,
            edge_count=row.edge_count,
            artifact_count=row.artifact_count,
            attrs=JSON(row.attrs),
            submitted_at=row.submitted_at,
        )

    @strawberry.field(description="The agent (usually an extension's key) that submitted it.")
    async def submitted_by(self, info: Info) -> Agent | None:
        return await load_agent(info, self.submitted_by_id)

    @strawberry.field(description="The person or agent the extension submitted on behalf of.")
    async def contributor(self, info: Info) -> Agent | None:
        return await load_agent(info, self.contributor_id)

    @strawberry.field(description="The one source the bundle carries.")
    async def source(self, info: Info) -> Source | None:
        return await load_source(info, self.source_id)

    @strawberry.field(description="The artifacts the bundle brought.")
    async def artifacts(self, info: Info) -> list[Artifact]:
        rows = await info.context.loaders.artifacts_of_bundle.load(self.id) or []
        return [Artifact.from_row(row) for row in rows]


@strawberry.type(description="A figure, table, recording or code attached to claims.")
class Artifact:
    id: UUID
    bundle_id: UUID | None
    artifact_type: ArtifactType
    description: str | None
    storage_ref: str | None
    content_inline: str | None
    structured_data: JSON | None
    attrs: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: ArtifactRow) -> Artifact:
        return cls(
            id=row.id,
            bundle_id=row.bundle_id,
            artifact_type=ArtifactType(row.artifact_type),
            description=row.description,
            storage_ref=row.storage_ref,
            content_inline=row.content_inline,
            structured_data=None if row.structured_data is None else JSON(row.structured_data),
            attrs=JSON(row.attrs),
            created_at=row.created_at,
        )

    @strawberry.field(description="The claims the artifact illustrates (at most 500).")
    async def claims(self, info: Info) -> list[Claim]:
        rows = await info.context.loaders.claims_of_artifact.load(self.id) or []
        return [Claim.from_row(row) for row in rows]


@strawberry.type(description="An edge to an external reference not yet in the graph.")
class PendingReference:
    id: UUID
    source_claim_id: UUID
    external_ref: str
    edge_type: str
    strength: float
    bundle_id: UUID | None
    status: PendingReferenceStatus
    resolved_to_id: UUID | None
    resolved_at: datetime | None
    attrs: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: PendingReferenceRow) -> PendingReference:
        return cls(
            id=row.id,
            source_claim_id=row.source_claim_id,
            external_ref=row.external_ref,
            edge_type=row.edge_type,
            strength=row.strength,
            bundle_id=row.bundle_id,
            status=PendingReferenceStatus(row.status),
            resolved_to_id=row.resolved_to,
            resolved_at=row.resolved_at,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
        )

    @strawberry.field(description="The claim the pending edge starts from.")
    async def source_claim(self, info: Info) -> Claim | None:
        return await load_claim(info, self.source_claim_id)

    @strawberry.field(description="The claim the reference resolved to, once it has.")
    async def resolved_to(self, info: Info) -> Claim | None:
        return await load_claim(info, self.resolved_to_id)


@strawberry.type(description="One entry of the outbox: a committed change.")
class Event:
    id: str = strawberry.field(description="Monotonic event id (a 64-bit integer as a string).")
    type: str
    payload: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: EventRow) -> Event:
        return cls(
            id=str(row.id), type=row.type, payload=JSON(row.payload), created_at=row.created_at
        )
