"""Searching claims by meaning (embeddings), by words (full text), or both."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from uuid import UUID

import strawberry

from phiacta.errors import FieldProblem, Unavailable, ValidationFailed
from phiacta.graphql.context import Info
from phiacta.graphql.fields.claims import ClaimFilter, check_filter, filter_spec
from phiacta.graphql.pagination import decode_cursor, encode_cursor, page_size
from phiacta.graphql.types import Claim
from phiacta.store import search as search_store
from phiacta.store.claims import ClaimFilterSpec
from phiacta.store.search import HYBRID_CANDIDATES, RRF_K, ScoredClaim

MAX_QUERY_LENGTH = 1000
MAX_HITS = 200
# `after` pages through at most this many hits of one search. A page re-runs the
# ranking for the hits before it, so the depth bounds its cost; pages are positions in
# the ranking at the time asked (a claim written between two pages may shift them).
MAX_SEARCH_DEPTH = 1000
SEARCH_CURSOR = "search"


@strawberry.enum(description="How `search` ranks claims.")
class SearchMode(Enum):
    SEMANTIC = "semantic"
    FULLTEXT = "fulltext"
    HYBRID = "hybrid"


@strawberry.type(description="Where a hit stood in one of the rankings a search used.")
class SearchRanking:
    mode: SearchMode = strawberry.field(description="SEMANTIC or FULLTEXT.")
    rank: int = strawberry.field(description="1-based position in that ranking.")
    score: float = strawberry.field(
        description="Cosine similarity (SEMANTIC) or ts_rank (FULLTEXT)."
    )


@strawberry.type(description="One claim found by a search.")
class SearchHit:
    claim: Claim
    rank: int = strawberry.field(description="1-based position in the results.")
    score: float = strawberry.field(
        description="SEMANTIC: cosine similarity; FULLTEXT: ts_rank; HYBRID: the reciprocal "
        f"rank fusion score, the sum over rankings of 1 / ({RRF_K} + rank)."
    )
    similarity: float | None = strawberry.field(
        description="Cosine similarity to the query, when the semantic ranking found it."
    )
    snippet: str | None = strawberry.field(
        description="The content with matched words in <mark>, when full text found it."
    )
    rankings: list[SearchRanking] = strawberry.field(
        description="The rankings this hit came from, with its place in each."
    )


@strawberry.type(description="The hits of a search, best first.")
class SearchResult:
    mode: SearchMode
    hits: list[SearchHit]
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page; null when there are no hits."
    )
    has_next_page: bool


@dataclass
class _Fused:
    scored: ScoredClaim
    score: float
    similarity: float | None
    snippet: str | None
    rankings: list[SearchRanking]


def _offset(after: str | None) -> tuple[int, list[FieldProblem]]:
    """How many hits earlier pages took, from an `endCursor` of this search."""
    if after is None:
        return 0, []
    try:
        (offset,) = decode_cursor(after, SEARCH_CURSOR, 1)
    except ValidationFailed as exc:
        return 0, exc.problems
    if not isinstance(offset, int) or not 0 < offset < MAX_SEARCH_DEPTH:
        return 0, [FieldProblem("after", "is not a cursor of this list")]
    return offset, []


def search_window(
    query: str, first: int | None, after: str | None
) -> tuple[int, int, list[FieldProblem]]:
    """Where a page of hits starts (the hits earlier pages took) and how many it takes,
    with the problems of the query and page arguments (the filter is checked apart)."""
    offset, problems = _offset(after)
    if not query.strip() or len(query) > MAX_QUERY_LENGTH:
        problems.append(FieldProblem("query", f"must be 1 to {MAX_QUERY_LENGTH} characters"))
    size = 0
    try:
        size = page_size(first, maximum=MAX_HITS)
    except ValidationFailed as exc:
        problems.extend(exc.problems)
    return offset, size, problems


def _check(
    query: str, first: int | None, after: str | None, filter: ClaimFilter | None
) -> tuple[int, int]:
    offset, size, problems = search_window(query, first, after)
    if filter is not None:
        problems.extend(check_filter(filter, "filter"))
    if offset + size > MAX_SEARCH_DEPTH:
        problems.append(
            FieldProblem("after", f"a search pages through its first {MAX_SEARCH_DEPTH} hits")
        )
    if problems:
        raise ValidationFailed(problems)
    return offset, size


async def _semantic(info: Info, query: str, spec: ClaimFilterSpec, limit: int) -> list[ScoredClaim]:
    embedder = info.context.services.embedder
    if embedder is None:
        raise Unavailable("semantic search needs an embedding provider, and none is running")
    vector = await embedder.embed_one(query)
    async with info.context.connection() as conn:
        return await search_store.semantic_search(conn, vector, spec, limit=limit)


async def _fulltext(info: Info, query: str, spec: ClaimFilterSpec, limit: int) -> list[ScoredClaim]:
    async with info.context.connection() as conn:
        return await search_store.fulltext_search(conn, query, spec, limit=limit)


def _single(found: list[ScoredClaim], mode: SearchMode) -> list[_Fused]:
    return [
        _Fused(
            scored=hit,
            score=hit.score,
            similarity=hit.score if mode is SearchMode.SEMANTIC else None,
            snippet=hit.snippet,
            rankings=[SearchRanking(mode=mode, rank=i + 1, score=hit.score)],
        )
        for i, hit in enumerate(found)
    ]


def fuse(semantic: list[ScoredClaim], fulltext: list[ScoredClaim]) -> list[_Fused]:
    """Reciprocal rank fusion of the two rankings, best first (ties by claim id)."""
    fused: dict[UUID, _Fused] = {}
    for mode, ranking in ((SearchMode.SEMANTIC, semantic), (SearchMode.FULLTEXT, fulltext)):
        for i, hit in enumerate(ranking):
            entry = fused.setdefault(
                hit.claim.id,
                _Fused(scored=hit, score=0.0, similarity=None, snippet=None, rankings=[]),
            )
            entry.score += 1.0 / (RRF_K + i + 1)
            entry.rankings.append(SearchRanking(mode=mode, rank=i + 1, score=hit.score))
            if mode is SearchMode.SEMANTIC:
                entry.similarity = hit.score
            else:
                entry.snippet = hit.snippet
    return sorted(fused.values(), key=lambda f: (-f.score, str(f.scored.claim.id)))


@strawberry.type
class SearchQueries:
    @strawberry.field(
        description="Claims ranked by meaning (SEMANTIC: cosine similarity of embeddings "
        "through the ANN index), by words (FULLTEXT: websearch syntax such as "
        '`"heart attack" -stroke`, ranked by ts_rank, with a snippet) or both (HYBRID: '
        "reciprocal rank fusion). `query` is 1..1000 characters, `first` 0..200 "
        "(default 20); the filter works as for `claims` (latest, non-retracted by default). "
        "`after` (a result's `endCursor`) gives the next page, through the first "
        f"{MAX_SEARCH_DEPTH} hits."
    )
    async def search(
        self,
        info: Info,
        query: str,
        mode: SearchMode = SearchMode.HYBRID,
        first: int | None = None,
        filter: ClaimFilter | None = None,
        after: str | None = None,
    ) -> SearchResult:
        offset, size = _check(query, first, after, filter)
        spec = await filter_spec(info, filter)
        wanted = offset + size + 1
        if mode is SearchMode.SEMANTIC:
            fused = _single(await _semantic(info, query, spec, wanted), mode)
        elif mode is SearchMode.FULLTEXT:
            fused = _single(await _fulltext(info, query, spec, wanted), mode)
        else:
            candidates = max(wanted, HYBRID_CANDIDATES)
            fused = fuse(
                await _semantic(info, query, spec, candidates),
                await _fulltext(info, query, spec, candidates),
            )
        hits = fused[offset : offset + size]
        info.context.loaders.prime_claims([hit.scored.claim for hit in hits])
        end = offset + len(hits)
        return SearchResult(
            mode=mode,
            hits=[
                SearchHit(
                    claim=Claim.from_row(hit.scored.claim),
                    rank=offset + i + 1,
                    score=hit.score,
                    similarity=hit.similarity,
                    snippet=hit.snippet,
                    rankings=hit.rankings,
                )
                for i, hit in enumerate(hits)
            ],
            end_cursor=encode_cursor(SEARCH_CURSOR, [end]) if hits else None,
            has_next_page=len(fused) > end and end < MAX_SEARCH_DEPTH,
        )
