"""submitBundle: many claims, their edges and artifacts from one source, atomically."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryOptional,
    get_object_definition,
    has_object_definition,
)
from strawberry.utils.str_converters import to_camel_case

from phiacta.auth.manifest import enforce_manifest
from phiacta.auth.viewer import Scope
from phiacta.errors import FieldProblem, ValidationFailed
from phiacta.graphql.context import Info
from phiacta.graphql.enums import ArtifactType, ClaimStatus, ClaimType, SourceType
from phiacta.graphql.permissions import CanWriteBundles, require_scope
from phiacta.graphql.types import Bundle
from phiacta.ingest import result as results
from phiacta.ingest.spec import (
    ArtifactSpec,
    BundleSpec,
    ClaimSpec,
    EdgeSpec,
    EndSpec,
    PositionSpec,
    SourceSpec,
)
from phiacta.ingest.submit import Actor, submit_bundle
from phiacta.store import bundles as bundle_store


@strawberry.input(description="The one source every claim of a bundle comes from.")
class BundleSourceInput:
    source_type: SourceType
    title: str | None = None
    external_ref: str | None = strawberry.field(
        default=None,
        description="DOI, URL, arXiv id, PubMed id, in any spelling (stored canonical). "
        "Earlier pending references to it resolve to the source's first claim.",
    )
    content_hash: str | None = strawberry.field(default=None, description="SHA-256, hex.")
    attrs: JSON | None = None
    identifiers: list[str] = strawberry.field(
        default_factory=list,
        description="Further identifiers of the source (a companion paper's DOI, an arXiv "
        "id). A source already known by any of them is reused, not duplicated.",
    )


@strawberry.input(
    description="A claim's numeric place in its source, each index 0-based and optional."
)
class ReadingPositionInput:
    section_index: int | None = None
    paragraph_index: int | None = None
    sentence_index: int | None = None


@strawberry.input(description="A new claim (version 1 of a new lineage).")
class BundleClaimInput:
    temp_id: str = strawberry.field(description="Your name for it inside this bundle.")
    content: str
    claim_type: ClaimType = ClaimType.ASSERTION
    formal_content: str | None = None
    namespace: str | None = strawberry.field(
        default=None, description="Dotted path; defaults to the bundle's namespace."
    )
    status: ClaimStatus = ClaimStatus.ACTIVE
    confidence: float | None = strawberry.field(
        default=None, description="Extraction confidence 0..1, stored on its provenance."
    )
    extraction_method: str | None = None
    location_in_source: str | None = strawberry.field(
        default=None, description='Where in the source, as free text ("p. 3, para 2").'
    )
    attrs: JSON | None = None
    position: ReadingPositionInput | None = strawberry.field(
        default=None,
        description="Where in the source, as numbers: the PAPER view reads claims in this "
        "order (section, then paragraph, then sentence). Stored on the claim's provenance.",
    )


@strawberry.input(description="One end of an edge: exactly one of the three fields.")
class ClaimRefInput:
    temp_id: str | None = strawberry.field(default=None, description="A claim of this bundle.")
    claim_id: strawberry.ID | None = strawberry.field(
        default=None, description="An existing claim."
    )
    external_ref: str | None = strawberry.field(
        default=None,
        description="Targets only: a DOI, URL or arXiv id; a pending reference until a "
        "source carrying it arrives.",
    )


@strawberry.input
class BundleEdgeInput:
    source: ClaimRefInput
    target: ClaimRefInput
    edge_type: str
    strength: float = 1.0
    attrs: JSON | None = None


@strawberry.input
class BundleArtifactInput:
    artifact_type: ArtifactType
    temp_id: str | None = None
    description: str | None = None
    storage_ref: str | None = None
    content_inline: str | None = None
    structured_data: JSON | None = None
    claim_temp_ids: list[str] = strawberry.field(default_factory=list)
    attrs: JSON | None = None


# Builds a nested input's value: (GraphQL value, context) -> instance.
_Nested = Callable[[Mapping[str, Any], InputContext], Any]


def _build_directly(cls: type, nested: Mapping[str, type] | None = None) -> None:
    """Build `cls` from its GraphQL input value without Strawberry's generic converter.

    graphql-core has already coerced every leaf (scalars, enums, JSON) to its Python
    value, so the fields are copied as they are and only the `nested` input fields are
    built, each with its own hook (a list field: each item). Strawberry's converter
    re-resolves each field's type for every item: ~60% of a 500-claim submitBundle's
    CPU before this, and still 4 of its 6 ms with hooks on the items alone.
    """
    definition = get_object_definition(cls, strict=True)
    nested = nested or {}
    plan: list[tuple[str, str, _Nested | None, bool]] = []
    for item in definition.fields:
        field_type = item.resolve_type(type_definition=definition)
        inner = field_type.of_type if isinstance(field_type, StrawberryOptional) else field_type
        is_list = isinstance(inner, StrawberryList)
        child = nested.get(item.python_name)
        element = inner.of_type if isinstance(inner, StrawberryList) else inner
        if child is None and has_object_definition(element):
            raise TypeError(f"{cls.__name__}.{item.python_name} needs a nested builder")
        name = item.graphql_name or to_camel_case(item.python_name)
        plan.append((name, item.python_name, None if child is None else _nested(child), is_list))

    def build(type_: type, value: Mapping[str, Any], context: InputContext) -> Any:
        kwargs: dict[str, Any] = {}
        for graphql_name, python_name, nested_build, is_list in plan:
            if graphql_name in value:
                given = value[graphql_name]
                if given is not None:
                    if nested_build is None:
                        # A list is copied: graphql-core gives every request that
                        # omits it the same default object.
                        given = list(given) if is_list else given
                    elif is_list:
                        given = [e if e is None else nested_build(e, context) for e in given]
                    else:
                        given = nested_build(given, context)
                kwargs[python_name] = given
        return type_(**kwargs)

    definition.from_input = build


def _nested(cls: type) -> _Nested:
    hook = get_object_definition(cls, strict=True).from_input
    if hook is None:
        raise TypeError(f"{cls.__name__} is built before its fields' types")
    return partial(hook, cls)


@strawberry.input(description="One atomic submission. Paths in errors are relative to it.")
class SubmitBundleInput:
    idempotency_key: str = strawberry.field(
        description="The same key with the same body returns the stored response."
    )
    source: BundleSourceInput
    claims: list[BundleClaimInput]
    edges: list[BundleEdgeInput] = strawberry.field(default_factory=list)
    artifacts: list[BundleArtifactInput] = strawberry.field(default_factory=list)
    extension_id: str | None = None
    contributor_id: strawberry.ID | None = None
    namespace: str | None = strawberry.field(
        default=None, description="Default dotted namespace path of the claims."
    )
    create_namespaces: bool = strawberry.field(
        default=False, description="Create missing namespaces instead of failing."
    )
    attrs: JSON | None = None


# Leaves first: a hook is built from its fields' hooks.
_build_directly(BundleSourceInput)
_build_directly(ReadingPositionInput)
_build_directly(BundleClaimInput, {"position": ReadingPositionInput})
_build_directly(ClaimRefInput)
_build_directly(BundleEdgeInput, {"source": ClaimRefInput, "target": ClaimRefInput})
_build_directly(BundleArtifactInput)
_build_directly(
    SubmitBundleInput,
    {
        "source": BundleSourceInput,
        "claims": BundleClaimInput,
        "edges": BundleEdgeInput,
        "artifacts": BundleArtifactInput,
    },
)


@strawberry.type(description="A temp id of the bundle and the id it was given.")
class TempIdAssignment:
    temp_id: str
    id: UUID


@strawberry.type(description="Accepted but worth a look (NEAR_DUPLICATE, NO_EDGES, ...).")
class BundleWarning:
    path: str
    code: str
    message: str
    claim_id: UUID | None
    similar_claim_id: UUID | None
    similarity: float | None


@strawberry.type(description="An edge of this bundle waiting for its external target.")
class BundlePendingReference:
    id: UUID
    claim_temp_id: str
    claim_id: UUID
    external_ref: str
    edge_type: str


@strawberry.type(description="An earlier pending reference this bundle's source resolved.")
class BundleResolvedReference:
    id: UUID
    external_ref: str
    source_claim_id: UUID
    edge_type: str
    resolved_to_id: UUID
    edge_id: UUID | None


@strawberry.type
class SubmitBundlePayload:
    bundle_id: UUID
    source_id: UUID
    replayed: bool = strawberry.field(
        description="True when this key was already used: nothing new was written."
    )
    claims: list[TempIdAssignment]
    artifacts: list[TempIdAssignment]
    edge_ids: list[UUID | None] = strawberry.field(
        description="One per input edge: null when it became a pending reference or "
        "already existed."
    )
    pending_references: list[BundlePendingReference]
    resolved_references: list[BundleResolvedReference]
    warnings: list[BundleWarning]

    @strawberry.field
    async def bundle(self, info: Info) -> Bundle | None:
        async with info.context.connection() as conn:
            rows = await bundle_store.bundles_by_id(conn, [self.bundle_id])
        row = rows.get(self.bundle_id)
        return Bundle.from_row(row) if row else None

    @classmethod
    def from_result(cls, result: results.BundleResult) -> SubmitBundlePayload:
        return cls(
            bundle_id=result.bundle_id,
            source_id=result.source_id,
            replayed=result.replayed,
            claims=[TempIdAssignment(temp_id=m.temp_id, id=m.id) for m in result.claims],
            artifacts=[TempIdAssignment(temp_id=m.temp_id, id=m.id) for m in result.artifacts],
            edge_ids=list(result.edge_ids),
            pending_references=[
                BundlePendingReference(
                    id=r.id,
                    claim_temp_id=r.claim_temp_id,
                    claim_id=r.claim_id,
                    external_ref=r.external_ref,
                    edge_type=r.edge_type,
                )
                for r in result.pending_references
            ],
            resolved_references=[
                BundleResolvedReference(
                    id=r.id,
                    external_ref=r.external_ref,
                    source_claim_id=r.source_claim_id,
                    edge_type=r.edge_type,
                    resolved_to_id=r.resolved_to,
                    edge_id=r.edge_id,
                )
                for r in result.resolved_references
            ],
            warnings=[
                BundleWarning(
                    path=w.path,
                    code=w.code,
                    message=w.message,
                    claim_id=w.claim_id,
                    similar_claim_id=w.similar_claim_id,
                    similarity=w.similarity,
                )
                for w in result.warnings
            ],
        )


class _Attrs:
    """Collects `attrs` that are not JSON objects as problems while converting."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def __call__(self, value: Any, path: str) -> dict[str, Any]:
        if value is None:
            return {}
        if isinstance(value, dict):
            return value
        where = f"{path}.attrs" if path else "attrs"
        self.problems.append(FieldProblem(where, "must be a JSON object"))
        return {}


