"""Writing single claims: create, revise (a new immutable version), change status.

Each function validates, embeds outside the transaction, writes its rows and events in
one transaction, and leaves one audit line after commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from phiacta.auth.viewer import Viewer
from phiacta.config import Settings
from phiacta.db.pool import Pool
from phiacta.embeddings.base import EmbeddingProvider
from phiacta.errors import (
    ErrorCode,
    FieldProblem,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from phiacta.events import EventType, private_to
from phiacta.ingest.embedding import embed_for_write
from phiacta.ingest.validate import (
    CLAIM_TYPES,
    NEW_CLAIM_STATUSES,
    content_problems,
    namespace_path_problems,
    parse_uuid,
    unit_interval_problems,
)
from phiacta.observability import metrics
from phiacta.observability.audit import audit_write
from phiacta.store import Connection
from phiacta.store import claims as claim_store
from phiacta.store import edges as edge_store
from phiacta.store import events as event_store
from phiacta.store import namespaces as namespace_store
from phiacta.store import pending_references as pending_store
from phiacta.store import provenance as provenance_store
from phiacta.store import risk as risk_store
from phiacta.store import sources as source_store
from phiacta.store.claims import ClaimRow, NewClaim
from phiacta.store.visibility import EVERYTHING

# Where a status may go. Retracted is final; a deprecated version stays deprecated.
STATUS_CHANGES = {
    "draft": {"active", "deprecated", "retracted"},
    "active": {"deprecated", "retracted"},
    "deprecated": {"retracted"},
    "retracted": set(),
}
MAX_REASON_LENGTH = 2_000


@dataclass(frozen=True)
class ClaimDraft:
    """A claim's content as given to createClaim, or reviseClaim's changes (None: keep)."""

    content: str | None
    claim_type: str | None = None
    formal_content: str | None = None
    namespace: str | None = None
    status: str | None = None
    attrs: dict[str, Any] | None = None
    source_id: str | None = None
    confidence: float | None = None
    extra_problems: list[FieldProblem] = field(default_factory=list)


@dataclass(frozen=True)
class WriteContext:
    pool: Pool
    embedder: EmbeddingProvider | None
    settings: Settings
    viewer: Viewer
    request_id: str


def _draft_problems(draft: ClaimDraft, *, creating: bool) -> list[FieldProblem]:
    problems = list(draft.extra_problems)
    if draft.content is not None or creating:
        problems += content_problems(draft.content or "", draft.formal_content, "input")
    if draft.claim_type is not None and draft.claim_type not in CLAIM_TYPES:
        problems.append(FieldProblem("input.claimType", "is not a claim type"))
    if draft.status is not None and draft.status not in NEW_CLAIM_STATUSES:
        problems.append(FieldProblem("input.status", "a new version is DRAFT or ACTIVE"))
    if draft.namespace is not None:
        problems += namespace_path_problems(draft.namespace, "input.namespace")
    problems += unit_interval_problems(draft.confidence, "input.confidence")
    if draft.source_id is not None and parse_uuid(draft.source_id) is None:
        problems.append(FieldProblem("input.sourceId", f"{draft.source_id!r} is not a UUID"))
    return problems


async def _namespace_id(conn: Connection, path: str | None) -> UUID | None:
    if path is None:
        return None
    found = await namespace_store.namespaces_by_path(conn, [path])
    if path not in found:
        raise ValidationFailed.single(
            "input.namespace", f"{path!r} does not exist", ErrorCode.NAMESPACE_NOT_FOUND
        )
    return found[path].id


async def create_claim(ctx: WriteContext, draft: ClaimDraft) -> ClaimRow:
    problems = _draft_problems(draft, creating=True)
    if problems:
        raise ValidationFailed(problems)
    source_id = parse_uuid(draft.source_id) if draft.source_id else None
    async with ctx.pool.connection() as conn:
        namespace_id = await _namespace_id(conn, draft.namespace)
        if source_id is not None and not await source_store.sources_by_id(conn, [source_id]):
            raise ValidationFailed.single(
                "input.sourceId", "no source has this id", ErrorCode.NOT_FOUND
            )
    content = draft.content or ""
    (vector,) = (await embed_for_write(ctx.embedder, ctx.settings, [content])).vectors
    claim_id = uuid.uuid4()
    new = NewClaim(
        id=claim_id,
        lineage_id=claim_id,
        version=1,
        claim_type=draft.claim_type or "assertion",
        content=content,
        formal_content=draft.formal_content,
        namespace_id=namespace_id,
        created_by=ctx.viewer.agent_id,
        supersedes=None,
        status=draft.status or "active",
        embedding=vector,
        attrs=draft.attrs or {},
    )
    async with ctx.pool.connection() as conn, conn.transaction():
        await claim_store.insert_claims(conn, [new])
        if source_id is not None:
            await provenance_store.insert_provenance(
                conn,
                [
                    provenance_store.NewProvenance(
                        claim_id=claim_id,
                        source_id=source_id,
                        extracted_by=ctx.viewer.agent_id,
                        extraction_method=None,
                        location_in_source=None,
                        confidence=draft.confidence,
                        attrs={},
                    )
                ],
            )
        await event_store.append_event(
            conn,
            EventType.CLAIM_CREATED,
            {
                "claim_id": str(claim_id),
                "lineage_id": str(claim_id),
                "version": 1,
                "claim_type": new.claim_type,
                "namespace_id": None if namespace_id is None else str(namespace_id),
                "namespace_path": draft.namespace,
                "source_id": None if source_id is None else str(source_id),
                "bundle_id": None,
                "created_by": str(ctx.viewer.agent_id),
                "status": new.status,
                **private_to(new.status, ctx.viewer.agent_id),
            },
        )
        row = await claim_store.claim_by_id(conn, claim_id)
    assert row is not None
    metrics.claims_ingested(1)
    audit_write(
        operation="createClaim",
        agent_id=ctx.viewer.agent_id,
        request_id=ctx.request_id,
        ids=[claim_id],
    )
    return row


def _may_see(ctx: WriteContext, claim: ClaimRow) -> bool:
    """Another agent's draft does not exist for the caller (drafts are private)."""
    return claim.status != "draft" or ctx.viewer.may_change(claim.created_by)


