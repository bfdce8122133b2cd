"""GraphiQL served by our own origin, and its example tabs running on the demo graph."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from phiacta.config import Settings
from phiacta.db.pool import create_pool
from phiacta.demo.load import DemoSummary, load_demo
from phiacta.embeddings import create_provider
from phiacta.graphiql.vendor import without_source_map
from tests.live_client import LiveClient, append_events, claim_created, until_subscribed
from tests.support import LiveServer, data_of, gql, make_settings

BROWSER = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36",
}


class References(HTMLParser):
    """Every URL the page would load: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str | None]] = []  # (tag, url, integrity)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        url = values.get("src") or values.get("href")
        if url is not None:
            self.found.append((tag, url, values.get("integrity")))


def tabs_of(page: str) -> list[dict[str, str]]:
    match = re.search(r'<script id="phiacta-config" type="application/json">(.*?)</script>', page)
    assert match, page
    tabs: list[dict[str, str]] = json.loads(match.group(1))["tabs"]
    return tabs


async def _load(settings: Settings, database_url: str) -> DemoSummary:
    pool = create_pool(settings, database_url)
    await pool.open()
    embedder = create_provider(settings)
    try:
        return await load_demo(pool, embedder, settings)
    finally:
        await embedder.aclose()
        await pool.close()


@pytest.fixture(scope="module")
def demo(settings: Settings, database_url: str) -> DemoSummary:
    return asyncio.run(_load(settings, database_url))


@pytest.fixture
def page(client: httpx.Client, demo: DemoSummary) -> httpx.Response:
    return client.get("/graphql", headers=BROWSER)


def test_the_demo_is_a_graph_worth_exploring_and_loads_once(
    settings: Settings, database_url: str, demo: DemoSummary
) -> None:
    assert demo.claims >= 200 and demo.edges >= 200 and demo.reviews >= 20
    again = asyncio.run(_load(settings, database_url))
    assert (again.new_bundles, again.reviews) == (0, 0)
    assert again.ids == demo.ids


def test_the_page_and_every_file_it_loads_come_from_our_origin(
    client: httpx.Client, page: httpx.Response
) -> None:
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text.replace("ws://", "") and "https://" not in page.text
    parser = References()
    parser.feed(page.text)
    loaded = [(tag, url, sri) for tag, url, sri in parser.found if not url.startswith("data:")]
    assert {tag for tag, _, _ in loaded} == {"script", "link"}
    assert len(loaded) >= 8
    for _, url, integrity in loaded:
        asset = _served(client, url)
        digest = base64.b64encode(hashlib.sha384(asset.content).digest()).decode()
        assert integrity == f"sha384-{digest}", url
        stylesheet = asset.headers["content-type"].startswith("text/css")
        for reference in _references_in(asset.text, stylesheet=stylesheet):
            _served(client, urljoin(url, reference))
    assert client.get("/graphiql/../pyproject.toml").status_code == 404


def _served(client: httpx.Client, url: str) -> httpx.Response:
    """`url`, a path of our origin, answered 200 and cached for a year."""
    assert url.startswith("/graphiql/"), url
    asset = client.get(url)
    assert asset.status_code == 200, url
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    return asset


# What a stylesheet makes the browser load in turn (url(...): fonts, images; @import),
# and the source map a script or stylesheet sends developer tools to. data: URLs load
# nothing. Scripts are not searched for url(...): theirs are in comments and strings.
_STYLESHEET_REFERENCE = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")
_SOURCE_MAP = re.compile(r"^\s*(?://|/\*)# sourceMappingURL=([^\s*]+)", re.M)


def _references_in(text: str, *, stylesheet: bool) -> list[str]:
    found = [m.group(1) for m in _SOURCE_MAP.finditer(text)]
    if stylesheet:
        found += [m.group(1) or m.group(2) for m in _STYLESHEET_REFERENCE.finditer(text)]
    return [url for url in found if not url.startswith("data:")]


def test_a_stylesheet_reference_or_source_map_would_be_checked() -> None:
    css = "a{background:url(data:image/png;base64,AAA)} @font-face{src:url('f.woff2')}"
    assert _references_in(css, stylesheet=True) == ["f.woff2"]
    assert _references_in('@import "https://x.example/a.css";', stylesheet=True) == [
        "https://x.example/a.css"
    ]
    assert _references_in("/*# sourceMappingURL=x.css.map*/", stylesheet=True) == ["x.css.map"]
    assert _references_in("x()\n//# sourceMappingURL=x.js.map", stylesheet=False) == ["x.js.map"]
    assert _references_in('// "url(2.jpg)" is not animatable', stylesheet=False) == []


