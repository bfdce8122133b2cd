"""JSON in and out of the hot paths: request bodies, responses and jsonb columns.

orjson parses and writes JSON several times faster than the standard library, which
shows on every read (each claim, edge and agent row carries a jsonb `attrs`) and on
every bundle (a thousand event payloads). The standard library remains the fallback
for what orjson refuses or reads inexactly (integers beyond 64 bits, non-string keys),
so those values come through exactly as before.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# Twenty digits in a row: possibly an integer beyond orjson's 64 bits.
_LONG_DIGITS = 20
_LONG_DIGITS_BYTES = re.compile(rb"\d{20}")
_LONG_DIGITS_TEXT = re.compile(r"\d{20}")


def loads(data: bytes | str) -> Any:
    """The JSON value of `data`; ValueError when it is not JSON."""
    if len(data) < _LONG_DIGITS:
        # Most jsonb `attrs` are `{}`: too short to hold such an integer.
        return orjson.loads(data)
    if isinstance(data, bytes):
        exact = _LONG_DIGITS_BYTES.search(data) is None
    else:
        exact = _LONG_DIGITS_TEXT.search(data) is None
    if exact:
        return orjson.loads(data)
    # orjson reads an integer over 64 bits as a float, losing digits (a jsonb value or a
    # variable may hold one); the standard library keeps it exact. It recurses per
    # nesting level where orjson stops at 1024: too deep is not JSON we read either way.
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def dumps(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":")).encode()
