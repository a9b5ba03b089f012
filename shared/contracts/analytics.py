"""Events the analytics service emits on `<ns>.events` (routing key = type)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from suqiu.shared.contracts.common import Contract

__all__ = ["AnalyticsHotspot"]


class AnalyticsHotspot(Contract):
    """A category in a street (问题热点) rose significantly above its own baseline.

    `event_id` is `hotspot:<window_end>:<category>:<district>:<street>`, so one hotspot of one
    window is one event however often detection runs; consumers deduplicate on it.
    """

    type: Literal["analytics.hotspot"] = "analytics.hotspot"
    schema_version: Literal[1] = 1
    event_id: str = Field(min_length=1, max_length=300)
    occurred_at: AwareDatetime
    window_start: str = Field(description="First local day of the observed window (YYYY-MM-DD).")
    window_end: str = Field(description="Last local day of the observed window (YYYY-MM-DD).")
    category: str
    district: str
    street: str
    observed: int = Field(ge=0, description="Valid orders in the window.")
    baseline: float = Field(ge=0, description="Mean of the same-length windows before it.")
    baseline_windows: list[int] = Field(description="Counts of those windows, oldest first.")
    p_value: float = Field(ge=0, le=1, description="P(X >= observed) under Poisson(baseline).")
    sample_tickets: list[str] = Field(default_factory=list, max_length=20)
