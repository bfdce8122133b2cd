"""JSON in and out of the hot paths: orjson, with the standard library where orjson
would change a value."""

from __future__ import annotations

import json

import pytest

from phiacta import jsoncodec


@pytest.mark.parametrize("data", [b"{}", "{}", b"[1,2.5,null]", '{"a":"\\u00e9"}'])
def test_short_and_ordinary_documents_parse(data: bytes | str) -> None:
    assert jsoncodec.loads(data) == json.loads(data)


@pytest.mark.parametrize("data", [b'{"n":123456789012345678901234}', "123456789012345678901"])
def test_integers_beyond_64_bits_stay_exact(data: bytes | str) -> None:
    value = jsoncodec.loads(data)
    number = value["n"] if isinstance(value, dict) else value
    assert isinstance(number, int) and number > 2**64


@pytest.mark.parametrize("data", [b"", b"{", "nope", b"{]"])
def test_what_is_not_json_is_a_value_error(data: bytes | str) -> None:
    with pytest.raises(ValueError):
        jsoncodec.loads(data)


def test_dumps_writes_integers_beyond_64_bits() -> None:
    assert jsoncodec.dumps({"n": 2**70}) == b'{"n":1180591620717411303424}'
