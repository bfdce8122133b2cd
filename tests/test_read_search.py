"""Searching claims through GraphQL: semantic, full text and hybrid."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from phiacta.config import Settings
from phiacta.embeddings import create_provider
from tests.factories import Factory
from tests.support import data_of, error_codes, gql

TEXTS = {
    "aspirin": "Aspirin lowers the risk of a first heart attack in adults over fifty",
    "statins": "Statins reduce cholesterol and cardiovascular events",
    "volcano": "Volcanic eruptions cool the global climate for a few years",
    "penguin": "Emperor penguins breed during the Antarctic winter",
}


@pytest.fixture(scope="module")
def corpus(database_url: str, settings: Settings) -> Iterator[dict[str, Any]]:
    """The four claims above with real embeddings, in a namespace of their own."""

    async def embed() -> list[list[float]]:
        provider = create_provider(settings)
        try:
            return await provider.embed(list(TEXTS.values()))
        finally:
            await provider.aclose()

    vectors = asyncio.run(embed())
    make = Factory(database_url)
    top = f"s{uuid.uuid4().hex[:8]}"
    ns = make.namespace(top)
    ids = {
        key: make.claim(text, namespace_id=ns, embedding=vector)
        for (key, text), vector in zip(TEXTS.items(), vectors, strict=True)
    }
    make.claim(
        TEXTS["aspirin"] + " (withdrawn)", namespace_id=ns, status="retracted", embedding=vectors[0]
    )
    yield {"ids": {str(v): k for k, v in ids.items()}, "namespace": top}
    make.close()


SEARCH = """
query ($q: String!, $mode: SearchMode, $first: Int, $filter: ClaimFilter) {
  search(query: $q, mode: $mode, first: $first, filter: $filter) {
    mode
    hits { rank score similarity snippet rankings { mode rank score } claim { id content } }
  }
}
"""


def search(client: httpx.Client, corpus: dict[str, Any], **variables: Any) -> list[dict[str, Any]]:
    variables.setdefault("filter", {"namespace": corpus["namespace"]})
    body = gql(client, SEARCH, variables)
    hits: list[dict[str, Any]] = data_of(body)["search"]["hits"]
    return hits


def keys(corpus: dict[str, Any], hits: list[dict[str, Any]]) -> list[str]:
    return [corpus["ids"][hit["claim"]["id"]] for hit in hits]


def test_semantic_search_ranks_by_meaning(client: httpx.Client, corpus: dict[str, Any]) -> None:
    hits = search(client, corpus, q="medicine that prevents heart disease", mode="SEMANTIC")
    assert keys(corpus, hits)[:2] in (["aspirin", "statins"], ["statins", "aspirin"])
    assert len(hits) == 4  # the retracted copy is left out
    assert [h["rank"] for h in hits] == [1, 2, 3, 4]
    assert hits[0]["similarity"] == hits[0]["score"] > hits[-1]["score"]
    assert hits[0]["rankings"] == [{"mode": "SEMANTIC", "rank": 1, "score": hits[0]["score"]}]


def test_fulltext_search_uses_websearch_syntax_and_highlights(
    client: httpx.Client, corpus: dict[str, Any]
) -> None:
    hits = search(client, corpus, q='"heart attack" -statins', mode="FULLTEXT")
    assert keys(corpus, hits) == ["aspirin"]
    assert "<mark>heart</mark> <mark>attack</mark>" in hits[0]["snippet"]
    assert hits[0]["similarity"] is None
    assert search(client, corpus, q="cholesterol OR penguins", mode="FULLTEXT") != []
    assert search(client, corpus, q="zebra", mode="FULLTEXT") == []


def test_hybrid_search_fuses_rankings_and_tells_where_hits_came_from(
    client: httpx.Client, corpus: dict[str, Any]
) -> None:
    hits = search(client, corpus, q="heart attack", mode="HYBRID")
    top = hits[0]
    assert keys(corpus, [top]) == ["aspirin"]
    assert {r["mode"] for r in top["rankings"]} == {"SEMANTIC", "FULLTEXT"}
    assert top["score"] == pytest.approx(sum(1 / (60 + r["rank"]) for r in top["rankings"]))
    assert top["snippet"] is not None and top["similarity"] is not None
    only_semantic = [h for h in hits if [r["mode"] for r in h["rankings"]] == ["SEMANTIC"]]
    assert only_semantic and all(h["snippet"] is None for h in only_semantic)


def test_search_can_include_retracted_claims_when_asked(
    client: httpx.Client, corpus: dict[str, Any]
) -> None:
    filter = {"namespace": corpus["namespace"], "includeRetracted": True}
    hits = search(client, corpus, q="withdrawn", mode="FULLTEXT", filter=filter)
    assert [h["claim"]["content"] for h in hits] == [TEXTS["aspirin"] + " (withdrawn)"]


@pytest.mark.parametrize(
    ("variables", "paths"),
    [
        ({"q": ""}, ["query"]),
        ({"q": "   "}, ["query"]),
        ({"q": "x" * 1001}, ["query"]),
        ({"q": "ok", "first": -1}, ["first"]),
        ({"q": "", "first": -3}, ["query", "first"]),
    ],
)
def test_bad_search_arguments_are_coded_errors(
    client: httpx.Client, variables: dict[str, Any], paths: list[str]
) -> None:
    body = gql(client, SEARCH, variables)
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert [d["path"] for d in body["errors"][0]["extensions"]["details"]] == paths
    assert body["data"] is None


def test_unknown_search_mode_is_a_coded_error(client: httpx.Client) -> None:
    body = gql(client, SEARCH, {"q": "x", "mode": "TELEPATHIC"})
    assert error_codes(body) == ["VALIDATION_FAILED"]
