"""Where in a request graphql-core found a problem, as a VALIDATION_FAILED detail.

Domain validation names the input field it refuses (`input.claims[0].content`); the
problems graphql-core finds itself (syntax, an unknown field, a literal of the wrong
type, a variable that does not coerce) get the same shape here, so that a client reads
one `details` list whatever found the problem:

- a variable: `variables.input.claims[0].claimType`, from the path graphql-core prints
  in its message (it keeps no structured path);
- a place in the document: the response path of the field and the argument path inside
  it (`claims.filter.claimTypes[0]`, `claim.bogus`), with `line` and `column`;
- a syntax error: `query`, with `line` and `column`;
- an operation name that matches no operation: `operationName`.

`place_scalar_errors` makes the custom scalars' refusals (a DateTime literal that is no
time) findable: graphql-core passes a scalar's own GraphQLError on without the
literal's location, so its detail could only say `query`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLSyntaxError,
    ListValueNode,
    Node,
    ObjectFieldNode,
    VariableDefinitionNode,
    parse,
    specified_scalar_types,
)

from phiacta.errors import ErrorCode

# graphql-core's messages for variables (graphql.execution.values): the variable's name,
# then the path inside its value, printed as `.field` and `[index]` steps.
_VARIABLE = re.compile(r"^Variable '\$(?P<name>\w+)'(?: has invalid (?:default )?value(?: at )?)?")
_VALUE_PATH = re.compile(r"(?:\.\w+|\[\d+\])")
_UNKNOWN_OPERATION = re.compile(r"^(Unknown operation named|Can't get GraphQL operation type)")
_METHOD = re.compile(r"are not allowed when using")
# graphql-core's messages for an input object missing a required field or holding an
# unknown one: the field is named in the message, not in the path.
_REQUIRED_FIELD = re.compile(r"to include required field '(\w+)'")
_UNKNOWN_FIELD = re.compile(r"not to include unknown field '(\w+)'")

Segment = str | int


def details_of(error: GraphQLError) -> list[dict[str, object]]:
    """One detail (path, message, code, and line/column when known) for `error`."""
    detail: dict[str, object] = {
        "path": _path(error),
        "message": error.message,
        "code": str(ErrorCode.INVALID_VALUE),
    }
    if error.locations:
        detail["line"] = error.locations[0].line
        detail["column"] = error.locations[0].column
    return [detail]


def request_path(reason: str) -> str:
    """The part of an HTTP request Strawberry refused (`reason` is its message)."""
    if _UNKNOWN_OPERATION.match(reason):
        return "operationName"
    if _METHOD.search(reason):
        return "method"
    return "query"


def _path(error: GraphQLError) -> str:
    variable = _VARIABLE.match(error.message)
    if variable is not None and not isinstance(error, GraphQLSyntaxError):
        steps = _value_steps(error.message, variable.end())
        return f"variables.{variable['name']}{steps}{_named_field(error.message, unknown=True)}"
    if _UNKNOWN_OPERATION.match(error.message):
        return "operationName"
    if not isinstance(error, GraphQLSyntaxError) and error.nodes and error.source:
        found = _document_path(error.source.body, error.nodes[0])
        if found:
            # An unknown field's node is the field itself; a missing one's, its object.
            return render(found) + _named_field(error.message, unknown=False)
    return "query"


def _named_field(message: str, *, unknown: bool) -> str:
    """`.field` when `message` is about a required field missing from an input object
    (or, with `unknown`, a field it does not have), else nothing."""
    named = _REQUIRED_FIELD.search(message) or (unknown and _UNKNOWN_FIELD.search(message))
    return f".{named.group(1)}" if named else ""


def _value_steps(message: str, start: int) -> str:
    steps = []
    position = start
    while (step := _VALUE_PATH.match(message, position)) is not None:
        steps.append(step.group())
        position = step.end()
    return "".join(steps)


def render(segments: Sequence[Segment]) -> str:
    """`["claims", "filter", "claimTypes", 0]` as `claims.filter.claimTypes[0]`."""
    out = ""
    for segment in segments:
        if isinstance(segment, int):
            out += f"[{segment}]"
        else:
            out += f".{segment}" if out else segment
    return out


def _document_path(body: str, target: Node) -> list[Segment] | None:
    """The path of `target` in the document `body`, found by its position."""
    if target.loc is None:
        return None
    try:
        document = parse(body, no_location=False)
    except GraphQLError:
        return None
    key = (target.kind, target.loc.start, target.loc.end)
    for node, trail in _walk(document, []):
        if node.loc is not None and (node.kind, node.loc.start, node.loc.end) == key:
            return trail
    return None


def _walk(node: Node, trail: list[Segment]) -> Iterator[tuple[Node, list[Segment]]]:
    """Every node of the document with the path a client would name it by."""
    if isinstance(node, FieldNode):
        trail = [*trail, (node.alias or node.name).value]
    elif isinstance(node, FragmentDefinitionNode):
        trail = [node.name.value]
    elif isinstance(node, ArgumentNode | ObjectFieldNode):
        trail = [*trail, node.name.value]
    elif isinstance(node, VariableDefinitionNode):
        trail = [f"${node.variable.name.value}"]
    elif isinstance(node, DirectiveNode):
        trail = [*trail, f"@{node.name.value}"]
    yield node, trail
    for child, child_trail in _children(node, trail):
        yield from _walk(child, child_trail)


def _children(node: Node, trail: list[Segment]) -> Iterator[tuple[Node, list[Segment]]]:
    if isinstance(node, ListValueNode):
        for index, element in enumerate(node.values):
            yield element, [*trail, index]
        return
    for key in node.keys:
        if key in {"name", "alias", "loc"}:
            continue
        attribute = getattr(node, key, None)
        if isinstance(attribute, Node):
            yield attribute, trail
        elif isinstance(attribute, tuple | list):
            yield from ((item, trail) for item in attribute if isinstance(item, Node))


def place_scalar_errors(schema: GraphQLSchema) -> None:
    """Each custom scalar of `schema` refuses a value with a ValueError, which graphql-core
    wraps with the place of the value (a literal's node; a variable's path), rather than
    with a GraphQLError of its own (Strawberry's DateTime), which it passes on bare."""
    custom = [
        named
        for named in schema.type_map.values()
        if isinstance(named, GraphQLScalarType) and named.name not in specified_scalar_types
    ]
    for scalar in custom:
        if getattr(scalar.coerce_input_value, "placed", False):  # a scalar shared by schemas
            continue
        # Literals go through coerce_input_value too, unless the scalar has its own.
        scalar.coerce_input_value = _placed(scalar.coerce_input_value)
        if scalar.coerce_input_literal is not None:
            scalar.coerce_input_literal = _placed(scalar.coerce_input_literal)


def _placed(coerce: Callable[..., Any]) -> Callable[..., Any]:
    def placed(*args: Any) -> Any:
        try:
            return coerce(*args)
        except GraphQLError as error:
            if error.nodes:
                raise
            raise ValueError(error.message) from error

    placed.placed = True  # type: ignore[attr-defined]
    return placed
