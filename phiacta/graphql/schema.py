"""The schema: Query and Mutation composed from the per-area field classes."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from phiacta.graphql.errors import CodedErrors
from phiacta.graphql.fields.claims import ClaimQueries
from phiacta.graphql.fields.edge_types import EdgeTypeQueries
from phiacta.graphql.fields.namespaces import NamespaceMutations, NamespaceQueries


@strawberry.type(description="Every way to read the knowledge graph.")
class Query(ClaimQueries, EdgeTypeQueries, NamespaceQueries):
    pass


@strawberry.type(description="Every way to change the knowledge graph.")
class Mutation(NamespaceMutations):
    pass


class PhiactaSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry would log every error with a traceback, expected ones included;
        # `CodedErrors` already logged the unexpected ones.
        return


def build_schema() -> strawberry.Schema:
    return PhiactaSchema(
        query=Query,
        mutation=Mutation,
        extensions=[
            CodedErrors,
            # Factories: the caches themselves live at module level and are shared.
            lambda: ParserCache(maxsize=1024),
            lambda: ValidationCache(maxsize=1024),
        ],
        config=StrawberryConfig(auto_camel_case=True),
    )


def schema_sdl() -> str:
    """The schema as SDL, exactly as `schema.graphql` holds it."""
    return build_schema().as_str() + "\n"
