"""Protection against greedy or hostile GraphQL documents.

Every check here runs before any resolver, so a refused document costs no SQL:

- document size (bytes, in the HTTP view) and tokens (`MaxTokensLimiter`, at parse);
- depth and aliases (strawberry's validators, run as validation rules);
- introspection (`NoSchemaIntrospectionCustomRule`), off in production unless
  GRAPHQL_INTROSPECTION=true;
- cost (`CostLimit`), computed when execution starts, because a page size often comes
  from a variable and validation (which is cached per document) cannot see variables.

A limit breach is LIMIT_EXCEEDED; introspection when disabled is FORBIDDEN.

Cost model: roughly the number of rows a query can make the server read. A field with
a selection set costs its size times (1 + the cost of its selections); leaves are free.
The size is its `first`/`last`/`limit` argument (a traversal's node limit), else that
argument's default, else `DEFAULT_PAGE_SIZE` when the field takes one; a plain list
field without such an argument counts as `ASSUMED_LIST_SIZE`. Wrappers cost nothing
themselves, only their selections: the list directly under a sized field (a
connection's `edges`, a traversal's `nodes`, a search's `hits`, whose size was counted
on that field), a connection edge's `node` and `pageInfo`. So a page of claims with a
page of edges each multiplies once, not once per wrapper:
`claims(first: 200) { edges { node { id outgoing(first: 20) { edges { node { id } } } } } }`
costs 200 * (1 + 20) = 4,200, `traverse(limit: 1000) { nodes { claim { id } } }`
1000 * (1 + 1) = 2,000, and pages of 200 nested in pages of 200 cost 40,200.

This module also holds the two operation registries: automatic persisted queries (the
Apollo APQ protocol, in an in-process LRU) and the optional allow-list, and
`operation_group`, which says which rate-limit group a request belongs to.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    TypeNode,
    Undefined,
    ValidationContext,
    ValidationRule,
    get_named_type,
    get_operation_ast,
    parse,
    type_from_ast,
    value_from_ast,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.types.graphql import OperationType as StrawberryOperation

from phiacta.auth import ratelimit
from phiacta.config import ConfigError, Settings
from phiacta.errors import (
    Forbidden,
    LimitExceeded,
    PersistedQueryNotFound,
    PhiactaError,
    ValidationFailed,
)
from phiacta.graphql.engine.variables import get_variable_values
from phiacta.graphql.pagination import DEFAULT_PAGE_SIZE

ASSUMED_LIST_SIZE = DEFAULT_PAGE_SIZE
SIZE_ARGUMENTS = ("first", "last", "limit")
# Cached APQ documents are bounded by count (APQ_CACHE_SIZE) and by total size.
APQ_MAX_TOTAL_CHARS = 32 * 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")

# Rate-limit groups. Queries are claims:read unless they search or walk the graph.
SEARCH_ROOT_FIELDS = frozenset({"search", "traverse", "path", "evidence", "view"})
SEARCH_FIELDS_ANYWHERE = frozenset({"similar"})
MUTATION_GROUPS: Mapping[str, str] = {
    "submitBundle": ratelimit.BUNDLES_WRITE,
    "createReview": ratelimit.REVIEWS_WRITE,
    "createApiKey": ratelimit.ADMIN,
    "revokeApiKey": ratelimit.ADMIN,
    "registerExtension": ratelimit.ADMIN,
    "createEdgeType": ratelimit.ADMIN,
}


# -- validation rules with coded errors ----------------------------------------------


class _CodedReports:
    """A ValidationContext whose reports carry a domain error, hence a code."""

    def __init__(self, context: ValidationContext, error: type[PhiactaError]) -> None:
        self._context = context
        self._error = error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def report_error(self, error: GraphQLError) -> None:
        self._context.report_error(
            GraphQLError(error.message, error.nodes, original_error=self._error(error.message))
        )


def coded_rule(rule: type[ValidationRule], error: type[PhiactaError]) -> type[ValidationRule]:
    """`rule`, reporting its errors as `error`. Only for rules whose visitor methods are
    `enter_field` (the introspection rule)."""

    class Coded(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._inner = rule(_CodedReports(context, error))  # type: ignore[arg-type]

        def enter_field(self, node: FieldNode, *args: Any) -> Any:
            enter = getattr(self._inner, "enter_field", None)
            return enter(node, *args) if enter else None

    Coded.__name__ = f"Coded{rule.__name__}"
    return Coded


def _limit_error(message: str) -> GraphQLError:
    return GraphQLError(message, original_error=LimitExceeded(message))


def size_errors(
    schema: GraphQLSchema, document: DocumentNode, settings: Settings
) -> list[GraphQLError]:
    """LIMIT_EXCEEDED errors of a document too deep, with too many aliases, or costing
    over GRAPHQL_MAX_COST whatever its variables (each variable page size taken as 0).

    Linear in the document and cheap next to GraphQL's own validation, so it runs first
    and a refused document is never validated further.
    """
    errors = []
    max_depth = settings.graphql_max_depth
    for name, depth in operation_depths(document).items():
        if depth > max_depth:
            errors.append(_limit_error(f"'{name}' exceeds maximum operation depth of {max_depth}"))
    aliases = alias_count(document)
    if aliases > settings.graphql_max_aliases:
        errors.append(
            _limit_error(f"{aliases} aliases found. Allowed: {settings.graphql_max_aliases}")
        )
    least = least_cost(schema, document)
    if least > settings.graphql_max_cost:
        errors.append(
            _limit_error(
                f"the query costs at least {least}, over the limit of {settings.graphql_max_cost}: "
                "ask for smaller pages (first/limit) or fewer nested lists"
            )
        )
    return errors


def size_rule(settings: Settings) -> type[ValidationRule]:
    """`size_errors` as a validation rule (for the operations Strawberry runs)."""

    class SizeLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for error in size_errors(context.schema, context.document, settings):
                context.report_error(error)

    return SizeLimits


def limit_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    """The validation rules enforcing the depth, alias, cost and introspection limits.

    Made once per server: the validation cache is keyed by the rule classes, so a class
    made per request would never hit it.
    """
    return [size_rule(settings), *introspection_rules(settings)]


def introspection_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    if settings.introspection_enabled:
        return []
    return [coded_rule(NoSchemaIntrospectionCustomRule, Forbidden)]


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """The schema extensions enforcing the document limits of `settings`."""
    rules = limit_rules(settings)
    max_cost = settings.graphql_max_cost
    max_tokens = settings.graphql_max_tokens
    return [
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: AddValidationRules(rules),
        lambda: CostLimit(max_cost),
    ]


# -- cost ----------------------------------------------------------------------------


class CostLimit(SchemaExtension):
    """Refuses an operation whose cost is over `max_cost`, before any resolver runs."""

    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # A subscription's events are bounded by the subscription itself; Strawberry
        # also ignores a preset result for them.
        if document is not None and context.operation_type is not StrawberryOperation.SUBSCRIPTION:
            # A result set here makes Strawberry skip execution; raising instead would
            # bypass the other extensions (the error would lose its code).
            refusal = cost_refusal(
                context.schema._schema,
                document,
                context.operation_name,
                context.variables,
                self.max_cost,
            )
            if refusal is not None:
                context.result = refusal
        yield


def cost_refusal(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    max_cost: int,
) -> ExecutionResult | None:
    """The LIMIT_EXCEEDED result for an operation costing over `max_cost`, else None."""
    cost = operation_cost(schema, document, operation_name, variables)
    if cost <= max_cost:
        return None
    refusal = LimitExceeded(
        f"the query costs {cost}, over the limit of {max_cost}: "
        "ask for smaller pages (first/limit) or fewer nested lists"
    )
    return ExecutionResult(
        data=None, errors=[GraphQLError(refusal.message, original_error=refusal)]
    )


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> int:
    """The cost of the operation that would run (see the module docstring), from its
    variables as execution will coerce them (`200.0` for an Int is 200). Variables that
    do not coerce cost nothing: execution refuses them before any resolver runs."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    coerced = coerced_size_variables(schema, operation, variables or {})
    if coerced is None:
        return 0
    return _Cost(schema, document, coerced).of(root, operation.selection_set, sized=False)


