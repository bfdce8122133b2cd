"""`python -m tests.health_probe URL INTERVAL TIMEOUT`: asks URL's `/health` again and
again, one request at a time, and prints each answer's seconds (or `failed`) until
SIGINT. It imports httpx and nothing of ours, so it starts in a tenth of a second."""

from __future__ import annotations

import sys
import time

import httpx


def probe(url: str, interval: float, timeout: float) -> None:
    with httpx.Client(base_url=url, timeout=timeout) as http:
        http.get("/health")  # connected before timing starts
        print("started", flush=True)
        try:
            while True:
                started = time.perf_counter()
                try:
                    ok = http.get("/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - started
                print(f"{elapsed:.6f}" if ok else "failed", flush=True)
                time.sleep(interval)
        except KeyboardInterrupt:
            return


if __name__ == "__main__":
    probe(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]))
