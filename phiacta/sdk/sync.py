"""`Phiacta`: the blocking twin of `PhiactaClient`, for scripts and notebooks.

It runs its own event loop in a private daemon thread and hands every call to it, so it
works the same in a plain script and inside Jupyter, whose own loop is already running
(`asyncio.run` would refuse there). Methods, arguments, results, retries and errors are
those of `PhiactaClient`; the async iterators (`claims`, `subscribe`) become ordinary
iterators. Use it from one thread at a time; close it (or use `with`) to stop the loop.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from typing import Any, Self, TypeVar

import httpx

from phiacta.sdk.client import DEFAULT_PAGE_SIZE, FilterArg, PhiactaClient, Variables
from phiacta.sdk.inputs import BundleInput
from phiacta.sdk.types import (
    BundleResult,
    Claim,
    Event,
    Evidence,
    Page,
    Path,
    ReviewResult,
    SearchHit,
    TraversalResult,
)

T = TypeVar("T")


class Phiacta:
    """A blocking client of one Phiacta server; see `PhiactaClient` for each method."""

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
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="phiacta-sdk", daemon=True
        )
        self._thread.start()

        async def make() -> PhiactaClient:
            return PhiactaClient(
                url,
                api_key,
                timeout=timeout,
                max_retries=max_retries,
                backoff_base=backoff_base,
                backoff_max=backoff_max,
                max_retry_after=max_retry_after,
                headers=headers,
                transport=transport,
            )

        self.client = self._run(make())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections and stop the private loop; idempotent."""
        if self._loop.is_closed():
            return
        self._run(self.client.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def _iterate(self, items: AsyncIterator[T]) -> Iterator[T]:
        async def step() -> tuple[bool, T | None]:
            try:
                return True, await anext(items)
            except StopAsyncIteration:
                return False, None

        try:
            while True:
                more, item = self._run(step())
                if not more:
                    return
                yield item  # type: ignore[misc]  # `more` says it is a T
        finally:
            close = getattr(items, "aclose", None)
            if close is not None and not self._loop.is_closed():
                self._run(close())

    def execute(
        self, document: str, variables: Variables | None = None, *, idempotent: bool = True
    ) -> dict[str, Any]:
        return self._run(self.client.execute(document, variables, idempotent=idempotent))

    def submit_bundle(
        self, bundle: BundleInput | Mapping[str, Any], idempotency_key: str | None = None
    ) -> BundleResult:
        return self._run(self.client.submit_bundle(bundle, idempotency_key))

    def review(
        self,
        claim_id: uuid.UUID | str,
        verdict: str,
        *,
        confidence: float = 1.0,
        comment: str | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> ReviewResult:
        return self._run(
            self.client.review(
                claim_id, verdict, confidence=confidence, comment=comment, attrs=attrs
            )
        )

    def revise(
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
        return self._run(
            self.client.revise(
                claim_id,
                content=content,
                claim_type=claim_type,
                formal_content=formal_content,
                namespace=namespace,
                status=status,
                attrs=attrs,
            )
        )

    def claim(self, claim_id: uuid.UUID | str) -> Claim | None:
        return self._run(self.client.claim(claim_id))

    def claims_page(
        self,
        filter: FilterArg = None,
        *,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        order_by: str = "CREATED_AT_DESC",
    ) -> Page[Claim]:
        return self._run(
            self.client.claims_page(filter, first=first, after=after, order_by=order_by)
        )

    def claims(
        self,
        filter: FilterArg = None,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        order_by: str = "CREATED_AT_DESC",
    ) -> Iterator[Claim]:
        return self._iterate(self.client.claims(filter, page_size=page_size, order_by=order_by))

    def search(
        self, text: str, mode: str = "HYBRID", *, first: int = 20, filter: FilterArg = None
    ) -> list[SearchHit]:
        return self._run(self.client.search(text, mode, first=first, filter=filter))

    def traverse(
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
        return self._run(
            self.client.traverse(
                start,
                direction=direction,
                edge_types=edge_types,
                max_depth=max_depth,
                limit=limit,
                min_strength=min_strength,
                include_retracted=include_retracted,
            )
        )

    def path(
        self,
        source: uuid.UUID | str,
        target: uuid.UUID | str,
        *,
        edge_types: Sequence[str] | None = None,
        max_depth: int = 5,
        direction: str = "BOTH",
    ) -> Path | None:
        return self._run(
            self.client.path(
                source, target, edge_types=edge_types, max_depth=max_depth, direction=direction
            )
        )

    def evidence(self, claim_id: uuid.UUID | str, *, depth: int = 1) -> Evidence:
        return self._run(self.client.evidence(claim_id, depth=depth))

    def subscribe(
        self, types: Sequence[str] | None = None, after: str | None = None
    ) -> Iterator[Event]:
        return self._iterate(self.client.subscribe(types, after))
