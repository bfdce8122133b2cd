"""schema.graphql at the repository root is exactly the schema the server serves."""

from __future__ import annotations

from pathlib import Path

import httpx
from graphql import build_client_schema, get_introspection_query, print_schema

from phiacta.graphql.schema import build_schema, schema_sdl

ROOT = Path(__file__).resolve().parent.parent


def test_schema_file_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == schema_sdl(), "schema.graphql is stale: run `make schema`"


def test_the_served_schema_matches_the_code(client: httpx.Client) -> None:
    response = client.post(
        "/graphql", json={"query": get_introspection_query(specified_by_url=True)}
    )
    served = build_client_schema(response.json()["data"])
    local = build_schema()._schema
    assert print_schema(served) == print_schema(local)