def least_cost(schema: GraphQLSchema, document: DocumentNode) -> int:
    """The least any operation of `document` can cost: its variables' page sizes 0."""
    least = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        root = schema.get_root_type(definition.operation)
        if root is None or definition.operation is OperationType.SUBSCRIPTION:
            continue
        zeros = {d.variable.name.value: 0 for d in definition.variable_definitions or ()}
        cost = _Cost(schema, document, zeros).of(root, definition.selection_set, sized=False)
        least = max(least, cost)
    return least


def coerced_size_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, variables: dict[str, Any]
) -> dict[str, Any] | None:
    """The operation's scalar variables (page sizes are among them) coerced as execution
    coerces them, defaults included; None when they do not coerce. Input objects are
    left out: no page size comes from one, and a bundle's would cost a second coercion."""
    definitions = [
        d
        for d in operation.variable_definitions or ()
        if not isinstance(type_from_ast(schema, _named(d.type)), GraphQLInputObjectType)
    ]
    values = get_variable_values(schema, definitions, variables)
    if isinstance(values, list):
        return None
    return values.coerced


def _named(type_node: TypeNode) -> NamedTypeNode:
    while not isinstance(type_node, NamedTypeNode):
        type_node = cast(ListTypeNode | NonNullTypeNode, type_node).type
    return type_node


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


