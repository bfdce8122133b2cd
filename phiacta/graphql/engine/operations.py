"""Running an HTTP query or mutation with its document checked once, not per request.

Strawberry's `Schema.execute` makes, for every request, an execution context, an
extension runner, an instance of each schema extension and a context manager per hook;
for a short read that costs more than the resolvers do. Everything those hooks decide
about a document alone is the same on every request, so `PreparedOperations` decides it
once per (document, operation name) and keeps the answer:

- parsing, with the token cap (GRAPHQL_MAX_TOKENS), shared with the rate-limit gate;
- which operation runs, its type and name (the name goes on the access line);
- validation: the depth, alias and least-cost limits of `graphql.engine.limits` first (cheap:
  a document they refuse is not validated further), then GraphQL's rules, Strawberry's
  two (oneOf inputs, `Maybe`) and the introspection limit.

Per request, `run_prepared` checks the cost (it depends on variables), answers a query
the read planner covers with its one statement (`graphql.engine.planner`, planned with
the document, run on the request's read target; the caller gets PostgreSQL's JSON
text), else runs it from its plan (`graphql.engine.compiled`, made on the query's
first run) or else executes
with graphql-core and the schema's executor class, and codes the errors, exactly as
the schema's extensions would. The HTTP view sends here queries (POST or GET) and POSTed
mutations; anything else (subscriptions, mutations over GET, a document whose operation
cannot be picked) still goes through Strawberry, so each keeps Strawberry's own answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from inspect import isawaitable
from typing import Any, TypeGuard, cast

import psycopg
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationType,
    execute,
    get_operation_ast,
    specified_rules,
)
from graphql.validation import ASTValidationRule
from strawberry.execution import optimized_is_awaitable
from strawberry.schema import Schema
from strawberry.schema.schema import validate_document

from phiacta.auth.viewer import Scope
from phiacta.config import Settings
from phiacta.graphql.engine import compiled, planner
from phiacta.graphql.engine.limits import (
    CACHEABLE_DOCUMENT_CHARS,
    coerced_size_variables,
    cost_refusal,
    introspection_rules,
    parsed,
    size_errors,
)
from phiacta.graphql.errors import code_errors

# Distinct (document, operation name) pairs kept; a hostile client sending new documents
# only evicts older ones.
PREPARED_CACHE_SIZE = 1024
# Distinct page sizes remembered per operation.
MAX_REMEMBERED_COSTS = 64

# Strawberry's check, cheaper than `inspect.isawaitable` for the values resolvers return.
_is_awaitable = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)


@dataclass(frozen=True)
class PreparedOperation:
    """What a document and operation name decide before any variable is known."""

    document: DocumentNode | None
    # Parse or validation errors: the operation is answered with these and never runs.
    errors: tuple[GraphQLError, ...]
    # None when the document has no operation of that name (or several, unnamed).
    operation_type: OperationType | None
    name: str | None
    # Costs by the integer variables they were computed with (see `cost_refusal_of`).
    refusals: dict[tuple[tuple[str, int], ...], ExecutionResult | None] = field(
        default_factory=dict, compare=False
    )
    # The query's plan (`graphql.compiled`), made on its first run; None when the
    # document is not covered or the plan was dropped.
    plans: list[compiled.Plan | None] = field(default_factory=list, compare=False)
    # The query as one SQL statement (`graphql.engine.planner`); None when not covered.
    reads: planner.PlannedReads | None = field(default=None, compare=False)


class PreparedOperations:
    """Parsed and validated operations of one schema under one set of limits."""

    def __init__(self, schema: Schema, settings: Settings) -> None:
        self.schema = schema
        self.max_tokens = settings.graphql_max_tokens
        self.max_cost = settings.graphql_max_cost
        self.development = settings.is_development
        self.compiled = settings.graphql_compiled_queries
        self.read_planner = settings.graphql_read_planner
        self.settings = settings
        self.rules: tuple[type[ASTValidationRule], ...] = (
            *specified_rules,
            *introspection_rules(settings),
        )
        self._cached_prepare: Callable[[str, str | None], PreparedOperation] = lru_cache(
            maxsize=PREPARED_CACHE_SIZE
        )(self._prepare)

    def prepare(self, query: str, operation_name: str | None) -> PreparedOperation:
        """The operation `operation_name` of `query`, checked; kept for small documents
        (see `CACHEABLE_DOCUMENT_CHARS`)."""
        if len(query) > CACHEABLE_DOCUMENT_CHARS:
            prepared = self._prepare(query, operation_name)
            # Not kept, so a plan would be made for one run only: it would cost more
            # than it saves.
            if not prepared.plans:
                prepared.plans.append(None)
            return prepared
        return self._cached_prepare(query, operation_name)

    def _prepare(self, query: str, operation_name: str | None) -> PreparedOperation:
        # The syntax tree the rate-limit gate already parsed (and kept) for this query.
        document = parsed(query, self.max_tokens)
        if isinstance(document, GraphQLError):
            return PreparedOperation(None, (document,), None, None)
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return PreparedOperation(document, (), None, None)
        # The size limits first: they are cheap, and a document refused by them (a
        # fragment bomb, say) would cost GraphQL's own rules far more.
        errors = size_errors(self.schema._schema, document, self.settings) or validate_document(
            self.schema._schema, document, self.rules
        )
        name = operation.name.value if operation.name else None
        reads = None
        if not errors and self.read_planner and operation.operation is OperationType.QUERY:
            reads = planner.plan_reads(
                self.schema._schema,
                document,
                operation_name,
                risk_depth=self.settings.max_traversal_depth,
            )
        prepared = PreparedOperation(
            document, tuple(errors), operation.operation, name, reads=reads
        )
        # Only queries are planned (a mutation that fell back would run twice), and
        # only documents a plan covers; the others are marked at once.
        plannable = not errors and self.compiled and operation.operation is OperationType.QUERY
        if not plannable or not compiled.plannable(document):
            prepared.plans.append(None)
        return prepared

    async def run_prepared(
        self,
        prepared: PreparedOperation,
        context: Any,
        variables: dict[str, Any] | None,
        operation_extensions: dict[str, Any] | None,
        request_id: str,
        retry_context: Callable[[], Any] | None = None,
    ) -> ExecutionResult | planner.PlannedAnswer:
        """The operation's result, its errors coded, or a planned query's JSON text.
        Never raises.

        A query that failed because its database connection was lost is run once more,
        with a context from `retry_context` (when given): reading twice is harmless,
        and the pool replaces the dead connection meanwhile.
        """
        result = await self._result(prepared, context, variables, operation_extensions)
        if isinstance(result, planner.PlannedAnswer):
            return result
        if (
            retry_context is not None
            and prepared.operation_type is OperationType.QUERY
            and _lost_connection(result)
        ):
            result = await self._result(prepared, retry_context(), variables, operation_extensions)
            if isinstance(result, planner.PlannedAnswer):
                return result
        if result.errors:
            result.errors = code_errors(
                result.errors, request_id=request_id, development=self.development
            )
        return result

    async def _result(
        self,
        prepared: PreparedOperation,
        context: Any,
        variables: dict[str, Any] | None,
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult | planner.PlannedAnswer:
        if prepared.errors or prepared.document is None:
            return ExecutionResult(data=None, errors=list(prepared.errors))
        schema = self.schema._schema
        try:
            refusal = self._cost_refusal(prepared, variables)
            if refusal is not None:
                return refusal
            if prepared.reads is not None and _may_read(context):
                answer = await planner.answer(prepared.reads, schema, context, variables)
                if answer is not None:
                    return answer
            middleware = None
            if not prepared.plans or prepared.plans[0] is not None:
                planned = await self._planned(prepared, context, variables, operation_extensions)
                if isinstance(planned, dict):
                    return ExecutionResult(data=planned)
                middleware = planned
            result = execute(
                schema,
                prepared.document,
                context_value=context,
                variable_values=variables,
                operation_name=prepared.name,
                executor_class=self.schema.execution_context_class,
                is_awaitable=_is_awaitable,
                operation_extensions=operation_extensions,
                middleware=[middleware] if middleware is not None else None,
            )
            if isawaitable(result):
                result = await result
        except Exception as exc:  # as Strawberry does: a failure outside any resolver
            return ExecutionResult(data=None, errors=[GraphQLError(str(exc), original_error=exc)])
        assert isinstance(result, ExecutionResult)
        return result

    async def _planned(
        self,
        prepared: PreparedOperation,
        context: Any,
        variables: dict[str, Any] | None,
        operation_extensions: dict[str, Any] | None,
    ) -> dict[str, Any] | Callable[..., Any] | None:
        """The data of a planned query. Otherwise graphql-core must run it (no plan,
        variables that do not coerce, or a run that fell back): None, or the middleware
        replaying what the run's resolvers raised (`compiled.replay`)."""
        assert prepared.document is not None
        executor = self.schema.execution_context_class.build(
            self.schema._schema,
            prepared.document,
            context_value=context,
            raw_variable_values=variables,
            operation_name=prepared.name,
            is_awaitable=_is_awaitable,
            operation_extensions=operation_extensions,
        )
        if isinstance(executor, list):
            return None
        if not prepared.plans:
            prepared.plans.append(compiled.plan(executor))
        plan = prepared.plans[0]
        if plan is None:
            return None
        try:
            data = await compiled.run(plan, executor, _is_awaitable)
        except compiled.Fallback as fallback:
            plan.note(answered=False)
            if plan.dropped:
                prepared.plans[0] = None
            return compiled.replay(fallback.failures)
        finally:
            # graphql-core's executor refers to itself (through its async helpers), so
            # it and all it holds (the context, the loaders and their rows) would wait
            # for the cyclic garbage collector, which then costs a tenth of the CPU.
            executor.__dict__.clear()
        plan.note(answered=True)
        return data

    def _cost_refusal(
        self, prepared: PreparedOperation, variables: dict[str, Any] | None
    ) -> ExecutionResult | None:
        """`cost_refusal`, remembered per operation: a cost depends on variables only
        through page sizes, which are integers once coerced, so those are the key."""
        assert prepared.document is not None  # only prepared documents are run
        operation = get_operation_ast(prepared.document, prepared.name)
        if operation is None:
            return None
        schema = self.schema._schema
        coerced = coerced_size_variables(schema, operation, variables or {})
        if coerced is None:
            return None  # execution refuses the variables before any resolver runs
        sizes = tuple(sorted((k, v) for k, v in coerced.items() if type(v) is int))
        if sizes not in prepared.refusals:
            if len(prepared.refusals) >= MAX_REMEMBERED_COSTS:
                prepared.refusals.clear()
            prepared.refusals[sizes] = cost_refusal(
                schema, prepared.document, prepared.name, variables, self.max_cost
            )
        refusal = prepared.refusals[sizes]
        # A result of its own: the caller replaces its errors with their coded forms.
        return None if refusal is None else ExecutionResult(None, list(refusal.errors or ()))


def _lost_connection(result: ExecutionResult) -> bool:
    """Whether an error of `result` is a connection lost (not a timeout, not a refusal)."""
    for error in result.errors or ():
        original = error.original_error
        while isinstance(original, GraphQLError) and original.original_error is not None:
            original = original.original_error
        if isinstance(original, psycopg.OperationalError) and not isinstance(
            original, psycopg.errors.QueryCanceled
        ):
            return True
    return False


def _may_read(context: Any) -> bool:
    """Whether the caller passes the read fields' permission (`CanReadClaims`); a
    refusal is left to the executor, which reports it with its code."""
    settings = getattr(context, "settings", None)
    if settings is None:
        return False
    viewer = context.viewer
    return bool(settings.public_reads or (viewer is not None and viewer.has(Scope.CLAIMS_READ)))
