"""submitBundle's input is built by hooks of its own (`fields.bundles._build_directly`),
not by Strawberry's generic converter: both must give the same objects."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse
from graphql.execution.values import get_variable_values
from strawberry.types.arguments import convert_argument
from strawberry.types.base import get_object_definition

from phiacta.graphql.fields.bundles import (
    BundleArtifactInput,
    BundleClaimInput,
    BundleEdgeInput,
    BundleSourceInput,
    ClaimRefInput,
    SubmitBundleInput,
)
from phiacta.graphql.schema import build_schema

SCHEMA = build_schema()
DOCUMENT = parse(
    "mutation($input: SubmitBundleInput!) { submitBundle(input: $input) { bundleId } }"
)
HOOKED = (
    SubmitBundleInput,
    BundleSourceInput,
    BundleClaimInput,
    ClaimRefInput,
    BundleEdgeInput,
    BundleArtifactInput,
)

RICH_BODY: dict[str, Any] = {
    "idempotencyKey": "k1",
    "source": {
        "sourceType": "DATASET",
        "title": "t",
        "externalRef": "10.1/x",
        "contentHash": "ab" * 32,
        "attrs": {"a": [1, {"b": None}]},
    },
    "claims": [
        {"tempId": "c0", "content": "x"},
        {
            "tempId": "c1",
            "content": "y",
            "claimType": "THEOREM",
            "formalContent": "f",
            "namespace": "bio.imm",
            "status": "DRAFT",
            "confidence": 0.25,
            "extractionMethod": "m",
            "locationInSource": "p. 3",
            "attrs": {"k": "v"},
        },
    ],
    "edges": [
        {"source": {"tempId": "c0"}, "target": {"tempId": "c1"}, "edgeType": "supports"},
        {
            "source": {"tempId": "c1"},
            "target": {"externalRef": "arXiv:1234.5678"},
            "edgeType": "depends_on",
            "strength": 0.5,
            "attrs": None,
        },
        {
            "source": {"tempId": "c1"},
            "target": {"claimId": "00000000-0000-0000-0000-000000000001"},
            "edgeType": "refines",
        },
    ],
    "artifacts": [
        {"artifactType": "TABLE", "tempId": "t0", "structuredData": [[1, 2]]},
        {"artifactType": "FIGURE", "claimTempIds": ["c0", "c1"], "storageRef": "s3://b/k"},
    ],
    "extensionId": "ext",
    "contributorId": "00000000-0000-0000-0000-000000000002",
    "namespace": "bio",
    "createNamespaces": True,
    "attrs": {"z": 1},
}


def _coerced(body: dict[str, Any]) -> Any:
    operation = DOCUMENT.definitions[0]
    values = get_variable_values(
        SCHEMA._schema,
        operation.variable_definitions,  # type: ignore[attr-defined]
        {"input": body},
    )
    assert not isinstance(values, list), values
    return values.coerced["input"]


def _convert(coerced: Any) -> SubmitBundleInput:
    registry = SCHEMA.schema_converter.scalar_registry
    built = convert_argument(coerced, SubmitBundleInput, registry, SCHEMA.config)
    assert isinstance(built, SubmitBundleInput)
    return built


@pytest.mark.parametrize(
    "body",
    [RICH_BODY, {"idempotencyKey": "k2", "source": {"sourceType": "PAPER"}, "claims": []}],
    ids=["every-field", "only-required"],
)
def test_the_hooks_build_what_strawberry_builds(body: dict[str, Any]) -> None:
    hooked = _convert(_coerced(body))
    definitions = [get_object_definition(cls, strict=True) for cls in HOOKED]
    hooks = [d.from_input for d in definitions]
    for definition in definitions:
        definition.from_input = None
    try:
        generic = _convert(_coerced(body))
    finally:
        for definition, hook in zip(definitions, hooks, strict=True):
            definition.from_input = hook

    assert hooked == generic
    assert all(type(c) is BundleClaimInput for c in hooked.claims)
    assert all(type(e.source) is ClaimRefInput for e in hooked.edges)


def test_an_omitted_list_is_a_new_list_per_request() -> None:
    """graphql-core hands every request the same default object for an omitted list."""
    body = {
        "idempotencyKey": "k3",
        "source": {"sourceType": "PAPER"},
        "claims": [],
        "artifacts": [{"artifactType": "OTHER"}],
    }
    first, second = _convert(_coerced(body)), _convert(_coerced(body))

    first.edges.append(
        BundleEdgeInput(source=ClaimRefInput(), target=ClaimRefInput(), edge_type="supports")
    )
    first.artifacts[0].claim_temp_ids.append("c9")
    assert second.edges == []
    assert second.artifacts[0].claim_temp_ids == []