class _Cost:
    """The cost walk of one document under one set of variables. A fragment's cost is
    worked out once per (type, sized) and reused at every spread, so the walk is linear
    in the document even when fragments spread each other many times."""

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any]
    ) -> None:
        self.schema = schema
        self.fragments = _fragments(document)
        self.variables = variables
        self._known: dict[tuple[str, str, bool], int] = {}
        self._busy: set[tuple[str, str, bool]] = set()

    def of(self, parent: GraphQLNamedType, selection_set: SelectionSetNode, sized: bool) -> int:
        """The cost of `selection_set` on `parent`; `sized` when the field holding it had
        a page-size argument (its list children are then its page, already counted)."""
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(parent, selection, sized)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                if target is not None:
                    total += self.of(target, selection.selection_set, sized)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value, sized)
        return total

    def _fragment(self, name: str, sized: bool) -> int:
        fragment = self.fragments.get(name)
        if fragment is None:
            return 0
        target = self.schema.get_type(fragment.type_condition.name.value)
        if target is None:
            return 0
        key = (name, target.name, sized)
        known = self._known.get(key)
        if known is not None:
            return known
        if key in self._busy:  # a cycle: validation refuses the document anyway
            return 0
        self._busy.add(key)
        try:
            cost = self.of(target, fragment.selection_set, sized)
        finally:
            self._busy.discard(key)
        self._known[key] = cost
        return cost

    def _field(self, parent: GraphQLNamedType, node: FieldNode, parent_sized: bool) -> int:
        if node.selection_set is None or node.name.value.startswith("__"):
            return 0
        if not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            return 0
        field = parent.fields.get(node.name.value)
        if field is None:
            return 0
        size = _field_size(field, node, self.variables)
        field_type = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        is_list = isinstance(field_type, GraphQLList)
        inner = self.of(get_named_type(field.type), node.selection_set, sized=size is not None)
        if size is not None:
            return size * (1 + inner)
        if is_list and (parent_sized or "pageInfo" in parent.fields):
            return inner  # the page of the sized field above: counted there
        if is_list:
            return ASSUMED_LIST_SIZE * (1 + inner)
        if node.name.value == "pageInfo" or (
            node.name.value == "node" and "cursor" in parent.fields
        ):
            return inner  # parts of a connection's page, not rows of their own
        return 1 + inner


def _field_size(field: GraphQLField, node: FieldNode, variables: dict[str, Any]) -> int | None:
    """The page size a field asks for, or None when it takes no page-size argument."""
    for name in SIZE_ARGUMENTS:
        argument = field.args.get(name)
        if argument is None:
            continue
        given = next((a for a in node.arguments or () if a.name.value == name), None)
        value: Any = None
        if given is not None:
            value = value_from_ast(given.value, argument.type, variables)
        elif argument.default_value is not Undefined:
            value = argument.default_value
        if isinstance(value, int) and not isinstance(value, bool):
            return max(0, value)
        return DEFAULT_PAGE_SIZE
    return None


# -- document analyses, each linear in the document's size ---------------------------
#
# A fragment may be spread many times, and fragments may spread each other: a document
# of 30 fragments, each spreading the next twice, names 2**30 fields. Every analysis
# below therefore works out each fragment once and remembers the answer (`_PerFragment`),
# so its work grows with the document's text, never with the expansion.


class _PerFragment:
    """A value per fragment, computed once per document; a fragment met again while it
    is being computed (a cycle, which validation refuses anyway) counts as empty."""

    def __init__(
        self,
        document: DocumentNode,
        compute: Callable[[SelectionSetNode], int],
        empty: int = 0,
    ) -> None:
        self.fragments = _fragments(document)
        self._compute = compute
        self._empty = empty
        self._known: dict[str, int] = {}
        self._busy: set[str] = set()

    def of(self, name: str) -> int:
        known = self._known.get(name)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or name in self._busy:
            return self._empty
        self._busy.add(name)
        try:
            value = self._compute(fragment.selection_set)
        finally:
            self._busy.discard(name)
        self._known[name] = value
        return value