def test_the_page_may_load_and_connect_to_our_origin_only(
    server: LiveServer, page: httpx.Response
) -> None:
    host = urlsplit(server.url).netloc
    ours = {"'self'", "'none'", "data:", f"ws://{host}", f"wss://{host}"}
    directives = dict(
        (d.split()[0], d.split()[1:]) for d in page.headers["content-security-policy"].split(";")
    )
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"] and directives["connect-src"][0] == "'self'"
    for name, sources in directives.items():
        assert set(sources) <= ours, (name, sources)
    assert page.headers["cache-control"] == "no-store"


def test_without_source_map_drops_only_the_trailing_comment() -> None:
    assert without_source_map(b"a();\n//# sourceMappingURL=a.js.map") == b"a();\n"
    assert without_source_map(b"a{}\n\n/*# sourceMappingURL=a.css.map*/\n") == b"a{}\n"
    kept = b"var s = '//# sourceMappingURL=not-the-end.map';\nf();\n"
    assert without_source_map(kept) == kept


def test_every_vendored_file_has_its_licence_and_manifest_entry() -> None:
    assets = Path(__file__).resolve().parents[1] / "phiacta" / "graphiql" / "assets"
    manifest = json.loads((assets / "manifest.json").read_text())
    names = {p["name"] for p in manifest["packages"]}
    assert {"react", "react-dom", "graphiql", "@graphiql/plugin-explorer"} <= names
    for package in manifest["packages"]:
        assert (assets / package["folder"] / "LICENSE").read_text().strip()
        assert package["tarball"].startswith("sha512-")
    for name in manifest["files"]:
        assert (assets / name).is_file()


def test_the_example_operations_return_data_on_the_demo_graph(
    client: httpx.Client, page: httpx.Response
) -> None:
    tabs = [t for t in tabs_of(page.text) if not t["query"].count("subscription NewClaims")]
    assert len(tabs) >= 4
    names = set()
    for tab in tabs:
        names.add(re.search(r"^(?:query|mutation) (\w+)", tab["query"], re.M).group(1))  # type: ignore[union-attr]
        data = data_of(gql(client, tab["query"], json.loads(tab.get("variables") or "{}")))
        assert all(_has_content(value) for value in data.values()), data
    assert {"ClaimWithEvidence", "HybridSearch", "Neighbourhood"} <= names
    evidence = data_of(gql(client, tabs[0]["query"], json.loads(tabs[0]["variables"])))["evidence"]
    assert evidence["supporting"] and evidence["contradicting"]


def _has_content(value: Any) -> bool:
    """Something to look at: a non-empty list, or a value that is not null, false, 0 or
    "" (a traversal of no nodes or a namespace of no claims is not content)."""
    if isinstance(value, dict):
        return any(_has_content(v) for v in value.values())
    if isinstance(value, list):
        return bool(value)
    return value not in (None, False, 0, "")


async def test_the_example_subscription_delivers_new_claims(
    server: LiveServer, database_url: str, page: httpx.Response
) -> None:
    [tab] = [t for t in tabs_of(page.text) if "subscription NewClaims" in t["query"]]
    async with LiveClient.connect(server.ws_url) as live:
        op = await live.subscribe(tab["query"])

        async def probe() -> str:
            event = claim_created("graphiql")
            await append_events(database_url, [event])
            return str(event[1]["claim_id"])

        await until_subscribed(live, op, probe, lambda d: d["claimCreated"]["claimId"])


@pytest.fixture(scope="module")
def production(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(
        database_url, tmp_path_factory.mktemp("prod"), environment="production"
    )
    with LiveServer.run(settings) as live:
        yield live.url


def test_a_key_in_the_url_fills_the_headers_in_development_only(
    client: httpx.Client, production: str
) -> None:
    dev = client.get("/graphql?key=phk_example", headers=BROWSER).text
    assert '"Authorization\\": \\"Bearer phk_example\\"' in dev
    prod = httpx.get(f"{production}/graphql?key=phk_example", headers=BROWSER).text
    assert "phk_example" not in prod
    assert tabs_of(prod)
