"""Readable ticket numbers unique across replicas: SQ-20261123-000042.

The date is the Asia/Shanghai calendar day of intake; the sequence is a per-day counter in
MongoDB incremented atomically, so any number of intake replicas never hand out one twice.
A number taken by a replica that then lost an idempotency race is simply skipped: gaps are
allowed, repeats are not.

With `block` > 1 a replica reserves that many numbers with one store command and hands them
out in order (hi/lo): one command per `block` tickets instead of one per ticket. Numbers a
replica reserved but did not use before it stopped (or before the day changed) are gaps;
with several replicas the numbers of one day interleave rather than follow arrival order.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from suqiu.shared.store import Store

__all__ = ["TicketNumbers", "format_ticket_no", "parse_ticket_no"]

_PATTERN = re.compile(r"^([A-Z]{1,6})-(\d{8})-(\d{6,})$")


def format_ticket_no(prefix: str, day: date, seq: int) -> str:
    """Compose a ticket number from its parts."""
    if seq < 1:
        raise ValueError("sequence starts at 1")
    return f"{prefix}-{day:%Y%m%d}-{seq:06d}"


def parse_ticket_no(ticket_no: str) -> tuple[str, date, int]:
    """Split a ticket number into prefix, day and sequence; ValueError when malformed."""
    m = _PATTERN.match(ticket_no)
    if not m:
        raise ValueError(f"not a ticket number: {ticket_no!r}")
    day = datetime.strptime(m.group(2), "%Y%m%d").date()
    return m.group(1), day, int(m.group(3))


class TicketNumbers:
    """Allocates ticket numbers from the store's per-day counters."""

    def __init__(self, store: Store, prefix: str = "SQ", tz: str = "Asia/Shanghai",
                 block: int = 1) -> None:
        if block < 1:
            raise ValueError("block must be >= 1")
        self._store = store
        self._prefix = prefix
        self._tz = ZoneInfo(tz)
        self._block = block
        self._lock = asyncio.Lock()
        self._day: date | None = None
        self._next = self._last = 0

    async def allocate(self, now: datetime) -> str:
        day = now.astimezone(self._tz).date()
        async with self._lock:
            if day != self._day or self._next > self._last:
                last = await self._store.next_sequence(
                    f"ticket_no:{self._prefix}:{day:%Y%m%d}", self._block)
                self._day, self._next, self._last = day, last - self._block + 1, last
            seq = self._next
            self._next += 1
        return format_ticket_no(self._prefix, day, seq)