def _end(ref: ClaimRefInput) -> EndSpec:
    return EndSpec(
        temp_id=ref.temp_id,
        claim_id=None if ref.claim_id is None else str(ref.claim_id),
        external_ref=ref.external_ref,
    )


def bundle_spec(input: SubmitBundleInput) -> BundleSpec:
    """The plain bundle the input describes (the same one a JSON file would give)."""
    attrs = _Attrs()
    spec = BundleSpec(
        idempotency_key=input.idempotency_key,
        source=SourceSpec(
            source_type=input.source.source_type.value,
            title=input.source.title,
            external_ref=input.source.external_ref,
            content_hash=input.source.content_hash,
            attrs=attrs(input.source.attrs, "source"),
            identifiers=tuple(input.source.identifiers),
        ),
        claims=tuple(
            ClaimSpec(
                temp_id=c.temp_id,
                content=c.content,
                claim_type=c.claim_type.value,
                formal_content=c.formal_content,
                namespace=c.namespace,
                status=c.status.value,
                confidence=c.confidence,
                extraction_method=c.extraction_method,
                location_in_source=c.location_in_source,
                attrs=attrs(c.attrs, f"claims[{i}]"),
                position=None
                if c.position is None
                else PositionSpec(
                    c.position.section_index, c.position.paragraph_index, c.position.sentence_index
                ),
            )
            for i, c in enumerate(input.claims)
        ),
        edges=tuple(
            EdgeSpec(
                source=_end(e.source),
                target=_end(e.target),
                edge_type=e.edge_type,
                strength=e.strength,
                attrs=attrs(e.attrs, f"edges[{i}]"),
            )
            for i, e in enumerate(input.edges)
        ),
        artifacts=tuple(
            ArtifactSpec(
                artifact_type=a.artifact_type.value,
                temp_id=a.temp_id,
                description=a.description,
                storage_ref=a.storage_ref,
                content_inline=a.content_inline,
                structured_data=a.structured_data,
                claim_temp_ids=tuple(a.claim_temp_ids),
                attrs=attrs(a.attrs, f"artifacts[{i}]"),
            )
            for i, a in enumerate(input.artifacts)
        ),
        extension_id=input.extension_id,
        contributor_id=None if input.contributor_id is None else str(input.contributor_id),
        namespace=input.namespace,
        create_namespaces=input.create_namespaces,
        attrs=attrs(input.attrs, ""),
    )
    if attrs.problems:
        raise ValidationFailed(attrs.problems)
    return spec


@strawberry.type
class BundleMutations:
    @strawberry.mutation(
        description="Submit a bundle: every claim, edge and artifact is written, or none.",
        permission_classes=[CanWriteBundles],
    )
    async def submit_bundle(self, info: Info, input: SubmitBundleInput) -> SubmitBundlePayload:
        viewer = require_scope(info.context, Scope.BUNDLES_WRITE)
        spec = bundle_spec(input)
        enforce_manifest(
            viewer,
            claim_types=[
                (f"claims[{i}].claimType", c.claim_type) for i, c in enumerate(spec.claims)
            ],
            edge_types=[(f"edges[{i}].edgeType", e.edge_type) for i, e in enumerate(spec.edges)],
        )
        services = info.context.services
        result = await submit_bundle(
            services.pool,
            services.embedder,
            services.settings,
            Actor(agent_id=viewer.agent_id, request_id=info.context.request_id),
            spec,
        )
        if not result.replayed:
            services.view_refresher.poke()
        return SubmitBundlePayload.from_result(result)
