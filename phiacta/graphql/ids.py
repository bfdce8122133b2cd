"""Ids in the schema: one GraphQL type, `ID`, whose values are UUIDs written as strings.

Every id the API returns is a `uuid.UUID` in Python and an `ID` in the schema
(`ID_SCALARS` maps the one to the other), so a client declares `$id: ID!` once and
uses it for reads and writes alike. Every id the API accepts is a `strawberry.ID`
(a string) that the resolver turns into a UUID with `uuid_of` and its friends, so a
malformed id is a VALIDATION_FAILED whose details name the argument or input field.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import strawberry
from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY
from strawberry.types.scalar import ScalarDefinition

from phiacta.errors import FieldProblem, ValidationFailed
from phiacta.ingest.validate import parse_uuid

# Strawberry's `scalar_overrides`: UUID fields are served as the built-in `ID`.
ID_SCALARS: dict[object, ScalarDefinition] = {UUID: DEFAULT_SCALAR_REGISTRY[strawberry.ID]}


def id_problem(value: object, path: str) -> FieldProblem | None:
    """The problem with one id given at `path`, or None when it is a UUID."""
    if isinstance(value, str) and parse_uuid(value) is not None:
        return None
    return FieldProblem(path, f"{value!r} is not a UUID")


def uuid_of(value: strawberry.ID | str, path: str) -> UUID:
    """The UUID an id argument names; VALIDATION_FAILED at `path` when it is none."""
    parsed = parse_uuid(str(value))
    if parsed is None:
        raise ValidationFailed.single(path, f"{value!r} is not a UUID")
    return parsed


def optional_uuid(value: strawberry.ID | str | None, path: str) -> UUID | None:
    """`uuid_of` for an optional argument: None stays None."""
    return None if value is None else uuid_of(value, path)


def uuids_of(values: Sequence[strawberry.ID | str], path: str) -> list[UUID]:
    """Every id of a list argument; all malformed ones are reported at once."""
    problems = [
        problem
        for index, value in enumerate(values)
        if (problem := id_problem(str(value), f"{path}[{index}]")) is not None
    ]
    if problems:
        raise ValidationFailed(problems)
    return [UUID(str(value)) for value in values]
