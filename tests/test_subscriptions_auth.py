"""Connection auth of subscriptions when reads need an API key."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets

from phiacta.config import Settings
from phiacta.graphql.engine.live_transport import FORBIDDEN_CLOSE_CODE, UNAUTHENTICATED_CLOSE_CODE
from tests.live_client import LiveClient, open_socket
from tests.support import LiveServer, create_api_key, make_settings


@pytest.fixture(scope="module")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(database_url, tmp_path_factory.mktemp("data"), public_reads=False)


async def close_code_after_init(server: LiveServer, payload: dict[str, Any]) -> int | None:
    async with await open_socket(server.ws_url) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(10):
                while True:
                    message = json.loads(await socket.recv())
                    assert message["type"] != "connection_ack", message
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_connection_init_without_a_key_is_closed_with_4401(server: LiveServer) -> None:
    assert await close_code_after_init(server, {}) == UNAUTHENTICATED_CLOSE_CODE


async def test_connection_init_with_a_bad_key_is_closed_with_4401(server: LiveServer) -> None:
    code = await close_code_after_init(server, {"Authorization": "Bearer phk_nope_nope"})
    assert code == UNAUTHENTICATED_CLOSE_CODE


async def test_connection_init_with_a_key_lacking_claims_read_is_closed_with_4403(
    server: LiveServer, database_url: str
) -> None:
    key = await asyncio.to_thread(create_api_key, database_url, ["reviews:write"])
    code = await close_code_after_init(server, {"authorization": f"Bearer {key.raw}"})
    assert code == FORBIDDEN_CLOSE_CODE


async def test_a_key_with_claims_read_may_subscribe(server: LiveServer, database_url: str) -> None:
    key = await asyncio.to_thread(create_api_key, database_url, ["claims:read"])
    async with LiveClient.connect(server.ws_url, key.headers) as client:
        op = await client.subscribe("subscription { events { id } }")
        with pytest.raises(TimeoutError):
            await client.message(op, within=0.3)
