"""Helpers for end-to-end tests: scraping /metrics, reading the store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

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
