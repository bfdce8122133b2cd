"""The Python SDK for Phiacta: an async client, its blocking twin, typed inputs,
results and errors.

    async with PhiactaClient("http://localhost:8000", api_key) as phiacta:
        result = await phiacta.submit_bundle(bundle)

It imports nothing from the server's packages, so a bot needs only httpx and websockets.
"""

from phiacta.sdk.client import PhiactaClient
from phiacta.sdk.errors import (
    AuthenticationError,
    Conflict,
    FieldError,
    IdempotencyConflict,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    PhiactaError,
    RateLimited,
    ServerError,
    Unavailable,
    ValidationFailed,
)
from phiacta.sdk.inputs import (
    BundleArtifact,
    BundleClaim,
    BundleEdge,
    BundleInput,
    BundleSource,
    ClaimFilter,
    ClaimRef,
)
from phiacta.sdk.sync import Phiacta
from phiacta.sdk.types import (
    BundleResult,
    BundleWarning,
    Claim,
    Confidence,
    Edge,
    Event,
    Evidence,
    EvidenceItem,
    EvidenceSummary,
    Page,
    PageInfo,
    Path,
    PendingReference,
    ResolvedReference,
    Review,
    ReviewResult,
    SearchHit,
    TraversalNode,
    TraversalResult,
)

__all__ = [
    "AuthenticationError",
    "BundleArtifact",
    "BundleClaim",
    "BundleEdge",
    "BundleInput",
    "BundleResult",
    "BundleSource",
    "BundleWarning",
    "Claim",
    "ClaimFilter",
    "ClaimRef",
    "Confidence",
    "Conflict",
    "Edge",
    "Event",
    "Evidence",
    "EvidenceItem",
    "EvidenceSummary",
    "FieldError",
    "IdempotencyConflict",
    "LimitExceeded",
    "NotFound",
    "Page",
    "PageInfo",
    "Path",
    "PendingReference",
    "PermissionDenied",
    "Phiacta",
    "PhiactaClient",
    "PhiactaError",
    "RateLimited",
    "ResolvedReference",
    "Review",
    "ReviewResult",
    "SearchHit",
    "ServerError",
    "TraversalNode",
    "TraversalResult",
    "Unavailable",
    "ValidationFailed",
]
