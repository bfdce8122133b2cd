"""Prometheus metrics: the names the Grafana dashboard and the alert rules use.

Other modules call the small functions here (`bundle_submitted`, `search`, ...) rather
than touching the metric objects. Label values are bounded: GraphQL operation names
that are not plain identifiers, or that arrive after `MAX_OPERATION_NAMES` distinct
ones were seen, are counted as `other`; unnamed operations as `anonymous`.

Each process has its own registry. With several uvicorn workers, set
PROMETHEUS_MULTIPROC_DIR to an empty writable folder: the workers then share their
samples through files there, and whichever worker answers `/metrics` reports the sum.
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response

from phiacta.observability.multiprocess import multiprocess_dir


class PoolStats(Protocol):
    """What the gauges read from a connection pool. A protocol, not `db.pool.Pool`:
    the pool's cursors report to this module, so importing the pool here would make a
    circle."""

    def get_stats(self) -> dict[str, int]: ...


ANONYMOUS = "anonymous"
OTHER = "other"
MAX_OPERATION_NAMES = 200
POOL_PUBLISH_SECONDS = 5.0
_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

# Seconds; spans a cached read (~1 ms) to the guide's 5 s p99 alert and beyond.
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)

HTTP_REQUESTS = Counter(
    "phiacta_http_requests_total",
    "HTTP requests by GraphQL operation name (or route) and HTTP status.",
    ["operation", "status"],
)
HTTP_DURATION = Histogram(
    "phiacta_http_request_duration_seconds",
    "HTTP request latency by GraphQL operation name (or route) and HTTP status.",
    ["operation", "status"],
    buckets=_REQUEST_BUCKETS,
)
GRAPHQL_ERRORS = Counter(
    "phiacta_graphql_errors_total", "GraphQL errors by extensions.code.", ["code"]
)
DB_POOL_SIZE = Gauge(
    "phiacta_db_pool_size", "Connections the pool holds now.", multiprocess_mode="livesum"
)
DB_POOL_AVAILABLE = Gauge(
    "phiacta_db_pool_available", "Idle connections in the pool.", multiprocess_mode="livesum"
)
DB_POOL_WAITING = Gauge(
    "phiacta_db_pool_waiting",
    "Requests queueing for a pooled connection.",
    multiprocess_mode="livesum",
)
DB_QUERY_DURATION = Histogram(
    "phiacta_db_query_duration_seconds",
    "Time to execute one SQL statement and fetch its result.",
    buckets=_QUERY_BUCKETS,
)
BUNDLES_SUBMITTED = Counter("phiacta_bundles_submitted_total", "Bundles accepted.")
CLAIMS_INGESTED = Counter("phiacta_claims_ingested_total", "Claims written (bundles included).")
SEARCHES = Counter("phiacta_searches_total", "Search queries by mode.", ["mode"])
TRAVERSALS = Counter("phiacta_traversals_total", "Graph traversals and path queries.")
API_KEY_HASHES = Counter(
    "phiacta_api_key_hashes_total",
    "argon2 verifications of API keys not in the cache (a rise with 401s is key guessing).",
)
ACTIVE_SUBSCRIPTIONS = Gauge(
    "phiacta_active_subscriptions",
    "GraphQL subscriptions open now.",
    multiprocess_mode="livesum",
)

DB_READS = Counter(
    "phiacta_db_reads_total",
    "GraphQL queries by the database that served their reads (primary, replica-N).",
    ["target"],
)
DB_READ_FALLBACKS = Counter(
    "phiacta_db_read_fallbacks_total",
    "Queries the primary served with replicas configured, by reason: no replica up, "
    "none had replayed the caller's last write, or the replica failed mid-read.",
    ["reason"],
)
DB_REPLICA_UP = Gauge(
    "phiacta_db_replica_up",
    "1 while the replica answers as a standby, else 0.",
    ["replica"],
    multiprocess_mode="liveall",
)
DB_REPLICA_LAG = Gauge(
    "phiacta_db_replica_lag_seconds",
    "Replay lag of each replica as its monitor last read it.",
    ["replica"],
    multiprocess_mode="liveall",
)

_seen_operations: set[str] = set()
_seen_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    """The bounded label value for a GraphQL operation name."""
    if not name:
        return ANONYMOUS
    if not _OPERATION_NAME.match(name):
        return OTHER
    if name in _seen_operations:
        return name
    with _seen_lock:
        if len(_seen_operations) >= MAX_OPERATION_NAMES:
            return OTHER
        _seen_operations.add(name)
    return name


def request_finished(operation: str, status: int, seconds: float) -> None:
    """Count one HTTP request; `operation` must already be a bounded label."""
    labels = (operation, str(status))
    HTTP_REQUESTS.labels(*labels).inc()
    HTTP_DURATION.labels(*labels).observe(seconds)


def graphql_error(code: str) -> None:
    GRAPHQL_ERRORS.labels(code).inc()


def query_finished(seconds: float) -> None:
    DB_QUERY_DURATION.observe(seconds)


def read_routed(target: str) -> None:
    DB_READS.labels(target).inc()


def read_fallback(reason: str) -> None:
    DB_READ_FALLBACKS.labels(reason).inc()


def replica_observed(replica: str, *, up: bool, lag_ms: float | None) -> None:
    DB_REPLICA_UP.labels(replica).set(1 if up else 0)
    if lag_ms is not None:
        DB_REPLICA_LAG.labels(replica).set(lag_ms / 1000)


def bundle_submitted(*, claims: int) -> None:
    """A bundle committed with `claims` claims (call it once, after the commit)."""
    BUNDLES_SUBMITTED.inc()
    claims_ingested(claims)


def claims_ingested(count: int = 1) -> None:
    """Claims written outside bundles (createClaim, reviseClaim, ingestion jobs)."""
    if count > 0:
        CLAIMS_INGESTED.inc(count)


def search(mode: str) -> None:
    """One search; `mode` is the SearchMode value (semantic, fulltext, hybrid)."""
    SEARCHES.labels(mode.lower()).inc()


def traversal() -> None:
    TRAVERSALS.inc()


def subscription_opened() -> None:
    ACTIVE_SUBSCRIPTIONS.inc()


def subscription_closed() -> None:
    ACTIVE_SUBSCRIPTIONS.dec()


def observe_pool(pool: PoolStats) -> None:
    """Copy the pool's current figures into the gauges."""
    stats = pool.get_stats()
    DB_POOL_SIZE.set(stats.get("pool_size", 0))
    DB_POOL_AVAILABLE.set(stats.get("pool_available", 0))
    DB_POOL_WAITING.set(stats.get("requests_waiting", 0))


def multiprocess_enabled() -> bool:
    """Whether samples are shared between workers (PROMETHEUS_MULTIPROC_DIR is set)."""
    return multiprocess_dir() is not None


async def publish_pool_stats(pool: PoolStats) -> None:
    """With several workers, keep this worker's pool gauges current until cancelled.

    A scrape reaches one worker, so the others publish their figures every few
    seconds; the gauges' `livesum` mode adds up the live workers.
    """
    while True:
        observe_pool(pool)
        await asyncio.sleep(POOL_PUBLISH_SECONDS)


def exposition() -> bytes:
    """The text exposition of every metric of this process (or of all workers)."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


def mark_process_dead(pid: int) -> None:
    """Drop a stopped worker's live gauges from the shared multiprocess files."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


async def metrics_endpoint(request: Request) -> Response:
    """`GET /metrics`: the Prometheus text format, pool gauges read at scrape time."""
    services = getattr(request.app.state, "services", None)
    if services is not None:
        observe_pool(services.pool)
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
