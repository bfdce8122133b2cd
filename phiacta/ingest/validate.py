"""Every problem of a bundle, each with its path and code, found before anything is written.

`static_problems` needs nothing but the bundle; `resolve_references` asks the database
about what the bundle names (edge types, namespaces, existing claims, the contributor)
and returns what it found alongside the problems. Both collect, never stop at the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from uuid import UUID

from phiacta.errors import ErrorCode, FieldProblem
from phiacta.identifiers import parse_orcid
from phiacta.ingest.spec import BundleSpec, ClaimSpec, EdgeSpec, EndSpec
from phiacta.store import Connection
from phiacta.store import agents as agent_store
from phiacta.store import claims as claim_store
from phiacta.store import edge_types as edge_type_store
from phiacta.store import namespaces as namespace_store
from phiacta.store.edge_types import EdgeTypeRow
from phiacta.store.namespaces import MAX_NAMESPACE_DEPTH
from phiacta.store.visibility import Visibility

MAX_CONTENT_LENGTH = 10_000
MAX_TEMP_ID_LENGTH = 200
MAX_IDEMPOTENCY_KEY_LENGTH = 200
MAX_REF_LENGTH = 2_000
MAX_TEXT_LENGTH = 10_000
MAX_SOURCE_IDENTIFIERS = 50

CLAIM_TYPES = frozenset(
    {
        "assertion",
        "definition",
        "theorem",
        "conjecture",
        "observation",
        "method",
        "question",
        "evidence",
    }
)
# A new version starts as a draft or active; deprecated and retracted are where it ends.
NEW_CLAIM_STATUSES = frozenset({"draft", "active"})
SOURCE_TYPES = frozenset(
    {
        "paper",
        "preprint",
        "recording",
        "photo",
        "conversation",
        "code",
        "dataset",
        "url",
        "manual_entry",
    }
)
ARTIFACT_TYPES = frozenset({"figure", "table", "photo", "audio", "code", "other"})
# The namespaces table's own CHECK, so a bad segment is a coded problem, not a 500.
NAMESPACE_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
CONTENT_HASH = re.compile(r"^[0-9a-f]{64}$")


def parse_uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def contributor(value: str) -> UUID | str | None:
    """What a contributorId names: an agent id, a canonical ORCID iD, or None for
    neither."""
    return parse_uuid(value) or parse_orcid(value)


def content_problems(content: str, formal_content: str | None, path: str) -> list[FieldProblem]:
    """The rules every claim's text follows, wherever it is written from."""
    problems = []
    if not content.strip():
        problems.append(FieldProblem(f"{path}.content", "must not be empty"))
    elif len(content) > MAX_CONTENT_LENGTH:
        problems.append(
            FieldProblem(
                f"{path}.content",
                f"must be at most {MAX_CONTENT_LENGTH:,} characters (got {len(content):,})",
                ErrorCode.LIMIT_EXCEEDED,
            )
        )
    if formal_content is not None and len(formal_content) > MAX_CONTENT_LENGTH:
        problems.append(
            FieldProblem(
                f"{path}.formalContent",
                f"must be at most {MAX_CONTENT_LENGTH:,} characters",
                ErrorCode.LIMIT_EXCEEDED,
            )
        )
    return problems


def namespace_path_problems(namespace: str, path: str) -> list[FieldProblem]:
    segments = namespace.split(".")
    if len(segments) > MAX_NAMESPACE_DEPTH or not all(NAMESPACE_SEGMENT.match(s) for s in segments):
        return [
            FieldProblem(
                path,
                "must be a dotted path of 1-63 character segments of a-z, 0-9, '_' or '-'",
            )
        ]
    return []


# A provenance position is an integer column: anything up to 2^31 - 1 fits.
MAX_POSITION_INDEX = 2**31 - 1


def unit_interval_problems(value: float | None, path: str) -> list[FieldProblem]:
    if value is not None and not 0.0 <= value <= 1.0:
        return [FieldProblem(path, "must be between 0 and 1")]
    return []


