"""Ready-made views of the graph: a paper's claims, a proof tree, a side-by-side comparison."""

from __future__ import annotations

from enum import Enum
from typing import Annotated
from uuid import UUID

import strawberry

from phiacta.errors import FieldProblem, ValidationFailed
from phiacta.graphql.context import Info
from phiacta.graphql.fields.traversal import (
    MAX_TRAVERSAL_LIMIT,
    EvidenceSummary,
    TraversalNode,
    check_depth,
    net_support,
    node_of,
)
from phiacta.graphql.ids import optional_uuid, uuids_of
from phiacta.graphql.types import Claim, Confidence, Edge, Source
from phiacta.store import edges as edge_store
from phiacta.store import provenance as provenance_store
from phiacta.store import traversal as traversal_store
from phiacta.store.edges import DirectEvidenceRow

PROOF_EDGE_TYPES = ["assumes", "depends_on", "derives_from"]
MIN_COMPARED = 2
MAX_COMPARED = 20


@strawberry.enum(description="The shape of a `view`.")
class ViewKind(Enum):
    PAPER = "paper"
    PROOF_TREE = "proof_tree"
    COMPARISON = "comparison"


@strawberry.type(description="The claims of one source in reading order, with their edges.")
class PaperView:
    source: Source
    claims: list[Claim] = strawberry.field(
        description="The current version of each claim, in reading order: by provenance "
        "position (section, paragraph, sentence) where given, else by a natural sort of the "
        'location label ("para 2" before "para 10"), then extraction order (at most '
        "2,000)."
    )
    edges: list[Edge] = strawberry.field(description="The edges between these claims.")


@strawberry.type(
    description="The depends_on / derives_from / assumes tree under a claim, transitively."
)
class ProofTreeView:
    root: Claim
    nodes: list[TraversalNode] = strawberry.field(
        description="The root, then each premise once at its shallowest depth; `reachedFrom` "
        "is its parent in the tree and `via` the edge."
    )
    truncated: bool


@strawberry.type(description="One claim of a comparison, with its confidence and evidence.")
class ComparisonEntry:
    claim: Claim
    confidence: Confidence
    evidence: EvidenceSummary = strawberry.field(description="Direct (depth 1) evidence.")


@strawberry.type(description="Several claims side by side.")
class ComparisonView:
    entries: list[ComparisonEntry] = strawberry.field(
        description="In the order asked for; unknown ids are left out."
    )


View = Annotated[
    PaperView | ProofTreeView | ComparisonView,
    strawberry.union("View", description="What `view` returns, by kind."),
]


def _summary(row: DirectEvidenceRow | None) -> EvidenceSummary:
    if row is None:
        return EvidenceSummary(
            supporting_count=0, contradicting_count=0, corroborating_count=0, net_support=0.0
        )
    return EvidenceSummary(
        supporting_count=row.supporting_count,
        contradicting_count=row.contradicting_count,
        corroborating_count=row.corroborating_count,
        net_support=net_support([(row.supporting_strength, 1)], [(row.contradicting_strength, 1)]),
    )


def _check(kind: ViewKind, root: UUID | None, claims: list[UUID] | None) -> None:
    problems: list[FieldProblem] = []
    if kind is ViewKind.COMPARISON:
        if claims is None or not MIN_COMPARED <= len(set(claims)) <= MAX_COMPARED:
            problems.append(
                FieldProblem(
                    "claims", f"COMPARISON needs {MIN_COMPARED} to {MAX_COMPARED} claim ids"
                )
            )
    elif root is None:
        what = "a source id" if kind is ViewKind.PAPER else "a claim id"
        problems.append(FieldProblem("root", f"{kind.name} needs {what}"))
    if problems:
        raise ValidationFailed(problems)


async def _paper(info: Info, source_id: UUID) -> PaperView | None:
    source = await info.context.loaders.source.load(source_id)
    if source is None:
        return None
    async with info.context.connection() as conn:
        visibility = info.context.visibility
        claims = await provenance_store.claims_of_source(
            conn, source_id, include_retracted=False, visibility=visibility
        )
        edges = (
            await edge_store.edges_among(conn, [c.id for c in claims], visibility) if claims else []
        )
    info.context.loaders.prime_claims(claims)
    return PaperView(
        source=Source.from_row(source),
        claims=[Claim.from_row(c) for c in claims],
        edges=[Edge.from_row(e) for e in edges],
    )


async def _proof_tree(info: Info, claim_id: UUID, max_depth: int) -> ProofTreeView | None:
    root = await info.context.loaders.claim.load(claim_id)
    if root is None:
        return None
    async with info.context.connection() as conn:
        spec = traversal_store.WalkSpec(
            claim_id,
            "outgoing",
            PROOF_EDGE_TYPES,
            max_depth,
            MAX_TRAVERSAL_LIMIT,
            visibility=info.context.visibility,
        )
        walk = await traversal_store.walk_from(conn, spec)
    info.context.loaders.prime_claims([r.claim for r in walk.reached])
    top = Claim.from_row(root)
    return ProofTreeView(
        root=top,
        nodes=[TraversalNode(claim=top, depth=0, via=None, reached_from=None)]
        + [node_of(r) for r in walk.reached],
        truncated=walk.truncated,
    )


async def _comparison(info: Info, claim_ids: list[UUID]) -> ComparisonView:
    ids = list(dict.fromkeys(claim_ids))
    rows = await info.context.loaders.claim.load_many(ids)
    confidences = await info.context.loaders.confidence.load_many(ids)
    async with info.context.connection() as conn:
        evidence = await edge_store.direct_evidence(conn, ids, info.context.visibility)
    return ComparisonView(
        entries=[
            ComparisonEntry(
                claim=Claim.from_row(row),
                confidence=Confidence.from_row(conf) if conf else Confidence.unreviewed(),
                evidence=_summary(evidence.get(row.id)),
            )
            for row, conf in zip(rows, confidences, strict=True)
            if row is not None
        ]
    )


@strawberry.type
class ViewQueries:
    @strawberry.field(
        description="A ready-made view. PAPER: `root` is a source id; its claims in reading "
        "order and the edges among them. PROOF_TREE: `root` is a claim id; the assumes / "
        "depends_on / derives_from tree under it, to `maxDepth` (default and cap "
        "MAX_TRAVERSAL_DEPTH). COMPARISON: `claims` lists 2..20 claim ids, each shown with its "
        "confidence and direct evidence. Null when the root does not exist."
    )
    async def view(
        self,
        info: Info,
        kind: ViewKind,
        root_: Annotated[strawberry.ID | None, strawberry.argument(name="root")] = None,
        claims: list[strawberry.ID] | None = None,
        max_depth: int | None = None,
    ) -> View | None:
        # `root` is Strawberry's name for the parent object, hence the trailing underscore.
        root = optional_uuid(root_, "root")
        claim_ids = None if claims is None else uuids_of(claims, "claims")
        _check(kind, root, claim_ids)
        if kind is ViewKind.COMPARISON:
            assert claim_ids is not None
            return await _comparison(info, claim_ids)
        assert root is not None
        if kind is ViewKind.PAPER:
            return await _paper(info, root)
        depth = max_depth if max_depth is not None else info.context.settings.max_traversal_depth
        check_depth(info, depth)
        return await _proof_tree(info, root, depth)
