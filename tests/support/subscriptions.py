"""graphql-transport-ws sessions for ``Subscription.jobUpdates`` (the `websockets` client)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

SUBSCRIBE = "subscription($id: ID!) { jobUpdates(id: $id) { status progress message } }"
PROTOCOL = Subprotocol("graphql-transport-ws")


async def receive(ws: ClientConnection, within: float = 15) -> dict[str, Any]:
    async with asyncio.timeout(within):
        message: dict[str, Any] = json.loads(await ws.recv())
    return message


@contextlib.asynccontextmanager
async def session(url: str, person: Any) -> AsyncIterator[ClientConnection]:
    """An acknowledged graphql-transport-ws connection, authenticated as ``person``."""
    async with connect(url, subprotocols=[PROTOCOL], open_timeout=10) as ws:
        assert ws.subprotocol == PROTOCOL
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {person.token}"}}
            )
        )
        assert await receive(ws) == {"type": "connection_ack"}
        yield ws


async def subscribe(ws: ClientConnection, job_id: str, op: str = "1") -> None:
    await ws.send(
        json.dumps(
            {
                "id": op,
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"id": job_id}},
            }
        )
    )


async def updates_until_complete(
    ws: ClientConnection, op: str = "1", within: float = 30
) -> list[dict[str, Any]]:
    """The ``jobUpdates`` of every ``next`` message, until ``complete`` (anything else fails)."""
    updates: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while True:
            message = await receive(ws, within)
            assert message.get("id") == op, message
            if message["type"] == "complete":
                return updates
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            updates.append(message["payload"]["data"]["jobUpdates"])