def claim_problems(claim: ClaimSpec, path: str) -> list[FieldProblem]:
    problems = content_problems(claim.content, claim.formal_content, path)
    if claim.claim_type not in CLAIM_TYPES:
        problems.append(FieldProblem(f"{path}.claimType", "is not a claim type"))
    if claim.status not in NEW_CLAIM_STATUSES:
        problems.append(FieldProblem(f"{path}.status", "a new claim is DRAFT or ACTIVE"))
    if claim.namespace is not None:
        problems += namespace_path_problems(claim.namespace, f"{path}.namespace")
    problems += unit_interval_problems(claim.confidence, f"{path}.confidence")
    for name, value in (
        ("extractionMethod", claim.extraction_method),
        ("locationInSource", claim.location_in_source),
    ):
        if value is not None and len(value) > MAX_REF_LENGTH:
            problems.append(FieldProblem(f"{path}.{name}", f"at most {MAX_REF_LENGTH} characters"))
    if claim.position is not None:
        for name, index in (
            ("sectionIndex", claim.position.section_index),
            ("paragraphIndex", claim.position.paragraph_index),
            ("sentenceIndex", claim.position.sentence_index),
        ):
            if index is not None and not 0 <= index <= MAX_POSITION_INDEX:
                problems.append(
                    FieldProblem(
                        f"{path}.position.{name}", f"must be between 0 and {MAX_POSITION_INDEX}"
                    )
                )
    return problems


def _temp_id_problems(temp_ids: Iterable[str], path: str) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for i, temp_id in enumerate(temp_ids):
        where = f"{path}[{i}].tempId"
        if not temp_id.strip():
            problems.append(FieldProblem(where, "must not be empty"))
        elif len(temp_id) > MAX_TEMP_ID_LENGTH:
            problems.append(FieldProblem(where, f"at most {MAX_TEMP_ID_LENGTH} characters"))
        elif temp_id in seen:
            problems.append(
                FieldProblem(where, f"{temp_id!r} is used twice", ErrorCode.DUPLICATE_TEMP_ID)
            )
        seen.add(temp_id)
    return problems


def _end_problems(
    end: EndSpec, path: str, temp_ids: set[str], *, allow_external: bool
) -> list[FieldProblem]:
    given = [v for v in (end.temp_id, end.claim_id, end.external_ref) if v is not None]
    allowed = "tempId, claimId or externalRef" if allow_external else "tempId or claimId"
    if len(given) != 1:
        return [FieldProblem(path, f"must name exactly one of {allowed} (got {len(given)})")]
    if end.external_ref is not None and not allow_external:
        return [FieldProblem(f"{path}.externalRef", "an edge's source must be a claim")]
    if end.temp_id is not None and end.temp_id not in temp_ids:
        return [
            FieldProblem(
                f"{path}.tempId",
                f"no claim of this bundle has tempId {end.temp_id!r}",
                ErrorCode.TEMP_ID_UNRESOLVED,
            )
        ]
    if end.claim_id is not None and parse_uuid(end.claim_id) is None:
        return [FieldProblem(f"{path}.claimId", f"{end.claim_id!r} is not a UUID")]
    if end.external_ref is not None and not 0 < len(end.external_ref.strip()) <= MAX_REF_LENGTH:
        return [FieldProblem(f"{path}.externalRef", "must be 1-2000 characters")]
    return []


def _edge_problems(edge: EdgeSpec, path: str, temp_ids: set[str]) -> list[FieldProblem]:
    problems = _end_problems(edge.source, f"{path}.source", temp_ids, allow_external=False)
    problems += _end_problems(edge.target, f"{path}.target", temp_ids, allow_external=True)
    problems += unit_interval_problems(edge.strength, f"{path}.strength")
    return problems