def operation_depths(document: DocumentNode) -> dict[str, int]:
    """The depth of each operation by name ("anonymous" when unnamed): the most fields
    nested inside one another, introspection fields not counted (strawberry's rule)."""

    def depth(selection_set: SelectionSetNode) -> int:
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.selection_set is not None and not selection.name.value.startswith(
                    "__"
                ):
                    deepest = max(deepest, 1 + depth(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, fragments.of(selection.name.value))
        return deepest

    fragments = _PerFragment(document, depth)
    return {
        (d.name.value if d.name else "anonymous"): depth(d.selection_set)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    }


def alias_count(document: DocumentNode) -> int:
    """Aliased fields in all operations, a fragment's counted at each spread."""

    def aliased(field: FieldNode, count: Callable[[SelectionSetNode], int]) -> int:
        inner = count(field.selection_set) if field.selection_set is not None else 0
        return (field.alias is not None) + inner

    count = _summed(document, aliased)
    return sum(
        count(d.selection_set)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )


def _summed(
    document: DocumentNode,
    per_field: Callable[[FieldNode, Callable[[SelectionSetNode], int]], int],
) -> Callable[[SelectionSetNode], int]:
    """A function summing `per_field` (given the function itself, to descend) over a
    selection set, through inline fragments and spreads; each fragment's sum is worked
    out once and reused at every spread."""

    def count(selection_set: SelectionSetNode) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += per_field(selection, count)
            elif isinstance(selection, InlineFragmentNode):
                total += count(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += fragments.of(selection.name.value)
        return total

    fragments = _PerFragment(document, count)
    return count


# -- rate-limit groups ---------------------------------------------------------------


# Parsed documents are kept for documents up to this size. Real operations are a few
# hundred bytes to a few kilobytes; a larger one is parsed for each request, so a client
# sending many large, distinct documents cannot fill memory with their syntax trees.
CACHEABLE_DOCUMENT_CHARS = 16 * 1024
PARSED_CACHE_SIZE = 1024


def parsed(query: str, max_tokens: int) -> DocumentNode | GraphQLError:
    """The parsed document, or why it does not parse; kept for small documents."""
    if len(query) > CACHEABLE_DOCUMENT_CHARS:
        return _parse(query, max_tokens)
    return _cached_parse(query, max_tokens)


def parse_document(query: str, max_tokens: int) -> DocumentNode | None:
    """The parsed document, or None when it does not parse (GraphQL reports why)."""
    document = parsed(query, max_tokens)
    return document if isinstance(document, DocumentNode) else None


def _parse(query: str, max_tokens: int) -> DocumentNode | GraphQLError:
    try:
        return parse(query, max_tokens=max_tokens)
    except GraphQLError as error:
        return error


_cached_parse = lru_cache(maxsize=PARSED_CACHE_SIZE)(_parse)


def operation_groups(document: DocumentNode | None, operation_name: str | None) -> set[str]:
    """The rate-limit groups an operation touches; the caller takes the strictest.

    Mutations: submitBundle is bundles:write, createReview reviews:write, keys,
    extensions and edge types admin, every other mutation claims:write. Queries:
    search, traverse, path, evidence, view (and `similar` anywhere) are `search`,
    everything else claims:read.
    """
    operation = get_operation_ast(document, operation_name) if document else None
    if operation is None:
        return {ratelimit.CLAIMS_READ}
    fragments = _fragments(document) if document else {}
    roots = set(_root_field_names(operation.selection_set, fragments, set()))
    if operation.operation is OperationType.MUTATION:
        return {MUTATION_GROUPS.get(name, ratelimit.CLAIMS_WRITE) for name in roots} or {
            ratelimit.CLAIMS_WRITE
        }
    if operation.operation is OperationType.QUERY and (
        roots & SEARCH_ROOT_FIELDS or _mentions(operation, fragments, SEARCH_FIELDS_ANYWHERE)
    ):
        return {ratelimit.SEARCH}
    return {ratelimit.CLAIMS_READ}


def operation_units(document: DocumentNode | None, operation_name: str | None) -> int:
    """Rate-limit units an operation takes: one per write of a mutation (each root
    field, an aliased copy and each spread of a fragment included), one for anything
    else. So aliases cannot pack fifty writes into one unit."""
    operation = get_operation_ast(document, operation_name) if document else None
    if document is None or operation is None or operation.operation is not OperationType.MUTATION:
        return 1

    def write(field: FieldNode, _: Callable[[SelectionSetNode], int]) -> int:
        return not field.name.value.startswith("__")

    writes = _summed(document, write)
    return max(1, writes(operation.selection_set))


def _root_field_names(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> Iterator[str]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_field_names(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _root_field_names(fragment.selection_set, fragments, seen)


def _mentions(
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    names: frozenset[str],
) -> bool:
    pending: list[SelectionSetNode] = [operation.selection_set]
    seen: set[str] = set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in names:
                    return True
                if selection.selection_set is not None:
                    pending.append(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    pending.append(fragment.selection_set)
    return False


# -- persisted queries and the allow-list --------------------------------------------


def document_hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def load_allowlist(path: Path) -> dict[str, str]:
    """The operations of an Apollo persisted-query manifest, by the SHA-256 of their body.

    Hashes are computed here, not read from the file, so a wrong `id` cannot let
    another document through.
    """
    try:
        manifest = json.loads(path.read_text())
        bodies = [op["body"] for op in manifest["operations"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"GRAPHQL_ALLOWLIST_FILE: cannot read an Apollo persisted-query manifest from "
            f"{path} ({type(exc).__name__})"
        ) from None
    if not all(isinstance(body, str) for body in bodies):
        raise ConfigError(f"GRAPHQL_ALLOWLIST_FILE: every operation body in {path} must be text")
    return {document_hash(body): body for body in bodies}


class PersistedQueries:
    """Automatic persisted queries (Apollo's APQ) and the optional allow-list.

    Safe within one event loop. A client sends `extensions.persistedQuery.sha256Hash`;
    a hash alone runs the document cached under it or is answered
    PERSISTED_QUERY_NOT_FOUND; the hash with the document registers it after checking
    the hash. With an allow-list, only its documents run and nothing else registers.
    """

    def __init__(self, cache_size: int, allowlist: dict[str, str] | None = None) -> None:
        self.cache_size = cache_size
        self.allowlist = allowlist
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._chars = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> PersistedQueries:
        path = settings.graphql_allowlist_file
        return cls(settings.apq_cache_size, load_allowlist(path) if path else None)

    def resolve(self, query: str | None, extensions: object) -> str | None:
        """The document to run: `query`, or the one registered under the sent hash."""
        wanted = self._requested_hash(extensions)
        if wanted is None:
            # Hashing every document costs time on every request; only an allow-list needs it.
            if query is not None and self.allowlist is not None:
                self._check_allowed(document_hash(query))
            return query
        if query is None:
            found = self._lookup(wanted)
            if found is None:
                raise PersistedQueryNotFound("PersistedQueryNotFound")
            return found
        if document_hash(query) != wanted:
            raise ValidationFailed.single(
                "extensions.persistedQuery.sha256Hash", "provided sha does not match query"
            )
        self._check_allowed(wanted)
        self._remember(wanted, query)
        return query

    def _requested_hash(self, extensions: object) -> str | None:
        if not isinstance(extensions, dict) or extensions.get("persistedQuery") is None:
            return None
        persisted = extensions["persistedQuery"]
        path = "extensions.persistedQuery"
        if not isinstance(persisted, dict):
            raise ValidationFailed.single(path, "must be an object")
        if persisted.get("version", 1) != 1:
            raise ValidationFailed.single(f"{path}.version", "only version 1 is supported")
        wanted = persisted.get("sha256Hash")
        if not isinstance(wanted, str) or not _SHA256.match(wanted):
            raise ValidationFailed.single(
                f"{path}.sha256Hash", "must be the hex SHA-256 of the document"
            )
        return wanted.lower()

    def _check_allowed(self, digest: str) -> None:
        if self.allowlist is not None and digest not in self.allowlist:
            raise Forbidden("this server runs only the operations of its allow-list")

    def _lookup(self, digest: str) -> str | None:
        if self.allowlist is not None:
            return self.allowlist.get(digest)
        found = self._cache.get(digest)
        if found is not None:
            self._cache.move_to_end(digest)
        return found

    def _remember(self, digest: str, query: str) -> None:
        if self.allowlist is not None or digest in self._cache:
            return
        self._cache[digest] = query
        self._chars += len(query)
        while len(self._cache) > self.cache_size or self._chars > APQ_MAX_TOTAL_CHARS:
            _, dropped = self._cache.popitem(last=False)
            self._chars -= len(dropped)


__all__ = [
    "CostLimit",
    "PersistedQueries",
    "cost_refusal",
    "limit_extensions",
    "limit_rules",
    "operation_cost",
    "operation_groups",
    "operation_units",
]
