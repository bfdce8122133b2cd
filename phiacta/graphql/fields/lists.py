"""Single lookups and paged lists of agents, sources, namespaces, bundles and pending
references."""

from __future__ import annotations

import strawberry

from phiacta.graphql.context import Info
from phiacta.graphql.enums import AgentType, BundleStatus, PendingReferenceStatus, SourceType
from phiacta.graphql.ids import optional_uuid, uuid_of
from phiacta.graphql.pagination import Connection, build_connection, time_key, time_page
from phiacta.graphql.types import Agent, Bundle, Namespace, PendingReference, Source
from phiacta.identifiers import canonical_identifier
from phiacta.store import agents as agent_store
from phiacta.store import bundles as bundle_store
from phiacta.store import pending_references as pending_store
from phiacta.store import sources as source_store


@strawberry.type
class ListQueries:
    @strawberry.field(description="One agent by id, or null.")
    async def agent(self, info: Info, id: strawberry.ID) -> Agent | None:
        row = await info.context.loaders.agent.load(uuid_of(id, "id"))
        return Agent.from_row(row) if row else None

    @strawberry.field(description="Agents in creation order, optionally of one type.")
    async def agents(
        self,
        info: Info,
        agent_type: AgentType | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Agent]:
        args, keyset = time_page(first, after, "agents")
        kind = agent_type.value if agent_type else None
        async with info.context.connection() as conn:
            rows = await agent_store.list_agents(
                conn, agent_type=kind, limit=args.first + 1, after=keyset
            )

        async def count() -> int:
            async with info.context.connection() as conn:
                return await agent_store.count_agents(conn, agent_type=kind)

        return build_connection(
            rows,
            args,
            kind="agents",
            key=lambda r: time_key(r.created_at, r.id),
            node=Agent.from_row,
            count=count,
        )

    @strawberry.field(description="One source by id, or null.")
    async def source(self, info: Info, id: strawberry.ID) -> Source | None:
        row = await info.context.loaders.source.load(uuid_of(id, "id"))
        return Source.from_row(row) if row else None

    @strawberry.field(
        description="Sources in creation order, optionally of one type or known by one "
        "identifier (DOI, URL, arXiv id, PubMed id) in any spelling."
    )
    async def sources(
        self,
        info: Info,
        source_type: SourceType | None = None,
        external_ref: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Source]:
        args, keyset = time_page(first, after, "sources")
        kind = source_type.value if source_type else None
        if external_ref is not None:
            external_ref = canonical_identifier(external_ref)
        async with info.context.connection() as conn:
            rows = await source_store.list_sources(
                conn,
                source_type=kind,
                external_ref=external_ref,
                limit=args.first + 1,
                after=keyset,
            )

        async def count() -> int:
            async with info.context.connection() as conn:
                return await source_store.count_sources(
                    conn, source_type=kind, external_ref=external_ref
                )

        return build_connection(
            rows,
            args,
            kind="sources",
            key=lambda r: time_key(r.created_at, r.id),
            node=Source.from_row,
            count=count,
        )

    @strawberry.field(
        description="The namespace hierarchy as a tree: the top-level namespaces, each with "
        "its `children`."
    )
    async def namespace_tree(self, info: Info) -> list[Namespace]:
        rows = await info.context.loaders.namespace_children.load(None)
        return [Namespace.from_row(row) for row in rows]

    @strawberry.field(description="One bundle by id, or null.")
    async def bundle(self, info: Info, id: strawberry.ID) -> Bundle | None:
        row = await info.context.loaders.bundle.load(uuid_of(id, "id"))
        return Bundle.from_row(row) if row else None

    @strawberry.field(
        description="Bundles, newest first, optionally by submitter, status or idempotency "
        "key (any submitter's: an extension's key names a document and its version)."
    )
    async def bundles(
        self,
        info: Info,
        submitted_by: strawberry.ID | None = None,
        status: BundleStatus | None = None,
        first: int | None = None,
        after: str | None = None,
        idempotency_key: str | None = None,
    ) -> Connection[Bundle]:
        submitter = optional_uuid(submitted_by, "submittedBy")
        args, keyset = time_page(first, after, "bundles")
        state = status.value if status else None
        async with info.context.connection() as conn:
            rows = await bundle_store.list_bundles(
                conn,
                submitted_by=submitter,
                status=state,
                limit=args.first + 1,
                after=keyset,
                idempotency_key=idempotency_key,
            )

        async def count() -> int:
            async with info.context.connection() as conn:
                return await bundle_store.count_bundles(
                    conn, submitted_by=submitter, status=state, idempotency_key=idempotency_key
                )

        return build_connection(
            rows,
            args,
            kind="bundles",
            key=lambda r: time_key(r.submitted_at, r.id),
            node=Bundle.from_row,
            count=count,
        )

    @strawberry.field(
        description="Edges waiting for an external reference, oldest first, optionally by "
        "status or bundle."
    )
    async def pending_references(
        self,
        info: Info,
        status: PendingReferenceStatus | None = None,
        bundle_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[PendingReference]:
        of_bundle = optional_uuid(bundle_id, "bundleId")
        args, keyset = time_page(first, after, "pending_references")
        state = status.value if status else None
        async with info.context.connection() as conn:
            rows = await pending_store.list_pending_references(
                conn,
                status=state,
                bundle_id=of_bundle,
                limit=args.first + 1,
                after=keyset,
                visibility=info.context.visibility,
            )

        async def count() -> int:
            async with info.context.connection() as conn:
                return await pending_store.count_pending_references(
                    conn, status=state, bundle_id=of_bundle, visibility=info.context.visibility
                )

        return build_connection(
            rows,
            args,
            kind="pending_references",
            key=lambda r: time_key(r.created_at, r.id),
            node=PendingReference.from_row,
            count=count,
        )
