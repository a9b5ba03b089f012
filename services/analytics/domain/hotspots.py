"""Hotspot detection (问题热点): a category in a street counted far above its own baseline.

For each (category, district, street), the valid orders of the last `window_days` days are
compared with the same-length windows before it. The count is a hotspot when, under a Poisson
model with the baseline mean (at least `floor`), seeing that many or more has probability below
`alpha`, and it is at least `min_count` and `min_ratio` times the baseline. Pure: the caller
passes the daily counts in.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from suqiu.services.analytics.domain.facts import BLANK

__all__ = ["Hotspot", "HotspotPolicy", "days_needed", "detect", "poisson_tail"]

Key = tuple[str, str, str]


@dataclass(frozen=True)
class HotspotPolicy:
    window_days: int = 7
    baseline_windows: int = 6
    alpha: float = 1e-4
    min_count: int = 8
    min_ratio: float = 2.0
    floor: float = 1.0


@dataclass(frozen=True)
class Hotspot:
    category: str
    district: str
    street: str
    window_start: str
    window_end: str
    observed: int
    baseline: float
    baseline_windows: list[int]
    p_value: float
    samples: list[str]

    @property
    def event_id(self) -> str:
        return f"hotspot:{self.window_end}:{self.category}:{self.district}:{self.street}"


def poisson_tail(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), summed upwards in log space (exact for small tails)."""
    if k <= 0:
        return 1.0
    total, i = 0.0, k
    while True:
        term = math.exp(-lam + i * math.log(lam) - math.lgamma(i + 1))
        total += term
        if i > lam and term < total * 1e-16:
            return min(1.0, total)
        i += 1


def days_needed(as_of: date, policy: HotspotPolicy) -> list[date]:
    """The local days whose counts `detect` reads, oldest first."""
    n = policy.window_days * (policy.baseline_windows + 1)
    return [as_of - timedelta(days=n - 1 - i) for i in range(n)]


def detect(daily: dict[date, dict[Key, int]], samples: dict[Key, list[str]], as_of: date,
           policy: HotspotPolicy) -> list[Hotspot]:
    """Hotspots of the window ending on `as_of`, most significant first.

    `daily[day][(category, district, street)]` = valid orders that day; `samples` holds ticket
    numbers seen in the current window per key.
    """
    w = policy.window_days
    days = days_needed(as_of, policy)
    windows: dict[Key, list[int]] = defaultdict(lambda: [0] * (policy.baseline_windows + 1))
    for i, day in enumerate(days):
        slot = i // w
        for key, n in daily.get(day, {}).items():
            windows[key][slot] += n
    found = []
    for key, counts in windows.items():
        if BLANK in (key[0], key[2]):
            continue  # no category or no street: not a place to send anyone to
        observed, history = counts[-1], counts[:-1]
        baseline = sum(history) / len(history)
        lam = max(baseline, policy.floor)
        if observed < policy.min_count or observed < policy.min_ratio * lam:
            continue
        p = poisson_tail(observed, lam)
        if p < policy.alpha:
            found.append(Hotspot(key[0], key[1], key[2], days[-w].isoformat(), as_of.isoformat(),
                                 observed, round(baseline, 3), history, p,
                                 sorted(samples.get(key, []))[:10]))
    return sorted(found, key=lambda h: (h.p_value, -h.observed, h.category, h.street))
