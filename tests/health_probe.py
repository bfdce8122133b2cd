"""The `/health` probe of the hardening tests, and the control it is compared with.

`python -m tests.health_probe control` serves a bare stdlib HTTP server and prints its
port: its answers show how fast this machine answers anything at the moment.
`python -m tests.health_probe URL CONTROL_URL INTERVAL TIMEOUT` asks URL's `/health` and
the control in turn, one request at a time, and prints a line per pair until SIGINT:
`<monotonic start> <server seconds | failed> <control seconds | failed>`.
Both import nothing of ours, so they start in a tenth of a second.
"""

from __future__ import annotations

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def control() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), _Ok) as server:
        print(server.server_address[1], flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            return


def _timed(http: httpx.Client, url: str) -> str:
    started = time.perf_counter()
    try:
        ok = http.get(url).status_code == 200
    except httpx.HTTPError:
        ok = False
    return f"{time.perf_counter() - started:.6f}" if ok else "failed"


def probe(url: str, control_url: str, interval: float, timeout: float) -> None:
    # Keep-alive connections to both, made before timing starts.
    with httpx.Client(timeout=timeout) as http:
        http.get(f"{url}/health")
        http.get(control_url)
        print("started", flush=True)
        try:
            while True:
                started = time.monotonic()
                server = _timed(http, f"{url}/health")
                print(f"{started:.6f} {server} {_timed(http, control_url)}", flush=True)
                time.sleep(interval)
        except KeyboardInterrupt:
            return


if __name__ == "__main__":
    if sys.argv[1:] == ["control"]:
        control()
    else:
        probe(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
