"""Where facts are counted: aggregate documents keyed by `_id`, grouped in partitions `p`.

Three rollups, each a small document per key, found by equality on the indexed partition:
- `d|<day>|<category>|<subcategory>|<department>|<district>|<street>|<channel>|<severity>`
  (p = `d|<day>`): the full daily grain, for any day range and for the rebuild check;
- `m|<month>|<category>|<department>|<district>|<channel>` (p = `m|<month>`): whole-month
  reports read a few thousand of these instead of a month of daily documents;
- `h|<day>|<category>|<district>|<street>` (p = `h|<day>`): valid orders per category and
  street for hotspot detection, with the smallest and largest ticket number as samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from suqiu.services.analytics.domain.facts import Dims, Fact

__all__ = ["DAY_FIELDS", "HOT_FIELDS", "MONTH_FIELDS", "Increment", "increments"]

DAY_FIELDS = ("category", "subcategory", "department", "district", "street", "channel", "severity")
MONTH_FIELDS = ("category", "department", "district", "channel")
HOT_FIELDS = ("category", "district", "street")


@dataclass
class Increment:
    """What one aggregate document gains: counters, its partition and dimension fields."""

    partition: str
    dims: dict[str, str]
    counters: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)


def _key(kind: str, period: str, dims: Dims, fields: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    values = {f: getattr(dims, f) for f in fields}
    return "|".join([kind, period, *values.values()]), values


def increments(facts: list[Fact]) -> dict[str, Increment]:
    """The facts grouped into per-document increments (one `$inc` per document)."""
    out: dict[str, Increment] = {}

    def bump(kind: str, period: str, f: Fact, fields: tuple[str, ...], sample: bool = False) -> None:
        _id, values = _key(kind, period, f.dims, fields)
        inc = out.setdefault(_id, Increment(f"{kind}|{period}", values))
        inc.counters[f.counter] = inc.counters.get(f.counter, 0) + 1
        if sample:
            inc.samples.append(f.ticket_no)

    for f in facts:
        bump("d", f.day, f, DAY_FIELDS)
        bump("m", f.day[:7], f, MONTH_FIELDS)
        if f.counter == "valid":
            bump("h", f.day, f, HOT_FIELDS, sample=True)
    return out
