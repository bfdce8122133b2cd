"""GraphiQL at GET /graphql, served entirely by this server.

The page loads only files of this server, each with its Subresource Integrity hash:
the vendored React, GraphiQL and explorer-plugin builds (`assets/`, written by
`vendor.py`) and this package's own script and stylesheet. They are served under
`/graphiql/` at paths that change whenever their bytes do (a version or a content
hash), so they are cached for a year. The page itself is sent with a
Content-Security-Policy that lets it load and connect to this origin only.

Its default tabs are `examples.default_tabs`. Opened as `/graphql?key=phk_...` in
development, the Headers tab starts with that key as its Authorization; in production
the parameter is ignored, so a key never rides in a URL someone may share.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from phiacta.graphiql.examples import default_tabs
from phiacta.graphiql.vendor import ASSETS, sri

PREFIX = "/graphiql/"
OWN = Path(__file__).resolve().parent / "static"
YEAR_SECONDS = 365 * 24 * 3600
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    url: str
    file: Path
    integrity: str

    @property
    def media_type(self) -> str:
        return _TYPES[self.file.suffix]


@cache
def assets() -> dict[str, Asset]:
    """Every file the page may load, by URL."""
    manifest = json.loads((ASSETS / "manifest.json").read_text())
    found = [
        Asset(PREFIX + name, ASSETS / name, str(entry["sri"]))
        for name, entry in manifest["files"].items()
    ]
    for name in ("graphiql.js", "graphiql.css"):
        data = (OWN / name).read_bytes()
        digest = hashlib.sha256(data).hexdigest()[:12]
        found.append(Asset(f"{PREFIX}phiacta-{digest}/{name}", OWN / name, sri(data)))
    return {asset.url: asset for asset in found}


def _asset(name: str) -> Asset:
    [asset] = [a for a in assets().values() if a.url.endswith("/" + name)]
    return asset


def _script(name: str) -> str:
    asset = _asset(name)
    return f'<script src="{asset.url}" integrity="{asset.integrity}"></script>'


def _stylesheet(name: str) -> str:
    asset = _asset(name)
    return f'<link rel="stylesheet" href="{asset.url}" integrity="{asset.integrity}">'


def page_html(tabs: list[dict[str, str]], headers: str | None) -> str:
    if headers is not None:
        # Each tab keeps its own headers: the key must follow to every tab.
        tabs = [{**tab, "headers": headers} for tab in tabs]
    config = json.dumps({"tabs": tabs, "headers": headers})
    # A JSON data block is never executed; `</` is escaped so text cannot close it.
    config = config.replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Phiacta · GraphiQL</title>
<link rel="icon" href="data:,">
{_stylesheet("graphiql.min.css")}
{_stylesheet("style.css")}
{_stylesheet("graphiql.css")}
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script id="phiacta-config" type="application/json">{config}</script>
{_script("react.production.min.js")}
{_script("react-dom.production.min.js")}
{_script("graphiql.min.js")}
{_script("index.umd.js")}
{_script("graphiql.js")}
</body>
</html>
"""


def content_security_policy(request: Request) -> str:
    host = request.headers.get("host") or request.url.netloc
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            # 'self' covers ws: and wss: in current browsers; older ones need them named.
            f"connect-src 'self' ws://{host} wss://{host}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def graphiql_response(request: Request, *, development: bool, anchor_id: str | None) -> Response:
    """The GraphiQL page for `request`, its tabs starting from the demo's `anchor_id`."""
    key = request.query_params.get("key") if development else None
    headers = json.dumps({"Authorization": f"Bearer {key}"}, indent=2) if key else None
    body = page_html(default_tabs(anchor_id), headers)
    return HTMLResponse(
        body,
        headers={
            "Content-Security-Policy": content_security_policy(request),
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def serve_asset(request: Request) -> Response:
    """GET /graphiql/...: one of the page's files, cached for a year."""
    asset = assets().get(request.url.path)
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(
        _read(asset.file),
        media_type=asset.media_type,
        headers={
            "Cache-Control": f"public, max-age={YEAR_SECONDS}, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )


@cache
def _read(file: Path) -> bytes:
    return file.read_bytes()
