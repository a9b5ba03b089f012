"""Publishing intake messages exactly as a channel system does, and watching tickets arrive.

A channel system (call-centre software, web portal) publishes each complaint as a persistent
JSON message to the `<ns>.intake` exchange with routing key `intake.<channel>`, the channel's
own message id as AMQP message_id, and publisher confirms on.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import aio_pika
from pymongo import AsyncMongoClient

from suqiu.shared.keys import key_range
from suqiu.shared.topology import Topology

__all__ = ["ChannelPublisher", "wait_for_tickets"]


class ChannelPublisher:
    def __init__(self, amqp_url: str, namespace: str) -> None:
        self._url = amqp_url
        self._topology = Topology(namespace)
        self._conn: aio_pika.abc.AbstractRobustConnection | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None

    async def __aenter__(self) -> ChannelPublisher:
        self._conn = await aio_pika.connect_robust(self._url)
        channel = await self._conn.channel(publisher_confirms=True)
        self._exchange = await channel.get_exchange(self._topology.intake_exchange)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._conn:
            await self._conn.close()

    async def publish(self, envelope: dict[str, Any], *, body: bytes | None = None,
                      message_id: str | None = None) -> None:
        """Publish one envelope (or raw `body`) and wait for the broker's confirm."""
        assert self._exchange is not None, "use `async with`"
        data = body if body is not None else json.dumps(envelope, ensure_ascii=False).encode()
        msg = aio_pika.Message(
            data, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            content_type="application/json",
            message_id=message_id or envelope.get("channel_message_id"),
        )
        channel = envelope.get("channel", "unknown")
        await self._exchange.publish(msg, routing_key=Topology.intake_routing_key(channel))

    async def publish_many(self, envelopes: Iterable[dict[str, Any]], *,
                           rate: float | None = None, in_flight: int = 200) -> list[float]:
        """Publish with up to `in_flight` unconfirmed; optional steady `rate` per second.

        Returns the wall-clock time each message was confirmed.
        """
        sem = asyncio.Semaphore(in_flight)
        stamps: list[float] = []
        start = time.monotonic()

        async def one(env: dict[str, Any]) -> None:
            try:
                await self.publish(env)
                stamps.append(time.time())
            finally:
                sem.release()

        tasks = []
        for i, env in enumerate(envelopes):
            if rate:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await sem.acquire()
            tasks.append(asyncio.create_task(one(env)))
        await asyncio.gather(*tasks)
        return stamps


async def wait_for_tickets(mongo_url: str, db: str, intake_keys: list[str], *,
                           status: str = "dispatched", timeout: float = 120.0,
                           poll: float = 0.5, since: datetime | None = None,
                           ) -> dict[str, dict[str, Any]]:
    """Poll the store until every intake key has a ticket in `status` (or time runs out).

    With `since` (no ticket of interest was received earlier) each poll is an index walk
    (`received_key` range, sorted, limited, a few fields) and only newly finished orders are
    read whole, by `_id`: the benchmark polls this way, so its polling does not scan a store
    that holds years of orders while it measures.
    """
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    found: dict[str, dict[str, Any]] = {}
    wanted = set(intake_keys)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            pending = [k for k in intake_keys if k not in found]
            if not pending:
                break
            if since is not None:
                coll = client[db]["tickets"]
                rows = await coll.find(
                    {"received_key": key_range("at", since)}, {"intake_key": 1, "status": 1},
                ).sort("received_key", 1).limit(len(intake_keys) * 2 + 10_000).to_list(None)
                done = [r["_id"] for r in rows if r.get("status") == status
                        and r.get("intake_key") in wanted and r["intake_key"] not in found]
                for i in range(0, len(done), 500):
                    async for doc in coll.find({"_id": {"$in": done[i:i + 500]}}):
                        found[doc["intake_key"]] = doc
            else:
                for i in range(0, len(pending), 500):
                    cursor = client[db]["tickets"].find(
                        {"intake_key": {"$in": pending[i:i + 500]}, "status": status})
                    async for doc in cursor:
                        found[doc["intake_key"]] = doc
            if len(found) < len(intake_keys):
                await asyncio.sleep(poll)
    finally:
        await client.close()
    return found
