"""A subscriber bot: follows new claims as they commit and asks for a revision of hedged ones.

    python examples/subscriber_bot.py http://localhost:8000 phk_... [--after ID] [--limit N]

It needs a key with claims:read and reviews:write. Restarted with `--after` set to the last
event id it printed, it carries on where it stopped; the SDK does the same by itself
whenever the connection drops.
"""

import argparse
import asyncio

from phiacta.sdk import PhiactaClient

HEDGES = {"may", "might", "possibly", "perhaps", "suggests"}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("key")
    parser.add_argument("--after", help="resume after this event id")
    parser.add_argument("--limit", type=int, help="stop after this many claims")
    args = parser.parse_args()
    async with PhiactaClient(args.url, args.key) as phiacta:
        seen = 0
        async for event in phiacta.subscribe(["claim_created"], after=args.after):
            claim = await phiacta.claim(event.payload["claim_id"])
            if claim is None:  # a draft this key may not read
                continue
            hedged = bool(HEDGES & set(claim.content.lower().split()))
            if hedged:
                await phiacta.review(claim.id, "request_revision", comment="state the finding")
            print(event.id, "hedged" if hedged else "ok", claim.content[:60], flush=True)
            seen += 1
            if args.limit and seen >= args.limit:
                break


if __name__ == "__main__":
    asyncio.run(main())