async def _locked_latest(conn: Connection, ctx: WriteContext, claim_id: UUID) -> ClaimRow:
    """The claim, row-locked, when it is the latest version and the caller may change it."""
    row = await claim_store.lock_claim(conn, claim_id)
    if row is None or not _may_see(ctx, row):
        raise NotFound(f"no claim has id {claim_id}")
    if not ctx.viewer.may_change(row.created_by):
        raise Forbidden("only the claim's creator or an admin may change it")
    latest_id, latest_version = await claim_store.latest_version_of_lineage(conn, row.lineage_id)
    if latest_id != row.id:
        raise ValidationFailed.single(
            "id",
            f"version {row.version} is not the latest version of its claim; revise the "
            f"latest one (version {latest_version}, id {latest_id})",
            ErrorCode.CONFLICT,
        )
    return row


async def revise_claim(ctx: WriteContext, claim_id: UUID, draft: ClaimDraft) -> ClaimRow:
    """A new immutable version (version + 1, same lineage, `supersedes` the old one); the
    old version becomes deprecated. Only the latest version can be revised."""
    problems = _draft_problems(draft, creating=False)
    if problems:
        raise ValidationFailed(problems)
    async with ctx.pool.connection() as conn:
        current = await claim_store.claim_by_id(conn, claim_id)
        namespace_id = await _namespace_id(conn, draft.namespace)
    if current is None:
        raise NotFound(f"no claim has id {claim_id}")
    content = draft.content if draft.content is not None else current.content
    vectors = (await embed_for_write(ctx.embedder, ctx.settings, [content])).vectors
    async with ctx.pool.connection() as conn, conn.transaction():
        old = await _locked_latest(conn, ctx, claim_id)
        new = NewClaim(
            id=uuid.uuid4(),
            lineage_id=old.lineage_id,
            version=old.version + 1,
            claim_type=draft.claim_type or old.claim_type,
            content=content,
            formal_content=(
                draft.formal_content if draft.formal_content is not None else old.formal_content
            ),
            namespace_id=namespace_id if draft.namespace is not None else old.namespace_id,
            created_by=ctx.viewer.agent_id,
            supersedes=old.id,
            status=draft.status or "active",
            embedding=vectors[0],
            attrs=draft.attrs if draft.attrs is not None else old.attrs,
        )
        await claim_store.insert_claims(conn, [new])
        carried = await _keep_place_in_graph(conn, ctx, old, new)
        # A retracted version stays retracted: its successor un-retracts the claim.
        if old.status != "retracted":
            await claim_store.set_claim_status(conn, old.id, "deprecated")
        namespace_path = await _path_of(conn, new.namespace_id)
        status_event = (
            []
            if old.status == "retracted"
            else [_status_changed(old, "deprecated", f"revised as version {new.version}", ctx)]
        )
        await event_store.append_events(
            conn,
            [
                *status_event,
                (
                    EventType.CLAIM_REVISED,
                    {
                        "claim_id": str(new.id),
                        "lineage_id": str(new.lineage_id),
                        "version": new.version,
                        "previous_id": str(old.id),
                        "claim_type": new.claim_type,
                        "namespace_id": None if new.namespace_id is None else str(new.namespace_id),
                        "namespace_path": namespace_path,
                        "created_by": str(ctx.viewer.agent_id),
                        "status": new.status,
                        "carried_edges": carried,
                        **private_to(new.status, ctx.viewer.agent_id),
                    },
                ),
            ],
        )
        row = await claim_store.claim_by_id(conn, new.id)
    assert row is not None
    metrics.claims_ingested(1)
    audit_write(
        operation="reviseClaim",
        agent_id=ctx.viewer.agent_id,
        request_id=ctx.request_id,
        ids=[new.id, old.id],
        version=new.version,
    )
    return row


