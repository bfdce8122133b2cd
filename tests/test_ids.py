"""One id type: every id the schema takes or gives is an `ID`, always a UUID string."""

from __future__ import annotations

import uuid

import httpx
import pytest
from graphql import GraphQLNamedType, GraphQLScalarType, get_named_type

from phiacta.graphql.schema import build_schema
from tests.support import ApiKey, create_api_key, data_of, error_codes, gql
from tests.write_support import details


@pytest.fixture(scope="module")
def writer(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["claims:write", "admin"])


def test_the_schema_has_one_id_scalar_and_no_uuid() -> None:
    schema = build_schema()._schema
    scalars = {name for name, t in schema.type_map.items() if isinstance(t, GraphQLScalarType)}
    assert "UUID" not in scalars and "ID" in scalars
    strings: set[str] = set()
    for named in schema.type_map.values():
        for field_name, field in getattr(named, "fields", {}).items():
            if field_name == "id" or field_name.endswith("Id"):
                field_type: GraphQLNamedType = get_named_type(field.type)
                if field_type.name != "ID":
                    strings.add(f"{named.name}.{field_name}")
    # What is not a UUID: the outbox's integer event ids, a bundle's own temp ids, and
    # names given by others (ORCID iDs, extension manifest ids).
    assert {name.split(".")[1] for name in strings} == {
        "id",
        "eventId",
        "tempId",
        "claimTempId",
        "externalId",
        "extensionId",
    }
    assert {name for name in strings if name.endswith(".id")} == {
        "Event.id",
        "ExtensionManifestInput.id",
    }


def test_one_id_variable_serves_a_read_and_a_revision(client: httpx.Client, writer: ApiKey) -> None:
    created = data_of(
        gql(
            client,
            'mutation { createClaim(input: {content: "ids are one type"}) { id } }',
            headers=writer.headers,
        )
    )["createClaim"]
    document = """
    query Read($id: ID!) { claim(id: $id) { id version } }
    mutation Revise($id: ID!) {
      reviseClaim(id: $id, input: {content: "ids are one type, revised"}) { version }
    }"""
    for operation, expected in (("Read", 1), ("Revise", 2)):
        response = client.post(
            "/graphql",
            json={"query": document, "operationName": operation, "variables": created},
            headers=writer.headers,
        )
        body = response.json()
        field = "claim" if operation == "Read" else "reviseClaim"
        assert data_of(body)[field]["version"] == expected


@pytest.mark.parametrize(
    ("document", "variables", "path"),
    [
        ("query ($id: ID!) { claim(id: $id) { id } }", {"id": "nope"}, "id"),
        ("query ($id: ID!) { agent(id: $id) { id } }", {"id": "nope"}, "id"),
        ("query ($id: ID!) { traverse(start: $id) { truncated } }", {"id": "7"}, "start"),
        (
            "query ($a: ID!) { path(from: $a, to: $a) { length } }",
            {"a": "x"},
            "from",
        ),
        (
            "query ($ids: [ID!]) { view(kind: COMPARISON, claims: $ids) { __typename } }",
            {"ids": [str(uuid.uuid4()), "bad"]},
            "claims[1]",
        ),
        (
            "query ($by: ID) { claims(filter: {createdBy: $by}) { totalCount } }",
            {"by": "someone"},
            "filter.createdBy",
        ),
        (
            "query ($by: ID) { bundles(submittedBy: $by) { totalCount } }",
            {"by": "someone"},
            "submittedBy",
        ),
    ],
)
def test_a_malformed_id_is_a_validation_error_naming_its_argument(
    client: httpx.Client, document: str, variables: dict[str, object], path: str
) -> None:
    body = gql(client, document, variables)
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert (path, "INVALID_VALUE") in details(body)
