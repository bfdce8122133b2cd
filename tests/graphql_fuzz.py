"""Generated GraphQL operations (schemathesis): Phiacta's custom scalars, registered on
import, and a runner for the cases of one operation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

# Ids are UUIDs: mostly well-formed ones reach past argument validation.
schemathesis.graphql.scalar("ID", st.uuids().map(lambda u: nodes.String(str(u))))
schemathesis.graphql.scalar(
    "DateTime",
    st.datetimes(timezones=st.just(UTC)).map(lambda d: nodes.String(d.isoformat())),
)
schemathesis.graphql.scalar(
    "JSON",
    st.one_of(
        st.builds(nodes.Object, st.just([])),
        st.text(max_size=20).map(nodes.String),
        st.integers().map(nodes.Int),
        st.booleans().map(nodes.Boolean),
        st.just(nodes.Null),
    ),
)


def run_cases(operation: Any, examples: int, check: Callable[[str], None]) -> None:
    """Call `check` with each of `examples` generated documents of `operation` (a
    schemathesis case's body is the GraphQL document alone)."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        check(case.body)

    run()
