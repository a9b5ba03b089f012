"""SLA policies and deadline arithmetic, shared by the dispatcher and the SLA monitor.

`deadlines_for` (the dispatcher's stamp at dispatch) keeps its calendar-hour behaviour on the
catalogue's `sla` table. The SLA monitor uses the operator's policy file
(deploy/config/sla.yaml): rules per severity / level / channel / category, each with clocks for
sign-for (签收), first response (首次答复), resolution (办结) and revisit (回访), counted in
calendar hours or in working time on the business calendar (shared/calendar.py), with pauses.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.calendar import BusinessCalendar
from shared.catalogue import SlaPolicy
from shared.contracts import Severity, SlaDeadlines
from shared.resources import default_config

__all__ = [
    "STEPS",
    "EscalationPolicy",
    "SlaPolicies",
    "SlaRule",
    "StepLimit",
    "UrgingPolicy",
    "add_hours",
    "deadlines_for",
    "due_after",
    "load_policies",
    "warning_time",
]

STEPS: tuple[str, ...] = ("sign_for", "first_response", "resolution", "revisit")
Basis = Literal["calendar", "working"]
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POLICY_PATH = default_config("sla.yaml")


def add_hours(start: datetime, hours: float) -> datetime:
    """`hours` of calendar time after `start`."""
    return start + timedelta(hours=hours)


def deadlines_for(severity: Severity, start: datetime,
                  policies: dict[str, SlaPolicy]) -> SlaDeadlines:
    """Sign-for and resolution deadlines of an order dispatched at `start` (calendar hours)."""
    policy = policies[severity.value]
    return SlaDeadlines(
        policy=severity.value,
        sign_for_due=add_hours(start, policy.sign_for_hours),
        resolution_due=add_hours(start, policy.resolution_hours),
        warn_ratio=policy.warn_ratio,
    )


def warning_time(start: datetime, due: datetime, ratio: float) -> datetime:
    """The moment `ratio` of the time between `start` and `due` has passed (预警)."""
    return start + (due - start) * ratio


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepLimit(_Cfg):
    """One step's limit: `hours` of calendar time, or of working time on the calendar."""

    hours: float = Field(gt=0)
    basis: Basis = "calendar"


class Match(_Cfg):
    """Empty lists match anything; `category` matches a code or its prefix (e.g. "11")."""

    severity: list[str] = Field(default_factory=list)
    level: list[str] = Field(default_factory=list)
    channel: list[str] = Field(default_factory=list)
    category: list[str] = Field(default_factory=list)


class SlaRule(_Cfg):
    name: str
    match: Match = Field(default_factory=Match)
    steps: dict[str, StepLimit]
    warn_ratio: float | None = Field(default=None, gt=0, lt=1)

    @model_validator(mode="after")
    def _known_steps(self) -> SlaRule:
        unknown = set(self.steps) - set(STEPS)
        if unknown:
            raise ValueError(f"rule {self.name}: unknown steps {sorted(unknown)}")
        return self


class EscalationPolicy(_Cfg):
    """After a breach: level 1 to the department's supervisor, level 2 to the leadership."""

    after_hours: list[float] = Field(default_factory=lambda: [2.0, 24.0])
    leadership: str = "leadership"


class UrgingPolicy(_Cfg):
    """催办 after a breach: first after `first_after_hours`, each gap `decay` times longer."""

    first_after_hours: float = Field(default=1.0, gt=0)
    decay: float = Field(default=2.0, ge=1)
    max_count: int = Field(default=4, ge=0, le=20)


class SlaPolicies(_Cfg):
    warn_ratio: float = Field(default=0.9, gt=0, lt=1)
    announce_steps: list[str] = Field(default_factory=lambda: ["sign_for", "resolution"])
    escalation: EscalationPolicy = Field(default_factory=EscalationPolicy)
    urging: UrgingPolicy = Field(default_factory=UrgingPolicy)
    upgrade_to_major_after_days: float = Field(
        default=30, gt=0, description="A valid order unresolved this long becomes major.")
    upgrade_important_after_days: float = Field(
        default=90, gt=0, description="An important order open this long becomes major.")
    profiles: dict[str, list[SlaRule]]

    @model_validator(mode="after")
    def _rules(self) -> SlaPolicies:
        for name, rules in self.profiles.items():
            if not rules:
                raise ValueError(f"profile {name}: no rules")
            if any(r.match != Match() for r in rules[-1:]):
                raise ValueError(f"profile {name}: the last rule must match everything")
        bad = set(self.announce_steps) - set(STEPS)
        if bad:
            raise ValueError(f"announce_steps: unknown {sorted(bad)}")
        return self

    def rule_for(self, profile: str, *, severity: str, level: str | None = None,
                 channel: str | None = None, category: str | None = None) -> SlaRule:
        """The first rule of the profile that matches (unknown profile: the first profile)."""
        rules = self.profiles.get(profile) or next(iter(self.profiles.values()))
        for rule in rules:
            m = rule.match
            if m.severity and severity not in m.severity:
                continue
            if m.level and level not in m.level:
                continue
            if m.channel and channel not in m.channel:
                continue
            if m.category and not (category and any(category.startswith(c) for c in m.category)):
                continue
            return rule
        return rules[-1]

    def warn_ratio_of(self, rule: SlaRule) -> float:
        return rule.warn_ratio or self.warn_ratio


def load_policies(path: str | Path | None = None) -> SlaPolicies:
    p = Path(path) if path else DEFAULT_POLICY_PATH
    return SlaPolicies.model_validate(yaml.safe_load(p.read_text(encoding="utf-8")))


def _elapsed(a: datetime, b: datetime, basis: Basis, cal: BusinessCalendar) -> timedelta:
    return cal.working_time_between(a, b) if basis == "working" else max(b - a, timedelta(0))


def _add(a: datetime, d: timedelta, basis: Basis, cal: BusinessCalendar) -> datetime:
    return cal.add_working_time(a, d) if basis == "working" else a + d


def due_after(start: datetime, limit: StepLimit, cal: BusinessCalendar,
              pauses: Iterable[tuple[datetime, datetime | None]] = (),
              extra: timedelta = timedelta(0)) -> datetime | None:
    """The deadline of a clock started at `start` that stops during `pauses`.

    A pause without an end (still suspended) means no deadline yet: None. Pauses before
    `start` are ignored; overlapping ones are merged by walking in order. `extra` lengthens the
    limit (in the same basis).
    """
    remaining = timedelta(hours=limit.hours) + extra
    cursor = start
    for p_start, p_end in sorted(pauses, key=lambda p: p[0]):
        if p_end is not None and p_end <= cursor:
            continue
        if p_start > cursor:
            run = _elapsed(cursor, p_start, limit.basis, cal)
            if run >= remaining:
                return _add(cursor, remaining, limit.basis, cal)
            remaining -= run
        if p_end is None:
            return None
        cursor = max(cursor, p_end)
    return _add(cursor, remaining, limit.basis, cal)
