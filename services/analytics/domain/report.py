"""The monthly report's figures from aggregate rows: totals, rates, league table, top lists.

Pure: rows are the aggregate documents of a period (dimension fields and counters); every
rate is a ratio of two counters, defined once in RATES (docs/reports.md explains each).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from suqiu.services.analytics.domain.facts import COUNTERS

__all__ = ["RATES", "Period", "Report", "Table", "build_report", "period_for", "totals"]

# name -> (numerator counters, denominator counters, label)
RATES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "on_time_sign": (("signed_on_time",), ("signed",), "按时签收率"),
    "on_time_answer": (("replied_on_time",), ("replied",), "按时答复率"),
    "resolution": (("resolved",), ("dispatched",), "办结率"),
    "on_time_resolution": (("resolved_on_time",), ("resolved",), "按时办结率"),
    "extension": (("extended",), ("dispatched",), "延期率"),
    "return": (("returned",), ("dispatched",), "退单率"),
    "reopen": (("reopened",), ("replied",), "重办率"),
    "satisfaction": (("sat_very", "sat_yes", "sat_basic"),
                     ("sat_very", "sat_yes", "sat_basic", "sat_no"), "满意率"),
    "valid_share": (("valid",), ("received",), "有效工单占比"),
}
LABELS: dict[str, str] = {
    "received": "受理量", "valid": "有效工单", "invalid": "无效工单", "dispatched": "派单次数",
    "signed": "签收", "signed_on_time": "按时签收", "replied": "答复(回单)",
    "replied_on_time": "按时答复", "resolved": "办结", "resolved_on_time": "按时办结",
    "extended": "延期", "returned": "退单", "transferred": "转派", "reopened": "重办",
    "sat_very": "非常满意", "sat_yes": "满意", "sat_basic": "基本满意", "sat_no": "不满意",
    "repeat": "重复诉求",
}

CHANNEL_NAMES: dict[str, str] = {
    "hotline": "热线", "web": "网站", "wechat": "微信", "app": "应用", "email": "电子邮件",
    "sms": "短信", "letter": "信函", "walk_in": "来访", "transfer": "上级转办", "fax": "传真",
    "oa": "内部OA"}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    label: str
    kind: str = "range"  # month | week | range

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def months(self) -> list[str] | None:
        """The calendar months this period is made of exactly, else None."""
        if self.start.day != 1 or self.end.day != calendar.monthrange(self.end.year, self.end.month)[1]:
            return None
        out, d = [], self.start
        while d <= self.end:
            out.append(f"{d.year:04d}-{d.month:02d}")
            d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        return out

    def previous(self) -> Period:
        if self.kind == "month":
            return period_for(month=f"{(self.start - timedelta(days=1)):%Y-%m}")
        n = (self.end - self.start).days + 1
        return Period(self.start - timedelta(days=n), self.start - timedelta(days=1),
                      "上期", self.kind)

    def last_year(self) -> Period:
        if self.kind == "month":
            return period_for(month=f"{self.start.year - 1:04d}-{self.start.month:02d}")
        shift = timedelta(days=364 if self.kind == "week" else 365)
        return Period(self.start - shift, self.end - shift, "去年同期", self.kind)


def period_for(*, month: str | None = None, week: str | None = None,
               start: date | None = None, end: date | None = None) -> Period:
    """`month` YYYY-MM, `week` YYYY-Www (ISO), or `start`..`end` inclusive."""
    if month:
        y, m = (int(x) for x in month.split("-"))
        return Period(date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1]), f"{y}年{m}月", "month")
    if week:
        year, wk = week.upper().split("-W")
        first = date.fromisocalendar(int(year), int(wk), 1)
        return Period(first, first + timedelta(days=6), f"{year}年第{int(wk)}周", "week")
    if start is None or end is None or end < start:
        raise ValueError("give a month, a week, or a start no later than the end")
    return Period(start, end, f"{start.isoformat()} 至 {end.isoformat()}")


def totals(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    out = dict.fromkeys(COUNTERS, 0)
    for r in rows:
        for c in COUNTERS:
            out[c] += int(r.get(c, 0) or 0)
    return out


def rate(t: dict[str, int], name: str) -> float | None:
    num, den, _ = RATES[name]
    d = sum(t.get(c, 0) for c in den)
    return None if d == 0 else sum(t.get(c, 0) for c in num) / d


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class Report:
    period: Period
    filters: dict[str, str]
    totals: dict[str, dict[str, int]]  # current / previous / last_year -> counter -> n
    rates: dict[str, dict[str, float | None]]
    league: Table
    categories: Table
    regions: Table
    channels: Table
    hotspots: Table


def _group(rows: list[dict[str, Any]], dim: str) -> dict[str, dict[str, int]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[str(r.get(dim, "-"))].append(r)
    return {k: totals(v) for k, v in groups.items()}


def _top(title: str, dim: str, cur: list[dict[str, Any]], prev: list[dict[str, Any]],
         counter: str, n: int) -> Table:
    now, before = _group(cur, dim), _group(prev, dim)
    total = sum(t[counter] for t in now.values()) or 1
    ranked = sorted(((k, t) for k, t in now.items() if t[counter] and k != "-"),
                    key=lambda kv: (-kv[1][counter], kv[0]))[:n]
    rows = [[k, t[counter], t[counter] / total, before.get(k, {}).get(counter, 0)] for k, t in ranked]
    return Table(title, ["名称", LABELS[counter], "占比", "上期"], rows)


def build_report(period: Period, cur: list[dict[str, Any]], prev: list[dict[str, Any]],
                 last_year: list[dict[str, Any]], hotspots: list[dict[str, Any]],
                 filters: dict[str, str], top_n: int = 10,
                 department_names: dict[str, str] | None = None) -> Report:
    """Every figure of the report; rows are already filtered."""
    names = department_names or {}
    t = {"current": totals(cur), "previous": totals(prev), "last_year": totals(last_year)}
    rates = {k: {name: rate(v, name) for name in RATES} for k, v in t.items()}
    league = Table("部门排名", ["部门", "派单", *(RATES[r][2] for r in (
        "on_time_sign", "on_time_answer", "resolution", "extension", "return", "reopen",
        "satisfaction"))])
    for dept, dt in sorted(_group(cur, "department").items()):
        if dept == "-" or not dt["dispatched"]:
            continue
        league.rows.append([names.get(dept, dept), dt["dispatched"], *(rate(dt, r) for r in (
            "on_time_sign", "on_time_answer", "resolution", "extension", "return", "reopen",
            "satisfaction"))])
    league.rows.sort(key=lambda r: (-(r[8] if r[8] is not None else -1),
                                    -(r[2] if r[2] is not None else -1), r[0]))
    hot = Table("问题热点", ["窗口", "类别", "区县", "街道", "本期", "基线(均值)", "p值", "样例工单"],
                [[f"{h['window_start']}~{h['window_end']}", h["category"], h["district"],
                  h["street"], h["observed"], f"{h['baseline']:.2f}", f"{h['p_value']:.1e}",
                  " ".join(h["sample_tickets"][:5])] for h in hotspots])
    channels = _top("渠道", "channel", cur, prev, "received", 20)
    channels.rows = [[CHANNEL_NAMES.get(r[0], r[0]), *r[1:]] for r in channels.rows]
    return Report(period, filters, t, rates, league,
                  _top("类别排行", "category", cur, prev, "valid", top_n),
                  _top("区域排行", "district", cur, prev, "valid", top_n), channels, hot)
