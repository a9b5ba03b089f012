"""The SLA policy file (deploy/config/sla.yaml): the one source of every step's time limit.

Rules per profile, tried in order (severity / level / channel / category code), each with
clocks for the steps below, counted in calendar hours or in working time on the business
calendar. `version` identifies the file's content, so an order records which policy produced
its deadlines.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from suqiu.shared.errors import ConfigError
from suqiu.shared.resources import default_config

__all__ = [
    "ANNOUNCED_KINDS",
    "DEFAULT_POLICY_PATH",
    "STEPS",
    "EscalationPolicy",
    "Match",
    "SlaPolicies",
    "SlaRule",
    "StepLimit",
    "UrgingPolicy",
    "load_policies",
]

# triage      人工分拨    from entering triage (low confidence, every department returned it)
# callback    无效回访    from intake finding the order invalid to the call-back
# sign_for    签收        from (re-)dispatch or transfer to the department signing for it
# first_response 首次答复 from intake to the department's first reply
# resolution  办结        from the first dispatch of the round to the department's reply
# feedback    反馈        from the department's reply to the centre telling the complainant
# revisit     回访        from the reply to the closing revisit
STEPS: tuple[str, ...] = ("triage", "callback", "sign_for", "first_response", "resolution",
                          "feedback", "revisit")
ANNOUNCED_KINDS = ("warning", "breach", "escalation", "urge")
Basis = Literal["calendar", "working"]
DEFAULT_POLICY_PATH = default_config("sla.yaml")


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepLimit(_Cfg):
    """One step's limit: `hours` of calendar time, or of working time on the calendar."""

    hours: float = Field(gt=0)
    basis: Basis = "calendar"


class Match(_Cfg):
    """Empty lists match anything; `category` matches a category code or its prefix."""

    severity: list[str] = Field(default_factory=list)
    level: list[str] = Field(default_factory=list)
    channel: list[str] = Field(default_factory=list)
    category: list[str] = Field(default_factory=list)


def _check_steps(where: str, steps: dict[str, StepLimit]) -> None:
    unknown = set(steps) - set(STEPS)
    if unknown:
        raise ValueError(f"{where}: unknown steps {sorted(unknown)} (known: {list(STEPS)})")


class SlaRule(_Cfg):
    name: str
    match: Match = Field(default_factory=Match)
    steps: dict[str, StepLimit]
    warn_ratio: float | None = Field(default=None, gt=0, lt=1)

    @model_validator(mode="after")
    def _known_steps(self) -> SlaRule:
        _check_steps(f"rule {self.name}", self.steps)
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
    version: str = Field(default="", description="Content hash of the file (set on load).")
    warn_ratio: float = Field(default=0.9, gt=0, lt=1)
    announce_steps: list[str] = Field(default_factory=lambda: list(STEPS))
    escalate_steps: list[str] = Field(default_factory=lambda: ["sign_for", "resolution"])
    step_defaults: dict[str, StepLimit] = Field(
        default_factory=dict, description="Limits of steps a rule does not give itself.")
    escalation: EscalationPolicy = Field(default_factory=EscalationPolicy)
    urging: UrgingPolicy = Field(default_factory=UrgingPolicy)
    upgrade_to_major_after_days: float = Field(
        default=30, gt=0, description="A valid order unresolved this long becomes major.")
    upgrade_important_after_days: float = Field(
        default=90, gt=0, description="An important order open this long becomes major.")
    profiles: dict[str, list[SlaRule]]

    @model_validator(mode="after")
    def _rules(self) -> SlaPolicies:
        _check_steps("step_defaults", self.step_defaults)
        for name, rules in self.profiles.items():
            if not rules:
                raise ValueError(f"profile {name}: no rules")
            if any(r.match != Match() for r in rules[-1:]):
                raise ValueError(f"profile {name}: the last rule must match everything")
            for r in rules:
                missing = {"sign_for", "resolution"} - set(r.steps) - set(self.step_defaults)
                if missing:
                    raise ValueError(f"profile {name} rule {r.name}: no limit for "
                                     f"{sorted(missing)}")
        for key in ("announce_steps", "escalate_steps"):
            bad = set(getattr(self, key)) - set(STEPS)
            if bad:
                raise ValueError(f"{key}: unknown {sorted(bad)}")
        return self

    def rule_for(self, profile: str, *, severity: str, level: str | None = None,
                 channel: str | None = None,
                 category: str | tuple[str, ...] | None = None) -> SlaRule:
        """The first rule of the profile that matches (unknown profile: the first profile).

        `category` is the order's category code (e.g. `urban_construction`), or its category
        and subcategory codes; a rule's entry matches one of them exactly or as a prefix.
        """
        codes = (category,) if isinstance(category, str) else tuple(category or ())
        rules = self.profiles.get(profile) or next(iter(self.profiles.values()))
        for rule in rules:
            m = rule.match
            if m.severity and severity not in m.severity:
                continue
            if m.level and level not in m.level:
                continue
            if m.channel and channel not in m.channel:
                continue
            if m.category and not any(k.startswith(c) for k in codes for c in m.category):
                continue
            return rule
        return rules[-1]

    def limit(self, rule: SlaRule, step: str) -> StepLimit | None:
        return rule.steps.get(step) or self.step_defaults.get(step)

    def warn_ratio_of(self, rule: SlaRule) -> float:
        return rule.warn_ratio or self.warn_ratio


def load_policies(path: str | Path | None = None) -> SlaPolicies:
    """Read and validate the policy file; any problem is a ConfigError naming the file."""
    p = Path(path) if path else DEFAULT_POLICY_PATH
    try:
        raw = p.read_bytes()
        data = yaml.safe_load(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(str(p), f"cannot read the SLA policy file: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(str(p), "the SLA policy file must be a mapping")
    version = "sla-" + hashlib.sha256(raw).hexdigest()[:12]
    try:
        return SlaPolicies.model_validate(data | {"version": data.get("version") or version})
    except ValidationError as exc:
        raise ConfigError(str(p), f"invalid SLA policy: {exc}") from exc