async def _keep_place_in_graph(
    conn: Connection, ctx: WriteContext, old: ClaimRow, new: NewClaim
) -> int:
    """The new version takes the old one's place: its edges (carried forward, see
    `store.edges.CARRY_EDGES_FORWARD`), its provenance and its pending references, and a
    `supersedes` edge to the old version. Reviews stay with the version they judged. The
    number of edges carried."""
    carried = await edge_store.carry_edges_forward(
        conn, old_id=old.id, new_id=new.id, lineage_id=old.lineage_id
    )
    await provenance_store.carry_provenance_forward(conn, old_id=old.id, new_id=new.id)
    await pending_store.move_pending_to_new_version(conn, old_id=old.id, new_id=new.id)
    await edge_store.insert_edges(
        conn,
        [
            edge_store.NewEdge(
                id=uuid.uuid4(),
                source_id=new.id,
                target_id=old.id,
                edge_type="supersedes",
                strength=1.0,
                created_by=ctx.viewer.agent_id,
                source_provenance=None,
                attrs={},
            )
        ],
    )
    return carried


async def _path_of(conn: Connection, namespace_id: UUID | None) -> str | None:
    if namespace_id is None:
        return None
    found = await namespace_store.namespaces_by_id(conn, [namespace_id])
    return found[namespace_id].path if namespace_id in found else None


def _status_changed(
    claim: ClaimRow, status: str, reason: str | None, ctx: WriteContext
) -> tuple[str, dict[str, Any]]:
    return (
        EventType.CLAIM_STATUS_CHANGED,
        {
            "claim_id": str(claim.id),
            "lineage_id": str(claim.lineage_id),
            "status": status,
            "previous_status": claim.status,
            "reason": reason,
            "changed_by": str(ctx.viewer.agent_id),
            **private_to(status, claim.created_by),
        },
    )


async def _mark_dependents_at_risk(
    conn: Connection, ctx: WriteContext, retracted: ClaimRow
) -> None:
    """One `claim_at_risk` event per claim standing on the newly retracted one (at most
    store.risk.MAX_RISK_CLAIMS), with its path to it, in the retracting transaction.
    Retracting a version that is not the newest of its lineage puts nothing at risk."""
    retracted_id = retracted.id
    latest_id, _ = await claim_store.latest_version_of_lineage(conn, retracted.lineage_id)
    if latest_id != retracted_id:
        return
    paths = await risk_store.dependents_of(
        conn, retracted_id, ctx.settings.max_traversal_depth, EVERYTHING
    )
    if not paths:
        return
    claims = await claim_store.claims_by_id(conn, [p.at_risk_id for p in paths], EVERYTHING)
    await event_store.append_events(
        conn,
        [
            (
                EventType.CLAIM_AT_RISK,
                {
                    "claim_id": str(p.at_risk_id),
                    "lineage_id": str(claims[p.at_risk_id].lineage_id),
                    "retracted_id": str(retracted_id),
                    "path": [str(step) for step in p.path],
                    "created_by": _opt_text(claims[p.at_risk_id].created_by),
                    **private_to(claims[p.at_risk_id].status, claims[p.at_risk_id].created_by),
                },
            )
            for p in paths
            if p.at_risk_id in claims
        ],
    )


def _opt_text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


async def set_claim_status(
    ctx: WriteContext, claim_id: UUID, status: str, reason: str | None
) -> ClaimRow:
    """Deprecate, retract (with a reason) or publish a draft. Status is the one mutable
    column of a version; the reason travels in the event and the audit line."""
    if status == "retracted" and not (reason or "").strip():
        raise ValidationFailed.single("reason", "a retraction needs a reason")
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        raise ValidationFailed.single("reason", f"at most {MAX_REASON_LENGTH} characters")
    async with ctx.pool.connection() as conn, conn.transaction():
        claim = await claim_store.lock_claim(conn, claim_id)
        if claim is None or not _may_see(ctx, claim):
            raise NotFound(f"no claim has id {claim_id}")
        if not ctx.viewer.may_change(claim.created_by):
            raise Forbidden("only the claim's creator or an admin may change its status")
        if claim.status == status:
            return claim
        if status not in STATUS_CHANGES[claim.status]:
            raise ValidationFailed.single(
                "status",
                f"a {claim.status} claim cannot become {status}",
                ErrorCode.CONFLICT,
            )
        await claim_store.set_claim_status(conn, claim_id, status)
        await event_store.append_event(conn, *_status_changed(claim, status, reason, ctx))
        if status == "retracted":
            await _mark_dependents_at_risk(conn, ctx, claim)
        row = await claim_store.claim_by_id(conn, claim_id)
    assert row is not None
    audit_write(
        operation="setClaimStatus",
        agent_id=ctx.viewer.agent_id,
        request_id=ctx.request_id,
        ids=[claim_id],
        status=status,
        previous_status=claim.status,
        reason=reason,
    )
    return row
