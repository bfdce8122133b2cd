"""The cost of authenticating one request, with and without the verified-key cache.

    .venv/bin/python -m bench.auth [--requests 300]

Measures `Authenticator.authenticate` (what the /graphql view calls on every request
with a key) against an embedded PostgreSQL of its own: "cached" is a key already
verified by this process (one primary-key lookup for revocation/expiry); "uncached"
empties the cache before every call, so each call pays the prefix lookup, the argon2id
verification and the usable check. "refused" times a wrong secret of a known prefix
and a key of an unknown prefix, in alternation: both must cost one argon2id hash, so
their times agree (the issue asks within 20 %) and say nothing of which prefixes
exist. Prints the figures and writes bench/results/auth.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from phiacta.auth.authenticate import Authenticator
from phiacta.auth.keys import hash_secret, parse_api_key, verify_secret
from phiacta.config import load_settings
from phiacta.db import admin, migrate
from phiacta.db.embedded import EmbeddedPostgres
from phiacta.db.pool import create_pool
from phiacta.errors import Unauthenticated
from tests.support import TEST_API_KEY_SALT, create_api_key

RESULTS = Path(__file__).parent / "results" / "auth.json"


def summary(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


async def measure(url: str, requests: int) -> dict[str, object]:
    settings = load_settings(_env_file=None, database_url=url, database_pool_size=2)
    key = await asyncio.to_thread(create_api_key, url, ["claims:read"])
    header = f"Bearer {key.raw}"
    pool = create_pool(settings, url)
    await pool.open(wait=True)
    try:
        auth = Authenticator(pool, TEST_API_KEY_SALT)
        await auth.authenticate(header)  # warm the pool and the cache
        cached = []
        for _ in range(requests):
            started = time.perf_counter()
            await auth.authenticate(header)
            cached.append((time.perf_counter() - started) * 1000)
        uncached = []
        for _ in range(max(20, requests // 10)):
            auth.forget(key.key_id)
            started = time.perf_counter()
            await auth.authenticate(header)
            uncached.append((time.perf_counter() - started) * 1000)
        refused = await refusals(auth, key.raw, max(20, requests // 10))
    finally:
        await pool.close()
    parts = parse_api_key(key.raw)
    assert parts is not None
    stored = hash_secret(parts.secret, TEST_API_KEY_SALT)
    argon = []
    for _ in range(20):
        started = time.perf_counter()
        verify_secret(stored, parts.secret, TEST_API_KEY_SALT)
        argon.append((time.perf_counter() - started) * 1000)
    return {
        "cached": summary(cached) | {"samples": len(cached)},
        "uncached": summary(uncached) | {"samples": len(uncached)},
        "argon2id_verify_alone": summary(argon) | {"samples": len(argon)},
        **refused,
    }


async def refusals(auth: Authenticator, raw: str, rounds: int) -> dict[str, object]:
    """A wrong secret of a known prefix and an unknown prefix, refused in alternation."""
    scheme, prefix, secret = raw.split("_", 2)
    keys = {
        "known_prefix": f"Bearer {scheme}_{prefix}_{'A' * len(secret)}",
        "unknown_prefix": f"Bearer {scheme}_{'0' * len(prefix)}_{'A' * len(secret)}",
    }
    times: dict[str, list[float]] = {name: [] for name in keys}
    for _ in range(rounds):
        for name, header in keys.items():
            started = time.perf_counter()
            try:
                await auth.authenticate(header)
            except Unauthenticated:
                pass
            else:
                raise AssertionError(f"{name} was accepted")
            times[name].append((time.perf_counter() - started) * 1000)
    known, unknown = (statistics.median(times[name]) for name in keys)
    return {
        "refused_known_prefix": summary(times["known_prefix"]) | {"samples": rounds},
        "refused_unknown_prefix": summary(times["unknown_prefix"]) | {"samples": rounds},
        "refusal_medians_differ_by": f"{abs(known - unknown) / known:.1%}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="phiacta-bench-auth-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "postgres")
        server.start()
        try:
            admin.create_database(server.url(), "bench_auth")
            url = admin.with_database(server.url(), "bench_auth")
            migrate.upgrade(url, 384)
            figures = asyncio.run(measure(url, args.requests))
        finally:
            server.stop()
    result = {
        "what": "Authenticator.authenticate per request, embedded PostgreSQL on localhost",
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
        **figures,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
