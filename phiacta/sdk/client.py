"""`PhiactaClient`: the async client bots use to write to and read from Phiacta.

One client holds one HTTP connection pool; use it as `async with PhiactaClient(...)`
(or call `aclose()`), from one event loop. Every method returns typed results
(`phiacta.sdk.types`) and raises typed errors (`phiacta.sdk.errors`).

Retries: queries and `submit_bundle` are retried on RATE_LIMITED (after the server's
Retry-After), HTTP 502/503/504 and connection errors, with exponential backoff and
jitter; a bundle is safe to send again because every attempt carries the same
idempotency key, so the server writes it once. `review` and `revise` are not
idempotent: they are retried only when the server certainly did not run them (it
answered RATE_LIMITED, or the connection was never made).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Self

import httpx

from phiacta.sdk import documents
from phiacta.sdk.errors import (
    RateLimited,
    ServerError,
    Unavailable,
    errors_from_response,
)
from phiacta.sdk.inputs import BundleInput, ClaimFilter, as_graphql, compact
from phiacta.sdk.retry import RETRYABLE_STATUS, RetryPolicy, log, nothing_was_sent
from phiacta.sdk.subscriptions import event_stream
from phiacta.sdk.types import (
    BundleResult,
    Claim,
    Event,
    Evidence,
    Page,
    PageInfo,
    Path,
    ReviewResult,
    SearchHit,
    TraversalResult,
)

Variables = Mapping[str, Any]
FilterArg = ClaimFilter | Mapping[str, Any] | None
DEFAULT_PAGE_SIZE = 100


class PhiactaClient:
    """An async client of one Phiacta server.

    `url` is the server's base URL (`http://localhost:8000`; a trailing `/graphql` is
    accepted). `api_key` is sent as a Bearer token on every request and in the
    WebSocket's connection_init. `transport` replaces httpx's network transport (tests,
    proxies, unix sockets).
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        backoff_base: float = 0.25,
        backoff_max: float = 10.0,
        max_retry_after: float = 120.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        base = url.rstrip("/")
        self.endpoint = base if base.endswith("/graphql") else base + "/graphql"
        self.retry = RetryPolicy(max_retries, backoff_base, backoff_max, max_retry_after)
        self.timeout = timeout
        self._authorization = f"Bearer {api_key}" if api_key else None
        all_headers = dict(headers or {})
        if self._authorization:
            all_headers["Authorization"] = self._authorization
        self._http = httpx.AsyncClient(headers=all_headers, timeout=timeout, transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def ws_url(self) -> str:
        if self.endpoint.startswith("https://"):
            return "wss://" + self.endpoint.removeprefix("https://")
        return "ws://" + self.endpoint.removeprefix("http://")

    # -- the raw escape hatch -------------------------------------------------------

    async def execute(
        self, document: str, variables: Variables | None = None, *, idempotent: bool = True
    ) -> dict[str, Any]:
        """Run any query or mutation and return its `data`; errors raise typed.

        Pass `idempotent=False` for a mutation that must not run twice: it is then
        retried only on RATE_LIMITED and refused connections.
        """
        attempt = 0
        while True:
            try:
                return await self._post(document, variables)
            except _Retry as retry:
                if attempt >= self.retry.max_retries or not retry.allowed(idempotent):
                    raise retry.error from retry.error.__cause__
                delay = retry.delay(self.retry, attempt)
                log.warning("phiacta request failed (%s); retrying in %.2fs", retry.error, delay)
                attempt += 1
                await asyncio.sleep(delay)

    async def _post(self, document: str, variables: Variables | None) -> dict[str, Any]:
        body = {"query": document, "variables": dict(variables or {})}
        try:
            response = await self._http.post(self.endpoint, json=body)
        except httpx.TransportError as exc:
            error = Unavailable(f"no answer from {self.endpoint}: {exc!r}", code="UNAVAILABLE")
            error.__cause__ = exc
            raise _Retry(error, idempotent_only=not nothing_was_sent(exc)) from exc
        return _data_of(response)

    # -- writing --------------------------------------------------------------------

    async def submit_bundle(
        self, bundle: BundleInput | Mapping[str, Any], idempotency_key: str | None = None
    ) -> BundleResult:
        """Submit one atomic bundle; returns the ids its temp ids were given.

        The key is, in order: `idempotency_key`, the bundle's own, or a new random one.
        Every retry sends the same key, so the bundle is written at most once; sending it
        again later with that key returns the stored result (`replayed=True`).
        """
        payload = as_graphql(bundle) or {}
        given = payload.get("idempotencyKey")
        if idempotency_key and given and idempotency_key != given:
            raise ValueError("idempotency_key differs from the bundle's idempotencyKey")
        key = str(idempotency_key or given or uuid.uuid4().hex)
        payload["idempotencyKey"] = key
        data = await self.execute(documents.SUBMIT_BUNDLE, {"input": payload})
        return BundleResult.from_json(data["submitBundle"], key)

    async def review(
        self,
        claim_id: uuid.UUID | str,
        verdict: str,
        *,
        confidence: float = 1.0,
        comment: str | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> ReviewResult:
        """Review a claim version as the calling agent (replacing its earlier review).

        Not retried once it may have reached the server: only after RATE_LIMITED or a
        connection that was never made.
        """
        review_input = compact(
            {
                "claimId": str(claim_id),
                "verdict": verdict.upper(),
                "confidence": confidence,
                "comment": comment,
                "attrs": dict(attrs) if attrs is not None else None,
            }
        )
        data = await self.execute(
            documents.CREATE_REVIEW, {"input": review_input}, idempotent=False
        )
        return ReviewResult.from_json(data["createReview"])

    async def revise(
        self,
        claim_id: uuid.UUID | str,
        *,
        content: str | None = None,
        claim_type: str | None = None,
        formal_content: str | None = None,
        namespace: str | None = None,
        status: str | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> Claim:
        """Make a new version of a claim's latest version; omitted fields are kept.

        Not retried once it may have reached the server: only after RATE_LIMITED or a
        connection that was never made.
        """
        changes = compact(
            {
                "content": content,
                "claimType": claim_type.upper() if claim_type else None,
                "formalContent": formal_content,
                "namespace": namespace,
                "status": status.upper() if status else None,
                "attrs": dict(attrs) if attrs is not None else None,
            }
        )
        data = await self.execute(
            documents.REVISE_CLAIM, {"id": str(claim_id), "input": changes}, idempotent=False
        )
        return Claim.from_json(data["reviseClaim"])

    # -- reading --------------------------------------------------------------------

    async def claim(self, claim_id: uuid.UUID | str) -> Claim | None:
        """One claim version by id (retracted ones too); None when there is none."""
        data = await self.execute(documents.CLAIM, {"id": str(claim_id)})
        found = data["claim"]
        return Claim.from_json(found) if found else None

    async def claims_page(
        self,
        filter: FilterArg = None,
        *,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        order_by: str = "CREATED_AT_DESC",
    ) -> Page[Claim]:
        """One page of the claims matching `filter` (latest, non-retracted by default)."""
        variables = {
            "filter": as_graphql(filter),
            "first": first,
            "after": after,
            "orderBy": order_by.upper(),
        }
        data = (await self.execute(documents.CLAIMS, variables))["claims"]
        return Page(
            items=[Claim.from_json(edge["node"]) for edge in data["edges"]],
            page_info=PageInfo.from_json(data["pageInfo"]),
            total_count=int(data["totalCount"]),
        )

    async def claims(
        self,
        filter: FilterArg = None,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        order_by: str = "CREATED_AT_DESC",
    ) -> AsyncIterator[Claim]:
        """Every claim matching `filter`, page after page (`page_size` at most 200)."""
        after: str | None = None
        while True:
            page = await self.claims_page(filter, first=page_size, after=after, order_by=order_by)
            for claim in page.items:
                yield claim
            if not page.page_info.has_next_page or page.page_info.end_cursor is None:
                return
            after = page.page_info.end_cursor

    async def search(
        self,
        text: str,
        mode: str = "HYBRID",
        *,
        first: int = 20,
        filter: FilterArg = None,
    ) -> list[SearchHit]:
        """Claims ranked by meaning (SEMANTIC), words (FULLTEXT) or both (HYBRID)."""
        variables = {
            "query": text,
            "mode": mode.upper(),
            "first": first,
            "filter": as_graphql(filter),
        }
        data = await self.execute(documents.SEARCH, variables)
        return [SearchHit.from_json(hit) for hit in data["search"]["hits"]]

    async def traverse(
        self,
        start: uuid.UUID | str,
        *,
        direction: str = "OUTGOING",
        edge_types: Sequence[str] | None = None,
        max_depth: int = 3,
        limit: int = 100,
        min_strength: float = 0.0,
        include_retracted: bool = False,
    ) -> TraversalResult:
        """Every claim within `max_depth` edges of `start`, each at its shortest depth."""
        variables = {
            "start": str(start),
            "direction": direction.upper(),
            "edgeTypes": list(edge_types) if edge_types is not None else None,
            "maxDepth": max_depth,
            "limit": limit,
            "minStrength": min_strength,
            "includeRetracted": include_retracted,
        }
        data = await self.execute(documents.TRAVERSE, variables)
        return TraversalResult.from_json(data["traverse"])

    async def path(
        self,
        source: uuid.UUID | str,
        target: uuid.UUID | str,
        *,
        edge_types: Sequence[str] | None = None,
        max_depth: int = 5,
        direction: str = "BOTH",
    ) -> Path | None:
        """A shortest path from `source` to `target`, or None when there is none."""
        variables = {
            "from": str(source),
            "to": str(target),
            "edgeTypes": list(edge_types) if edge_types is not None else None,
            "maxDepth": max_depth,
            "direction": direction.upper(),
        }
        found = (await self.execute(documents.PATH, variables))["path"]
        return Path.from_json(found) if found else None

    async def evidence(self, claim_id: uuid.UUID | str, *, depth: int = 1) -> Evidence:
        """The supporting, corroborating and contradicting claims, with a summary."""
        data = await self.execute(documents.EVIDENCE, {"claimId": str(claim_id), "depth": depth})
        return Evidence.from_json(data["evidence"])

    # -- live updates ---------------------------------------------------------------

    def subscribe(
        self, types: Sequence[str] | None = None, after: str | None = None
    ) -> AsyncIterator[Event]:
        """Every committed event (of `types`) after event id `after`, then live ones.

        A dropped connection is reopened with backoff and the stream resumes after the
        last event it yielded: no event is lost or repeated. Stop by breaking out of the
        loop (or `aclose()` on the iterator). Raises `AuthenticationError` /
        `PermissionDenied` when the server refuses the key, `Unavailable` after
        `max_retries` failed reconnections in a row.
        """
        return event_stream(
            self.ws_url,
            authorization=self._authorization,
            types=types,
            after=after,
            policy=self.retry,
            open_timeout=self.timeout,
        )


class _Retry(Exception):
    """A failed attempt that another attempt may fix."""

    def __init__(self, error: Exception, *, idempotent_only: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.idempotent_only = idempotent_only

    def allowed(self, idempotent: bool) -> bool:
        return idempotent or not self.idempotent_only

    def delay(self, policy: RetryPolicy, attempt: int) -> float:
        if isinstance(self.error, RateLimited):
            return policy.after_rate_limit(self.error.retry_after)
        return policy.backoff(attempt)


def _data_of(response: httpx.Response) -> dict[str, Any]:
    """The `data` of a response; its errors raised typed, or wrapped in `_Retry` when
    another attempt may succeed."""
    request_id = response.headers.get("x-request-id")
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        error = errors_from_response(
            errors, request_id=request_id, status_code=response.status_code
        )
        if isinstance(error, RateLimited):
            if "retryAfter" not in error.extensions and "retry-after" in response.headers:
                error.extensions["retryAfter"] = float(response.headers["retry-after"])
            # The server refuses before running anything: safe to retry for every kind.
            raise _Retry(error, idempotent_only=False)
        if response.status_code in RETRYABLE_STATUS:
            raise _Retry(error, idempotent_only=True)
        raise error
    if response.status_code in RETRYABLE_STATUS:
        error = Unavailable(
            f"HTTP {response.status_code} from the server",
            code="UNAVAILABLE",
            request_id=request_id,
            status_code=response.status_code,
        )
        raise _Retry(error, idempotent_only=True)
    if response.status_code != 200 or not isinstance(body, dict) or "data" not in body:
        raise ServerError(
            f"unexpected HTTP {response.status_code} answer: {response.text[:200]}",
            request_id=request_id,
            status_code=response.status_code,
        )
    data: dict[str, Any] = body["data"]
    return data
