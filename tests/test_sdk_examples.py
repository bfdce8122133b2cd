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
