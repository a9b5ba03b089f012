"""The one background loop every service's periodic work runs in (timer scans, retries due,
outbox sweeps, hotspot detection, retention).

A pass that fails is logged (error type and a short detail) and retried after the interval:
a background task must outlive a store outage. A pass that did a full batch is followed at
once by the next, since more work is probably waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

__all__ = ["repeat"]

log = structlog.get_logger(__name__)


async def repeat(work: Callable[[], Awaitable[int | None]], *, interval_s: float,
                 failure_event: str, batch: int | None = None) -> None:
    """Run `work` until cancelled. `work` returns how much it did; when that reaches `batch`
    the next pass starts at once, otherwise after `interval_s`."""
    while True:
        try:
            done = await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(failure_event, error=type(exc).__name__, detail=str(exc)[:300])
            done = 0
        if batch is None or (done or 0) < batch:
            await asyncio.sleep(interval_s)
