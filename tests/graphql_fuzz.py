"""Generated GraphQL operations (schemathesis): Phiacta's custom scalars, registered on
import, and a runner for the cases of one operation."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
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


# -- hostile operations: the classes an adversarial probe found ----------------------

_LEAVES = (
    "edgeTypes { name }",
    "namespaces { id parent { id } }",
    "claims(first: 2) { edges { node { id } } }",
    "a: __typename",
    "viewer { scopes }",
)
_TEXT_QUERIES = (
    ("query($t: String!) { search(query: $t, mode: FULLTEXT) { hits { score } } }", "t"),
    ("query($t: String) { sources(externalRef: $t) { totalCount } }", "t"),
    ("mutation($t: String!) { createClaim(input: {content: $t}) { id } }", "t"),
    ("mutation($t: String!) { createNamespace(input: {path: $t}) { id } }", "t"),
    ('mutation($t: JSON) { createClaim(input: {content: "c", attrs: $t}) { id } }', "t"),
)
_NASTY = ("\u0000", "\ud800", "\udfff", "\u0001", "\u001f", "\u007f", "\ufffe", "\u202e", "²", "٣")
_PAGES = """query($a: Int, $b: Int) { claims(first: $a) { edges { node { id
  outgoing(first: $b) { edges { node { id } } } } } } }"""


def hostile_operations(count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """`count` request bodies of four hostile classes, in turn: fragment spreads (chains,
    fan-outs, cycles), float and huge page sizes, control characters and unpaired
    surrogates in strings, and deeply nested JSON (with and without 20-digit numbers,
    which switch the JSON reader)."""
    rng = random.Random(seed)
    makers = (_fragments, _float_pages, _control_characters, _deep_json)
    for i in range(count):
        maker = makers[i % len(makers)]
        yield maker.__name__.strip("_"), maker(rng)


def _fragments(rng: random.Random) -> bytes:
    levels = rng.randint(1, 40)
    fan = rng.randint(1, 3)
    tag = f"F{rng.randrange(10**9)}x"
    spreads = " ".join(f"...{tag}{{next}}" for _ in range(fan))
    fragments = [
        f"fragment {tag}{i} on Query {{ {spreads.format(next=i + 1)} }}" for i in range(levels)
    ]
    last = f"{tag}0" if rng.random() < 0.1 else None  # a cycle, now and then
    leaf = f"...{last}" if last else rng.choice(_LEAVES)
    fragments.append(f"fragment {tag}{levels} on Query {{ {leaf} }}")
    return _body(f"query {{ ...{tag}0 }} " + " ".join(fragments), {})


def _float_pages(rng: random.Random) -> bytes:
    def size() -> object:
        return rng.choice([200.0, 20.5, -3.0, 1e308, 2**63, 2**70, 0.0, 1e-9, "20", None])

    return _body(_PAGES, {"a": size(), "b": size()})


_LITERAL_QUERIES = (
    "{ search(query: %s, mode: FULLTEXT) { hits { score } } }",
    "{ sources(externalRef: %s) { totalCount } }",
    "mutation { createClaim(input: {content: %s}) { id } }",
)


def _control_characters(rng: random.Random) -> bytes:
    text = "".join(rng.choice((*_NASTY, "a", "b", " ")) for _ in range(rng.randint(1, 12)))
    if rng.random() < 0.3:  # in the document, as a string literal
        return _body(rng.choice(_LITERAL_QUERIES) % json.dumps(text), {})
    query, name = rng.choice(_TEXT_QUERIES)
    value: object = {text: text} if "JSON" in query else text
    return _body(query, {name: value})


def _deep_json(rng: random.Random) -> bytes:
    depth = rng.choice([10, 200, 1000, 1100, 5000])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    number = "12345678901234567890" if rng.random() < 0.5 else "1"
    deep = opener * depth + number + closer * depth
    return (
        '{"query": "query($x: JSON) { __typename }", "variables": {"x": ' + deep + "}}"
    ).encode()


def _body(query: str, variables: dict[str, object]) -> bytes:
    return json.dumps({"query": query, "variables": variables}).encode()
