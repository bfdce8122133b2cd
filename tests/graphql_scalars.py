"""How schemathesis generates Phiacta's custom scalars; importing this registers them."""

from __future__ import annotations

from datetime import UTC

import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

schemathesis.graphql.scalar("UUID", st.uuids().map(lambda u: nodes.String(str(u))))
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
