"""Schemathesis in GraphQL mode against a running server: generated queries and
mutations, sent with an admin key so they reach the resolvers, never get a 500 or an
INTERNAL error.

`make test` runs a few examples per root field; `make fuzz` sets PHIACTA_FUZZ_EXAMPLES
so that at least `PHIACTA_FUZZ_MIN_OPERATIONS` (500) operations are sent, and 2,000
hostile ones (fragment spreads, float page sizes, control characters, deep JSON).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis

from phiacta.graphql import safe_text
from tests.graphql_fuzz import hostile_operations, run_cases
from tests.support import LiveServer, create_api_key, make_settings

EXAMPLES_PER_FIELD = int(os.environ.get("PHIACTA_FUZZ_EXAMPLES", "2"))
MIN_OPERATIONS = int(os.environ.get("PHIACTA_FUZZ_MIN_OPERATIONS", "0"))


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer.run(make_settings(database_url, tmp_path_factory.mktemp("fuzz"))) as live:
        yield live


def test_generated_operations_never_get_a_500_or_an_internal_error(
    server: LiveServer, database_url: str
) -> None:
    admin = create_api_key(database_url, ["admin"])
    schema = schemathesis.graphql.from_url(f"{server.url}/graphql")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    sent: list[str] = []
    failures: list[str] = []
    with httpx.Client(base_url=server.url, timeout=30, headers=admin.headers) as http:
        for operation in operations:
            label = operation.label

            def send(document: str) -> None:
                response = http.post("/graphql", json={"query": document})
                sent.append(label)  # noqa: B023 (the test runs within this iteration)
                body = response.json()
                codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
                if response.status_code >= 500 or "INTERNAL" in codes:
                    failures.append(f"{response.status_code} {document!r}: {body}")
                if response.status_code in (400, 415) and not unstorable_text(body):
                    # Refused before GraphQL ran: the test would prove nothing (unless
                    # the generated text holds NUL or a surrogate, refused at the door).
                    failures.append(f"request refused: {document!r}: {body}")

            run_cases(operation, EXAMPLES_PER_FIELD, send)
    assert not failures, "\n".join(failures[:5])
    assert len(sent) >= MIN_OPERATIONS
    print(f"fuzz: {len(sent)} operations over {len(operations)} root fields")


def unstorable_text(body: dict[str, Any]) -> bool:
    """Whether a 400 is the refusal of text no column can store (`graphql.safe_text`)."""
    details = [d for e in body.get("errors") or [] for d in e["extensions"].get("details", [])]
    return bool(details) and all(d["message"] == safe_text.MESSAGE for d in details)


# Operations of the hostile classes (`hostile_operations`): `make test` sends a few,
# `make fuzz` 2,000.
HOSTILE_OPERATIONS = int(os.environ.get("PHIACTA_FUZZ_HOSTILE_OPERATIONS", "120"))


def test_hostile_operations_never_get_a_500_or_an_internal_error(
    server: LiveServer, database_url: str
) -> None:
    admin = create_api_key(database_url, ["admin"])
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    with httpx.Client(base_url=server.url, timeout=30, headers=admin.headers) as http:
        for kind, body in hostile_operations(HOSTILE_OPERATIONS, seed=14):
            response = http.post(
                "/graphql", content=body, headers={"content-type": "application/json"}
            )
            statuses[response.status_code] += 1
            codes = [
                e.get("extensions", {}).get("code") for e in response.json().get("errors") or []
            ]
            if response.status_code >= 500 or "INTERNAL" in codes or None in codes:
                failures.append(
                    f"{kind}: {response.status_code} {body[:300]!r}: {response.text[:300]}"
                )
    assert not failures, "\n".join(failures[:5])
    assert sum(statuses.values()) == HOSTILE_OPERATIONS
    print(f"fuzz: {HOSTILE_OPERATIONS} hostile operations, statuses {dict(statuses)}")
