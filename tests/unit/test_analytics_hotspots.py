"""Hotspot detection: a synthetic burst in a realistic background is found; the background
alone raises nothing."""

from __future__ import annotations

import random
from datetime import date

import pytest

from suqiu.services.analytics.domain.hotspots import HotspotPolicy, days_needed, detect, poisson_tail

pytestmark = pytest.mark.unit

POLICY = HotspotPolicy()
AS_OF = date(2026, 11, 30)
CATEGORIES = ["城乡建设", "生态环境", "交通运输", "教育文化", "劳动保障", "市场监管", "住房保障",
              "公用事业", "卫生健康", "公共安全"]
STREETS = [(f"区{d}", f"街道{d}-{s}") for d in range(12) for s in range(8)]


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method: exact for the small daily rates used here.
    limit, k, p = pow(2.718281828459045, -lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def background(seed: int) -> dict[date, dict[tuple[str, str, str], int]]:
    """Seven weeks of daily counts per category x street: skewed rates, weekday rhythm."""
    rng = random.Random(seed)
    rates = {(c, d, s): rng.choice([0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 1.5]) / (1 + i % 5)
             for i, c in enumerate(CATEGORIES) for d, s in STREETS}
    daily = {}
    for day in days_needed(AS_OF, POLICY):
        weekday = 1.2 if day.weekday() < 5 else 0.6
        daily[day] = {k: n for k, lam in rates.items() if (n := _poisson(rng, lam * weekday))}
    return daily


@pytest.mark.parametrize("seed", range(5))
def test_the_background_alone_raises_nothing(seed: int) -> None:
    assert detect(background(seed), {}, AS_OF, POLICY) == []


@pytest.mark.parametrize("seed", range(5))
def test_a_burst_in_one_street_is_found_with_its_evidence(seed: int) -> None:
    daily = background(seed)
    key = ("城乡建设", "区3", "街道3-5")
    for day in days_needed(AS_OF, POLICY)[-3:]:  # three days, 6 extra a day
        daily[day][key] = daily[day].get(key, 0) + 6
    samples = {key: ["SQ-20261130-000017", "SQ-20261128-000003"]}
    found = detect(daily, samples, AS_OF, POLICY)
    assert [(h.category, h.district, h.street) for h in found] == [key]
    h = found[0]
    assert h.observed >= 18 and h.baseline * POLICY.min_ratio <= h.observed
    assert len(h.baseline_windows) == POLICY.baseline_windows
    assert h.p_value < POLICY.alpha
    assert h.window_end == "2026-11-30" and h.window_start == "2026-11-24"
    assert h.samples == sorted(samples[key])
    assert h.event_id == "hotspot:2026-11-30:城乡建设:区3:街道3-5"


def test_threshold_is_configurable() -> None:
    daily = background(1)
    key = ("市场监管", "区1", "街道1-1")
    daily[AS_OF][key] = daily[AS_OF].get(key, 0) + 12
    assert detect(daily, {}, AS_OF, POLICY)
    assert detect(daily, {}, AS_OF, HotspotPolicy(min_count=50)) == []
    assert detect(daily, {}, AS_OF, HotspotPolicy(alpha=1e-30)) == []


def test_poisson_tail() -> None:
    assert poisson_tail(0, 3.0) == 1.0
    assert poisson_tail(1, 2.0) == pytest.approx(1 - 2.718281828459045 ** -2)
    assert poisson_tail(30, 2.0) < 1e-20
