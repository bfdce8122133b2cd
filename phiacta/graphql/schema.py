"""The schema: Query and Mutation composed from the per-area field classes."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from phiacta.config import Settings
from phiacta.graphql.engine.limits import limit_extensions
from phiacta.graphql.engine.live_sharing import SharingExecutor
from phiacta.graphql.engine.plain_lists import PlainListsExecutor
from phiacta.graphql.engine.variables import install as install_variable_coercion
from phiacta.graphql.error_details import place_scalar_errors
from phiacta.graphql.errors import CodedErrors
from phiacta.graphql.fields.access import AccessMutations, AccessQueries
from phiacta.graphql.fields.agents import AgentMutations
from phiacta.graphql.fields.bundles import BundleMutations
from phiacta.graphql.fields.claim_writes import ClaimWriteMutations
from phiacta.graphql.fields.claims import ClaimQueries
from phiacta.graphql.fields.edge_type_writes import EdgeTypeMutations
from phiacta.graphql.fields.edge_types import EdgeTypeQueries
from phiacta.graphql.fields.edges import EdgeMutations
from phiacta.graphql.fields.lists import ListQueries
from phiacta.graphql.fields.namespaces import NamespaceMutations, NamespaceQueries
from phiacta.graphql.fields.reviews import ReviewMutations
from phiacta.graphql.fields.search import SearchQueries
from phiacta.graphql.fields.sources import SourceMutations
from phiacta.graphql.fields.subscriptions import LiveSubscriptions
from phiacta.graphql.fields.traversal import TraversalQueries
from phiacta.graphql.fields.views import ViewQueries
from phiacta.graphql.fields.webhooks import WebhookMutations, WebhookQueries
from phiacta.graphql.ids import ID_SCALARS
from phiacta.graphql.permissions import guard_reads
from phiacta.observability.access import OperationName


@strawberry.type(description="Every way to read the knowledge graph.")
class Query(
    ClaimQueries,
    EdgeTypeQueries,
    NamespaceQueries,
    WebhookQueries,
    ListQueries,
    SearchQueries,
    TraversalQueries,
    ViewQueries,
    AccessQueries,
):
    pass


# Reads need claims:read when PUBLIC_READS is false; `viewer` answers any caller.
guard_reads(Query, exempt=frozenset({"viewer"}))


@strawberry.type(description="Every way to change the knowledge graph.")
class Mutation(
    NamespaceMutations,
    WebhookMutations,
    BundleMutations,
    AccessMutations,
    ClaimWriteMutations,
    EdgeMutations,
    ReviewMutations,
    AgentMutations,
    SourceMutations,
    EdgeTypeMutations,
):
    pass


@strawberry.type(description="Live updates of committed changes.")
class Subscription(LiveSubscriptions):
    pass


class PhiactaSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry would log every error with a traceback, expected ones included;
        # `CodedErrors` already logged the unexpected ones.
        return


class Executor(PlainListsExecutor, SharingExecutor):
    """Long lists of plain objects completed directly; subscription events shared."""


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema; with `settings`, it also enforces their document limits."""
    install_variable_coercion()
    limits = limit_extensions(settings) if settings is not None else []
    schema = PhiactaSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            CodedErrors,
            OperationName,
            # Factories: the caches themselves live at module level and are shared. They
            # serve only what `graphql.engine.operations` leaves to Strawberry (subscriptions,
            # odd requests), so they are small.
            lambda: ParserCache(maxsize=128),
            lambda: ValidationCache(maxsize=128),
            *limits,
        ],
        config=StrawberryConfig(auto_camel_case=True),
        scalar_overrides=ID_SCALARS,
        # Subscription events are executed once per group of identical subscribers.
        execution_context_class=Executor,
    )
    place_scalar_errors(schema._schema)
    return schema


def schema_sdl() -> str:
    """The schema as SDL, exactly as `schema.graphql` holds it."""
    return build_schema().as_str() + "\n"