def static_problems(spec: BundleSpec, max_claims: int) -> list[FieldProblem]:
    """Every problem visible without the database."""
    problems: list[FieldProblem] = []
    if not 0 < len(spec.idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        problems.append(FieldProblem("idempotencyKey", "must be 1-200 characters"))
    if not spec.claims:
        problems.append(FieldProblem("claims", "a bundle carries at least one claim"))
    if len(spec.claims) > max_claims:
        problems.append(
            FieldProblem(
                "claims",
                f"at most {max_claims} claims per bundle (got {len(spec.claims)})",
                ErrorCode.LIMIT_EXCEEDED,
            )
        )
    problems += _source_problems(spec)
    if spec.namespace is not None:
        problems += namespace_path_problems(spec.namespace, "namespace")
    if spec.contributor_id is not None and contributor(spec.contributor_id) is None:
        problems.append(
            FieldProblem(
                "contributorId",
                f"{spec.contributor_id!r} is neither an agent id (UUID) nor an ORCID iD "
                "with a valid check digit",
            )
        )
    problems += _temp_id_problems((c.temp_id for c in spec.claims), "claims")
    for i, claim in enumerate(spec.claims):
        problems += claim_problems(claim, f"claims[{i}]")
    temp_ids = {c.temp_id for c in spec.claims}
    for i, edge in enumerate(spec.edges):
        problems += _edge_problems(edge, f"edges[{i}]", temp_ids)
    problems += _artifact_problems(spec, temp_ids)
    return problems


def _source_problems(spec: BundleSpec) -> list[FieldProblem]:
    source = spec.source
    problems = []
    if source.source_type not in SOURCE_TYPES:
        problems.append(FieldProblem("source.sourceType", "is not a source type"))
    if source.external_ref is not None and not 0 < len(source.external_ref.strip()) <= 2000:
        problems.append(FieldProblem("source.externalRef", "must be 1-2000 characters"))
    if len(source.identifiers) > MAX_SOURCE_IDENTIFIERS:
        problems.append(
            FieldProblem(
                "source.identifiers",
                f"at most {MAX_SOURCE_IDENTIFIERS} identifiers",
                ErrorCode.LIMIT_EXCEEDED,
            )
        )
    for i, identifier in enumerate(source.identifiers):
        if not 0 < len(identifier.strip()) <= MAX_REF_LENGTH:
            problems.append(
                FieldProblem(f"source.identifiers[{i}]", f"must be 1-{MAX_REF_LENGTH} characters")
            )
    if source.content_hash is not None and not CONTENT_HASH.match(source.content_hash):
        problems.append(FieldProblem("source.contentHash", "must be 64 lower-case hex digits"))
    if source.title is not None and len(source.title) > MAX_TEXT_LENGTH:
        problems.append(FieldProblem("source.title", f"at most {MAX_TEXT_LENGTH} characters"))
    return problems


def _artifact_problems(spec: BundleSpec, temp_ids: set[str]) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    named = [(i, a.temp_id) for i, a in enumerate(spec.artifacts) if a.temp_id is not None]
    seen: set[str] = set()
    for i, temp_id in named:
        if temp_id in seen:
            problems.append(
                FieldProblem(
                    f"artifacts[{i}].tempId",
                    f"{temp_id!r} is used twice",
                    ErrorCode.DUPLICATE_TEMP_ID,
                )
            )
        seen.add(temp_id)
    for i, artifact in enumerate(spec.artifacts):
        if artifact.artifact_type not in ARTIFACT_TYPES:
            problems.append(FieldProblem(f"artifacts[{i}].artifactType", "is not an artifact type"))
        for j, temp_id in enumerate(artifact.claim_temp_ids):
            if temp_id not in temp_ids:
                problems.append(
                    FieldProblem(
                        f"artifacts[{i}].claimTempIds[{j}]",
                        f"no claim of this bundle has tempId {temp_id!r}",
                        ErrorCode.TEMP_ID_UNRESOLVED,
                    )
                )
    return problems


@dataclass
class References:
    """What the database said about the names a bundle uses."""

    edge_types: dict[str, EdgeTypeRow] = field(default_factory=dict)
    namespace_ids: dict[str, UUID] = field(default_factory=dict)
    missing_namespaces: set[str] = field(default_factory=set)
    problems: list[FieldProblem] = field(default_factory=list)


def claim_namespace(spec: BundleSpec, claim: ClaimSpec) -> str | None:
    return claim.namespace if claim.namespace is not None else spec.namespace


async def resolve_references(
    conn: Connection, spec: BundleSpec, visibility: Visibility
) -> References:
    """Look up everything the bundle names; a missing thing is a problem at its path."""
    refs = References()
    await _check_edge_types(conn, spec, refs)
    await _check_namespaces(conn, spec, refs)
    await _check_existing_claims(conn, spec, refs, visibility)
    if spec.contributor_id is not None:
        agent_id = parse_uuid(spec.contributor_id)
        if agent_id is not None and not await agent_store.agents_by_id(conn, [agent_id]):
            refs.problems.append(
                FieldProblem("contributorId", "no agent has this id", ErrorCode.NOT_FOUND)
            )
    return refs


async def _check_edge_types(conn: Connection, spec: BundleSpec, refs: References) -> None:
    refs.edge_types = await edge_type_store.edge_types_by_name(
        conn, sorted({e.edge_type for e in spec.edges})
    )
    for i, edge in enumerate(spec.edges):
        edge_type = refs.edge_types.get(edge.edge_type)
        if edge_type is None:
            refs.problems.append(
                FieldProblem(
                    f"edges[{i}].edgeType",
                    f"{edge.edge_type!r} is not an edge type",
                    ErrorCode.EDGE_TYPE_UNKNOWN,
                )
            )
        elif edge_type.is_anti_reflexive and _same_claim(edge.source, edge.target):
            refs.problems.append(
                FieldProblem(
                    f"edges[{i}].target",
                    f"{edge.edge_type} is anti-reflexive: a claim cannot relate to itself",
                )
            )


def _same_claim(a: EndSpec, b: EndSpec) -> bool:
    if a.temp_id is not None:
        return a.temp_id == b.temp_id
    if a.claim_id is not None and b.claim_id is not None:
        return parse_uuid(a.claim_id) == parse_uuid(b.claim_id)
    return False


async def _check_namespaces(conn: Connection, spec: BundleSpec, refs: References) -> None:
    paths = {p for c in spec.claims if (p := claim_namespace(spec, c)) is not None}
    found = await namespace_store.namespaces_by_path(conn, sorted(paths))
    refs.namespace_ids = {path: row.id for path, row in found.items()}
    refs.missing_namespaces = paths - found.keys()
    if spec.create_namespaces or not refs.missing_namespaces:
        return
    hint = "does not exist (set createNamespaces to create it)"
    if spec.namespace in refs.missing_namespaces:
        refs.problems.append(FieldProblem("namespace", hint, ErrorCode.NAMESPACE_NOT_FOUND))
    for i, claim in enumerate(spec.claims):
        if claim.namespace in refs.missing_namespaces:
            refs.problems.append(
                FieldProblem(f"claims[{i}].namespace", hint, ErrorCode.NAMESPACE_NOT_FOUND)
            )


async def _check_existing_claims(
    conn: Connection, spec: BundleSpec, refs: References, visibility: Visibility
) -> None:
    """Claims named by id must exist and be visible to the submitter (a draft of
    another agent is not found)."""
    named = [
        (f"edges[{i}].{side}.claimId", claim_id)
        for i, edge in enumerate(spec.edges)
        for side, end in (("source", edge.source), ("target", edge.target))
        if end.claim_id is not None and (claim_id := parse_uuid(end.claim_id)) is not None
    ]
    if not named:
        return
    ids = sorted({claim_id for _, claim_id in named})
    found = await claim_store.claims_by_id(conn, ids, visibility)
    for path, claim_id in named:
        if claim_id not in found:
            refs.problems.append(FieldProblem(path, "no claim has this id", ErrorCode.NOT_FOUND))
