"""Builds a report from the maintained aggregates (never from the tickets)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from suqiu.services.analytics.domain.report import Period, Report, build_report
from suqiu.services.analytics.repository import AnalyticsRepository

__all__ = ["make_report", "partitions", "period_rows"]

Tick = Callable[[str], None]


def partitions(period: Period) -> list[str]:
    """Whole months read the monthly rollup; any other range the daily documents."""
    months = period.months()
    if months:
        return [f"m|{m}" for m in months]
    return [f"d|{d.isoformat()}" for d in period.days]


def _keep(row: dict[str, Any], filters: dict[str, str]) -> bool:
    return all(row.get(k) == v for k, v in filters.items())


async def period_rows(repo: AnalyticsRepository, period: Period, filters: dict[str, str],
                      tick: Tick | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for p in partitions(period):
        rows.extend(r for r in await repo.partition(p) if _keep(r, filters))
        if tick:
            tick(p)
    return rows


async def make_report(repo: AnalyticsRepository, period: Period, filters: dict[str, str],
                      *, tick: Tick | None = None,
                      department_names: dict[str, str] | None = None) -> Report:
    """Rows of the period, the previous period and last year's; the hotspots the service
    announced during the period (kept in `analytics_hotspots`), latest window of each place."""
    cur = await period_rows(repo, period, filters, tick)
    prev = await period_rows(repo, period.previous(), filters, tick)
    last = await period_rows(repo, period.last_year(), filters, tick)
    latest: dict[tuple[str, str, str], dict[str, Any]] = {}
    for day in period.days:
        for h in await repo.hotspots(day.isoformat()):
            latest[(h["category"], h["district"], h["street"])] = h
    district = filters.get("district")
    hot = sorted((h for h in latest.values() if not district or h["district"] == district),
                 key=lambda h: (h["p_value"], -h["observed"]))
    if tick:
        tick("hotspots")
    return build_report(period, cur, prev, last, hot, filters,
                        department_names=department_names)


def steps(period: Period) -> int:
    """How many ticks make_report gives (for a progress bar)."""
    return sum(len(partitions(p)) for p in (period, period.previous(), period.last_year())) + 1
