"""Who am I, API keys and extension registration.

An admin key manages every agent's keys; any other key manages only its own agent's,
and never grants a scope it does not hold itself (no escalation through a new key).
Per-key rate-limit overrides are an admin's to set. The raw key exists only in the
response of the mutation that creates it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from phiacta.auth.issue import issue_api_key, parse_scopes
from phiacta.auth.manifest import parse_manifest
from phiacta.auth.ratelimit import GROUPS
from phiacta.auth.viewer import Scope, Viewer
from phiacta.errors import Conflict, FieldProblem, Forbidden, NotFound, ValidationFailed
from phiacta.graphql.context import Info
from phiacta.graphql.ids import optional_uuid, uuid_of
from phiacta.graphql.permissions import IsAdmin, IsAuthenticated, require_viewer
from phiacta.graphql.types import Agent
from phiacta.observability.audit import audit_write
from phiacta.store import agents as agent_store
from phiacta.store import api_keys as api_key_store
from phiacta.store import edge_types as edge_type_store
from phiacta.store.api_keys import ApiKeyRow

MAX_KEY_NAME_LENGTH = 200
MAX_KEYS_LISTED = 200
DEFAULT_EXTENSION_SCOPES = ("bundles:write", "claims:read", "claims:write")


@strawberry.type(description="An API key, without its secret.")
class ApiKey:
    id: UUID
    agent_id: UUID
    name: str | None
    prefix: str = strawberry.field(description="The public part: keys read phk_<prefix>_...")
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    rate_limits: JSON = strawberry.field(
        description="Per-key overrides: scope group -> requests per window."
    )
    created_at: datetime

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        return cls(
            id=row.id,
            agent_id=row.agent_id,
            name=row.name,
            prefix=row.prefix,
            scopes=list(row.scopes),
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
            rate_limits=JSON(row.rate_limits),
            created_at=row.created_at,
        )


@strawberry.type(description="A new API key. `key` is shown here once and never again.")
class CreatedApiKey:
    key: str
    api_key: ApiKey


@strawberry.type(name="Viewer", description="The caller: its key's agent and scopes.")
class ViewerInfo:
    agent_id: UUID
    key_id: UUID
    key_prefix: str
    scopes: list[str]
    rate_limits: JSON
    manifest: JSON | None

    @strawberry.field(description="The agent the calling key belongs to.")
    async def agent(self, info: Info) -> Agent | None:
        async with info.context.connection() as conn:
            rows = await agent_store.agents_by_id(conn, [self.agent_id])
        row = rows.get(self.agent_id)
        return Agent.from_row(row) if row else None

    @strawberry.field(description="This agent's keys, newest first.")
    async def api_keys(self, info: Info) -> list[ApiKey]:
        async with info.context.connection() as conn:
            rows = await api_key_store.api_keys(conn, agent_id=self.agent_id, limit=MAX_KEYS_LISTED)
        return [ApiKey.from_row(row) for row in rows]

    @classmethod
    def of(cls, viewer: Viewer) -> ViewerInfo:
        return cls(
            agent_id=viewer.agent_id,
            key_id=viewer.key_id,
            key_prefix=viewer.key_prefix,
            scopes=sorted(s.value for s in viewer.scopes),
            rate_limits=JSON(viewer.rate_limits),
            manifest=JSON(viewer.manifest) if viewer.manifest else None,
        )


@strawberry.input(description="A key to create; without agentId, for the caller's own agent.")
class CreateApiKeyInput:
    scopes: list[str]
    agent_id: strawberry.ID | None = None
    name: str | None = None
    expires_at: datetime | None = None
    rate_limits: JSON | None = strawberry.field(
        default=None, description="Admin only: scope group -> requests per window."
    )


@strawberry.input(description="What an extension declares it will write.")
class ExtensionManifestInput:
    id: str = strawberry.field(description="Stable identifier, e.g. org.example.paper-bot.")
    name: str
    version: str = strawberry.field(description="Semantic version, e.g. 1.4.0.")
    capabilities: list[str] = strawberry.field(default_factory=list)
    claim_types: list[str] = strawberry.field(
        default_factory=list, description="Claim types it may write (lower case)."
    )
    edge_types: list[str] = strawberry.field(
        default_factory=list, description="Edge types it may write."
    )


@strawberry.input
class RegisterExtensionInput:
    manifest: ExtensionManifestInput
    scopes: list[str] = strawberry.field(
        default_factory=lambda: list(DEFAULT_EXTENSION_SCOPES),
        description="Scopes of the extension's first key.",
    )


@strawberry.type(description="A registered extension: its agent and its first key, shown once.")
class RegisteredExtension:
    agent: Agent
    key: str
    api_key: ApiKey


def _key_problems(input: CreateApiKeyInput, viewer: Viewer) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    try:
        parse_scopes(input.scopes, "input.scopes")
    except ValidationFailed as exc:
        problems += exc.problems
    known = {scope.value for scope in Scope}
    if not viewer.is_admin:
        problems += [
            FieldProblem("input.scopes", f"a key cannot grant {s!r}, which the caller lacks")
            for s in sorted({v.strip() for v in input.scopes} & known)
            if not viewer.has(Scope(s))
        ]
    if input.name is not None and not 0 < len(input.name) <= MAX_KEY_NAME_LENGTH:
        problems.append(FieldProblem("input.name", f"must be 1-{MAX_KEY_NAME_LENGTH} characters"))
    if input.expires_at is not None and _aware(input.expires_at) <= datetime.now(UTC):
        problems.append(FieldProblem("input.expiresAt", "must be in the future"))
    problems += _rate_limit_problems(input.rate_limits, viewer)
    return problems


def _rate_limit_problems(rate_limits: object, viewer: Viewer) -> list[FieldProblem]:
    if rate_limits is None:
        return []
    path = "input.rateLimits"
    if not viewer.is_admin:
        return [FieldProblem(path, "only an admin may set rate-limit overrides")]
    if not isinstance(rate_limits, dict):
        return [FieldProblem(path, "must be an object of scope group -> requests per window")]
    return [
        FieldProblem(
            f"{path}.{group}",
            f"must be a known group ({', '.join(sorted(GROUPS))}) with a positive whole number",
        )
        for group, value in rate_limits.items()
        if group not in GROUPS or not isinstance(value, int) or isinstance(value, bool) or value < 1
    ]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@strawberry.type
class AccessQueries:
    @strawberry.field(description="The calling key's agent and scopes; null when anonymous.")
    def viewer(self, info: Info) -> ViewerInfo | None:
        viewer = info.context.viewer
        return ViewerInfo.of(viewer) if viewer else None


@strawberry.type
class AccessMutations:
    @strawberry.mutation(
        description="Create an API key: admins for any agent, others for their own agent.",
        permission_classes=[IsAuthenticated],
    )
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreatedApiKey:
        viewer = require_viewer(info.context)
        agent_id = optional_uuid(input.agent_id, "input.agentId") or viewer.agent_id
        if not viewer.may_change(agent_id):
            raise Forbidden("only an admin may create keys for another agent")
        problems = _key_problems(input, viewer)
        if problems:
            raise ValidationFailed(problems)
        pepper = info.context.services.authenticator.pepper
        async with info.context.connection() as conn, conn.transaction():
            if not await agent_store.agents_by_id(conn, [agent_id]):
                raise ValidationFailed.single("input.agentId", "no agent has this id")
            issued = await issue_api_key(
                conn,
                agent_id=agent_id,
                scopes=parse_scopes(input.scopes, "input.scopes"),
                pepper=pepper,
                name=input.name,
                expires_at=_aware(input.expires_at) if input.expires_at else None,
                rate_limits=dict(input.rate_limits)
                if isinstance(input.rate_limits, dict)
                else None,
            )
        audit_write(
            operation="createApiKey",
            agent_id=viewer.agent_id,
            request_id=info.context.request_id,
            ids=[issued.row.id],
            for_agent=str(agent_id),
            scopes=issued.row.scopes,
        )
        return CreatedApiKey(key=issued.raw_key, api_key=ApiKey.from_row(issued.row))

    @strawberry.mutation(
        description="Revoke a key at once, on every replica: admins any key, others their own.",
        permission_classes=[IsAuthenticated],
    )
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKey:
        viewer = require_viewer(info.context)
        key_id = uuid_of(id, "id")
        async with info.context.connection() as conn, conn.transaction():
            existing = await api_key_store.api_key_by_id(conn, key_id)
            # Another agent's key is reported as missing: its existence is not disclosed.
            if existing is None or not viewer.may_change(existing.agent_id):
                raise NotFound("no API key of yours has this id")
            revoked = await api_key_store.revoke_api_key(conn, key_id)
        assert revoked is not None
        info.context.services.authenticator.forget(key_id)
        audit_write(
            operation="revokeApiKey",
            agent_id=viewer.agent_id,
            request_id=info.context.request_id,
            ids=[key_id],
        )
        return ApiKey.from_row(revoked)

    @strawberry.mutation(
        description="Register an extension from its manifest; returns its first key once.",
        permission_classes=[IsAdmin],
    )
    async def register_extension(
        self, info: Info, input: RegisterExtensionInput
    ) -> RegisteredExtension:
        viewer = require_viewer(info.context)
        given = input.manifest
        async with info.context.connection() as conn:
            known_edge_types = [row.name for row in await edge_type_store.all_edge_types(conn)]
        problems: list[FieldProblem] = []
        try:
            manifest = parse_manifest(
                id=given.id,
                name=given.name,
                version=given.version,
                capabilities=given.capabilities,
                claim_types=given.claim_types,
                edge_types=given.edge_types,
                known_edge_types=known_edge_types,
                path="input.manifest",
            )
        except ValidationFailed as exc:
            problems += exc.problems
        try:
            scopes = parse_scopes(input.scopes, "input.scopes")
        except ValidationFailed as exc:
            problems += exc.problems
        if problems:
            raise ValidationFailed(problems)
        pepper = info.context.services.authenticator.pepper
        async with info.context.connection() as conn, conn.transaction():
            if await agent_store.extension_by_manifest_id(conn, manifest.id) is not None:
                raise Conflict(f"an extension with id {manifest.id!r} is already registered")
            try:
                agent = await agent_store.insert_extension(
                    conn,
                    manifest_id=manifest.id,
                    name=manifest.name,
                    manifest=manifest.as_attrs(),
                )
            except agent_store.ExtensionExists:
                raise Conflict(
                    f"an extension with id {manifest.id!r} is already registered"
                ) from None
            issued = await issue_api_key(
                conn, agent_id=agent.id, scopes=scopes, pepper=pepper, name=manifest.id
            )
        audit_write(
            operation="registerExtension",
            agent_id=viewer.agent_id,
            request_id=info.context.request_id,
            ids=[agent.id, issued.row.id],
            extension=manifest.id,
            version=manifest.version,
        )
        return RegisteredExtension(
            agent=Agent.from_row(agent), key=issued.raw_key, api_key=ApiKey.from_row(issued.row)
        )
