"""Bounded polling for integration tests: wait for a queue message or a condition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

__all__ = ["TIMEOUT", "get_message", "wait_for"]

T = TypeVar("T")
TIMEOUT = 10.0


async def get_message(queue: AbstractQueue, *, no_ack: bool = True,
                      timeout: float = TIMEOUT) -> AbstractIncomingMessage | None:
    """The next message of `queue`, waiting up to `timeout` for one to arrive."""
    deadline = time.monotonic() + timeout
    while True:
        msg = await queue.get(no_ack=no_ack, fail=False)
        if msg is not None or time.monotonic() >= deadline:
            return msg
        await asyncio.sleep(0.05)


async def wait_for(probe: Callable[[], Awaitable[T]], *, timeout: float = TIMEOUT,
                   interval: float = 0.05) -> T:
    """Call `probe` until it returns something truthy; its last result after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result or time.monotonic() >= deadline:
            return result
        await asyncio.sleep(interval)
