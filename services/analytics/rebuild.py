"""Recomputes the aggregates of a period from the orders (offline: it scans) and compares
them with the maintained ones, or replaces them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from suqiu.services.analytics.domain.facts import COUNTERS, Fact, Limits, dims_of, order_facts
from suqiu.services.analytics.domain.keys import increments
from suqiu.services.analytics.domain.report import Period
from suqiu.services.analytics.repository import AnalyticsRepository

__all__ = ["compare", "rebuild", "rebuild_partitions"]


def rebuild_partitions(period: Period) -> list[str]:
    days = [f"{k}|{d.isoformat()}" for d in period.days for k in ("d", "h")]
    return days + [f"m|{m}" for m in period.months() or []]


async def rebuild(repo: AnalyticsRepository, period: Period, limits: Limits, *,
                  lookback_days: int = 120,
                  tick: Callable[[int], None] | None = None) -> dict[str, dict[str, Any]]:
    """The aggregate documents of the period's partitions, recomputed from the orders received
    from `lookback_days` before it to its end (facts dated inside the period count)."""
    start = datetime.combine(period.start, time.min, limits.tz)
    end = datetime.combine(period.end + timedelta(days=1), time.min, limits.tz)
    wanted = set(rebuild_partitions(period))
    facts: list[Fact] = []
    in_period = {d.isoformat() for d in period.days}
    n = 0
    async for order in repo.orders_received(start - timedelta(days=lookback_days), end):
        facts.extend(f for f in order_facts(order, limits) if f.day in in_period)
        n += 1
        if tick and n % 1000 == 0:
            tick(1000)
    for link in await repo.linked_between(start, end):
        order = await repo.order(link["ticket_no"])
        if order is not None:
            day = link["linked_at"].astimezone(limits.tz).date().isoformat()
            facts.append(Fact(day, dims_of(order), "repeat", order.ticket_no))
    docs: dict[str, dict[str, Any]] = {}
    for _id, inc in increments(facts).items():
        if inc.partition not in wanted:
            continue
        doc = {"_id": _id, "p": inc.partition, **inc.dims, **inc.counters}
        if inc.samples:
            doc |= {"sample_lo": min(inc.samples), "sample_hi": max(inc.samples)}
        docs[_id] = doc
    return docs


async def compare(repo: AnalyticsRepository, period: Period,
                  rebuilt: dict[str, dict[str, Any]]) -> list[tuple[str, str, int, int]]:
    """(document, counter, maintained, rebuilt) for every counter that differs."""
    maintained: dict[str, dict[str, Any]] = {}
    for p in rebuild_partitions(period):
        for d in await repo.partition(p):
            maintained[d["_id"]] = d
    diffs = []
    for _id in sorted(set(maintained) | set(rebuilt)):
        a, b = maintained.get(_id, {}), rebuilt.get(_id, {})
        for c in COUNTERS:
            x, y = int(a.get(c, 0) or 0), int(b.get(c, 0) or 0)
            if x != y:
                diffs.append((_id, c, x, y))
    return diffs
