"""JSON in and out of the hot paths: request bodies, responses and jsonb columns.

orjson parses and writes JSON several times faster than the standard library, which
shows on every read (each claim, edge and agent row carries a jsonb `attrs`) and on
every bundle (a thousand event payloads). The standard library remains the fallback
for the few values orjson refuses (integers beyond 64 bits, non-string keys).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

loads = orjson.loads


def dumps(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":")).encode()
