"""The PAPER view reads a source's claims in reading order: by the numeric position a
bundle gives each claim's provenance, or, for rows without one, by a natural sort of
the location label."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from tests.factories import Factory
from tests.support import ApiKey, create_api_key, data_of, error_codes, gql, unique_name
from tests.write_support import details, row_counts, submit

PAPER = """query ($root: ID!) { view(kind: PAPER, root: $root) {
  ... on PaperView { claims { content provenance { locationInSource
    position { sectionIndex paragraphIndex sentenceIndex } } } } } }"""


@pytest.fixture(scope="module")
def make(database_url: str) -> Iterator[Factory]:
    factory = Factory(database_url)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def bot(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["bundles:write"])


def paper(client: httpx.Client, source: UUID | str) -> list[dict[str, Any]]:
    claims: list[dict[str, Any]] = data_of(gql(client, PAPER, {"root": str(source)}))["view"][
        "claims"
    ]
    return claims


def test_a_25_paragraph_paper_reads_in_the_order_of_its_positions(
    client: httpx.Client, bot: ApiKey
) -> None:
    tag = unique_name("p")
    order = list(range(25))
    random.Random(7).shuffle(order)
    # Labels deliberately sort wrong as text ("para 10" < "para 2"); positions decide.
    claims = [
        {
            "tempId": f"c{n}",
            "content": f"paragraph {n} of {tag}",
            "locationInSource": f"para {n + 1}",
            "position": {"sectionIndex": n // 10, "paragraphIndex": n % 10, "sentenceIndex": 0},
        }
        for n in order
    ]
    body = {
        "idempotencyKey": unique_name("key"),
        "source": {"sourceType": "PAPER", "title": f"paper {tag}"},
        "claims": claims,
        "edges": [],
    }
    submitted = data_of(submit(client, body, bot.headers))["submitBundle"]
    found = paper(client, submitted["sourceId"])
    assert [c["content"] for c in found] == [f"paragraph {n} of {tag}" for n in range(25)]
    assert found[13]["provenance"][0]["position"] == {
        "sectionIndex": 1,
        "paragraphIndex": 3,
        "sentenceIndex": 0,
    }


def test_rows_without_a_position_fall_back_to_a_natural_sort_of_the_label(
    client: httpx.Client, make: Factory
) -> None:
    source = make.source(unique_name("old paper"))
    numbers = list(range(1, 26))
    random.Random(11).shuffle(numbers)
    for n in numbers:
        claim = make.claim(f"old paragraph {n}")
        make.provenance(claim, source, location_in_source=f"para {n}")
    found = paper(client, source)
    assert [c["content"] for c in found] == [f"old paragraph {n}" for n in range(1, 26)]
    assert all(c["provenance"][0]["position"] is None for c in found)


def test_a_bad_position_is_refused_with_its_path_and_writes_nothing(
    client: httpx.Client, bot: ApiKey, database_url: str
) -> None:
    before = row_counts(database_url)
    body = {
        "idempotencyKey": unique_name("key"),
        "source": {"sourceType": "PAPER", "title": unique_name("paper")},
        "claims": [
            {"tempId": "a", "content": "fine", "position": {"paragraphIndex": 0}},
            {"tempId": "b", "content": "bad", "position": {"paragraphIndex": -1}},
        ],
        "edges": [],
    }
    answer = submit(client, body, bot.headers)
    assert error_codes(answer) == ["VALIDATION_FAILED"]
    assert [path for path, _ in details(answer)] == ["claims[1].position.paragraphIndex"]
    assert row_counts(database_url) == before
