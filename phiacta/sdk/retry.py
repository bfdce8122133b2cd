"""When and how long the SDK waits before trying a request again.

Delays grow exponentially from `backoff_base` up to `backoff_max`, each drawn between
half and all of that step (jitter), so clients that failed together do not retry
together. A RATE_LIMITED answer is retried after the server's Retry-After (plus jitter)
unless that is longer than `max_retry_after`, in which case the error is raised at once.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

import httpx

log = logging.getLogger("phiacta.sdk")

# Gateway answers: the request may not have reached Phiacta (or Phiacta is restarting).
RETRYABLE_STATUS = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    backoff_base: float = 0.25
    backoff_max: float = 10.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt + 1`."""
        step = min(self.backoff_max, self.backoff_base * 2**attempt)
        return random.uniform(step / 2, step)  # noqa: S311 - jitter, not a secret

    def after_rate_limit(self, retry_after: float) -> float:
        """Seconds to wait after RATE_LIMITED: never sooner than the server asked."""
        return retry_after + random.uniform(0, self.backoff_base)  # noqa: S311 - jitter


def nothing_was_sent(exc: httpx.TransportError) -> bool:
    """Whether the request certainly never reached the server: the connection was
    refused or not made in time. Only then may a non-idempotent mutation be retried."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
