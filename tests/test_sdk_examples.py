"""The example subscriber bot, run as a subprocess against a live server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from phiacta.sdk import BundleClaim, BundleInput, BundleSource, Phiacta
from tests.live_client import last_event_id
from tests.support import LiveServer, create_api_key, unique_name

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_subscriber_bot_asks_for_a_revision_of_hedged_claims(
    server: LiveServer, database_url: str
) -> None:
    writer = create_api_key(database_url, ["bundles:write", "claims:read"])
    bot = create_api_key(database_url, ["claims:read", "reviews:write"])
    start = asyncio.run(last_event_id(database_url))
    tag = unique_name("bot")
    with Phiacta(server.url, writer.raw) as phiacta:
        ids = phiacta.submit_bundle(
            BundleInput(
                source=BundleSource("manual_entry", title=tag),
                claims=[
                    BundleClaim("plain", f"Drug {tag} lowers blood pressure by 12 mmHg"),
                    BundleClaim("hedged", f"Drug {tag} may also lower heart rate"),
                ],
            )
        ).claims
        run = subprocess.run(
            [
                sys.executable,
                str(EXAMPLES / "subscriber_bot.py"),
                *(server.url, bot.raw, "--after", str(start), "--limit", "2"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        lines = run.stdout.splitlines()
        assert [line.split()[1] for line in lines] == ["ok", "hedged"]
        hedged = phiacta.claim(ids["hedged"])
        plain = phiacta.claim(ids["plain"])
    assert hedged is not None and hedged.confidence.review_count == 1
    assert plain is not None and plain.confidence.review_count == 0


def readme_sdk_example() -> str:
    """The first Python block of the README's SDK section."""
    readme = (EXAMPLES.parent / "README.md").read_text()
    section = readme.split("## Python SDK", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_runs(server: LiveServer, database_url: str) -> None:
    key = create_api_key(database_url, ["bundles:write", "claims:read"])
    code = readme_sdk_example()
    code = code.replace("http://localhost:8000", server.url).replace("phk_...", key.raw)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "1.0"
    assert any("aspirin" in line for line in lines[1:])
