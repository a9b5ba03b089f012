"""Helpers for end-to-end tests: scraping /metrics, reading the store."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from suqiu.channel_client import ChannelPublisher, wait_for_tickets
from suqiu.samples import SAMPLES, build_envelope
from suqiu.shared.topology import Topology
from suqiu.stack import Stack, StackInfo

T = TypeVar("T")


def scrape(port: int) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of a service's /metrics as (name, labels, value)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return [(s.name, s.labels, s.value)
            for fam in text_string_to_metric_families(text) for s in fam.samples]


def metric_sum(ports: list[int], name: str, **labels: str) -> float:
    """Sum of a metric over replicas, restricted to samples carrying `labels`."""
    return sum(v for port in ports for n, lab, v in scrape(port)
               if n == name and all(lab.get(k) == val for k, val in labels.items()))


async def eventually(probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool],
                     timeout: float = 30.0, poll: float = 0.3) -> T:
    """Poll `probe` until `accept(result)`; returns the last result either way."""
    deadline = time.monotonic() + timeout
    result = await probe()
    while not accept(result) and time.monotonic() < deadline:
        await asyncio.sleep(poll)
        result = await probe()
    return result


def mongo(url: str) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(url, tz_aware=True)


@contextlib.contextmanager
def running_stack(run_dir: Path, amqp_url: str, mongo_url: str, prefix: str,
                  **options: Any) -> Iterator[StackInfo]:
    """All five services as processes in a fresh namespace; on exit they must stop with 0 and
    the namespace's queues and exchanges are deleted."""
    ns = prefix + uuid.uuid4().hex[:12]
    st = Stack(run_dir, amqp_url=amqp_url, mongo_url=mongo_url, namespace=ns, mongo_db=ns,
               **options)
    info = st.start()
    try:
        yield info
    finally:
        codes = st.stop()
        asyncio.run(Topology(ns).delete(amqp_url))
    assert all(code == 0 for code in codes.values()), codes


HOTLINE = next(s for s in SAMPLES if s.channel == "hotline" and s.phone)


async def file_hotline_complaint(stack: StackInfo, seq: int, *, timeout: float = 60) -> str:
    """Publish one sample hotline complaint (persistent, confirmed, its call id as message
    id) and return its ticket number once intake stored it."""
    env = build_envelope(HOTLINE, seq=seq, run_id=uuid.uuid4().hex[:8], now=datetime.now(UTC))
    async with ChannelPublisher(stack.amqp_url, stack.namespace) as pub:
        await pub.publish(env)
    key = f"{env['channel']}:{env['channel_message_id']}"
    found = await wait_for_tickets(stack.mongo_url, stack.mongo_db, [key], timeout=timeout)
    return str(found[key]["_id"])
