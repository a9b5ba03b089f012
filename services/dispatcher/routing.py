"""Routing rules (operator YAML): category x region x keywords -> lead + co-handling departments.

Rules are tried by descending `priority`, then by specificity (how many of category, region
and keywords they constrain), then in file order; the first that matches wins. When none
matches, the `default` applies: `classifier` (the classifier's department) or `triage`.
Orders below the confidence threshold, or flagged by the classifier, go to triage.
The file is validated against the catalogue at start-up: an unknown department stops the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import structlog
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from suqiu.shared.catalogue import Catalogue
from suqiu.shared.contracts import WorkOrder

__all__ = ["Route", "RoutingError", "RoutingRule", "RoutingRules", "load_routing", "resolve"]

log = structlog.get_logger(__name__)


class RoutingError(Exception):
    """The routing file is missing, malformed, or names unknown departments."""


class _Cfg(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RoutingRule(_Cfg):
    name: str = Field(min_length=1)
    category: str | None = Field(default=None, description="Category or subcategory (name or code).")
    district: str | None = None
    keywords_any: list[str] = Field(default_factory=list)
    lead: str
    co: list[str] = Field(default_factory=list, description="Co-handling departments (协办).")
    alternates: list[str] = Field(
        default_factory=list, description="Next candidates when the lead returns the order.")
    priority: int = 0

    @property
    def specificity(self) -> int:
        return sum((self.category is not None, self.district is not None, bool(self.keywords_any)))


class RoutingRules(_Cfg):
    profile: str | None = Field(
        default=None, description="The catalogue profile the rules are written for.")
    default: Literal["classifier", "triage"] = "classifier"
    confidence_threshold: float | None = Field(
        default=None, ge=0, le=1,
        description="Below this the order waits in triage; None = the catalogue's threshold.")
    rules: list[RoutingRule] = Field(default_factory=list)

    def validated(self, catalogue: Catalogue) -> RoutingRules:
        """Self, once every department named resolves in the catalogue; else RoutingError."""
        known = {d.id for d in catalogue.departments}
        bad = [f"rule {r.name!r}: unknown department {d!r}"
               for r in self.rules for d in (r.lead, *r.co, *r.alternates) if d not in known]
        if bad:
            raise RoutingError("; ".join(bad))
        return self


@dataclass(frozen=True)
class Route:
    """Where an order goes: the lead, its co-handlers, the candidates after a return."""

    lead: str
    co: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    rule: str = "default"
    triage: bool = False


def _matches(rule: RoutingRule, order: WorkOrder) -> bool:
    c = order.classification
    assert c is not None
    if rule.category is not None and rule.category not in {c.category, c.subcategory}:
        return False
    if rule.district is not None and rule.district != c.region.district:
        return False
    return not rule.keywords_any or any(k in order.analysis_text for k in rule.keywords_any)


def resolve(order: WorkOrder, rules: RoutingRules, catalogue: Catalogue) -> Route:
    """The route of a classified order (pure)."""
    c = order.classification
    if c is None:
        raise ValueError("cannot route an unclassified order")
    known = {d.id for d in catalogue.departments}
    threshold = (rules.confidence_threshold if rules.confidence_threshold is not None
                 else catalogue.classifier.triage_threshold)
    top = tuple(d for d, _ in c.department_top if d in known and d != c.department)
    if c.needs_triage or c.confidence < threshold:
        return Route(catalogue.triage_department, rule="low_confidence", triage=True)
    ordered = sorted(enumerate(rules.rules), key=lambda ir: (-ir[1].priority,
                                                            -ir[1].specificity, ir[0]))
    for _, rule in ordered:
        if _matches(rule, order):
            return Route(rule.lead, tuple(rule.co), tuple(rule.alternates) + top, rule.name)
    if rules.default == "classifier" and c.department in known:
        return Route(c.department, candidates=top)
    return Route(catalogue.triage_department, rule="default", triage=True)


def load_routing(path: Path | None, catalogue: Catalogue) -> RoutingRules:
    """Read and validate the routing file; no file configured means the default only."""
    if path is None:
        return RoutingRules()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RoutingError(f"cannot read routing rules {path}: {exc}") from exc
    try:
        rules = RoutingRules.model_validate(data)
    except ValidationError as exc:
        raise RoutingError(f"invalid routing rules {path}: {exc}") from exc
    if rules.profile is not None and rules.profile != catalogue.profile:
        # Rules for another catalogue (e.g. the hotline's under the property profile): their
        # department ids mean nothing here, so only the default applies.
        log.warning("routing_rules_skipped", path=str(path), rules_profile=rules.profile,
                    catalogue_profile=catalogue.profile)
        return RoutingRules(default=rules.default)
    return rules.validated(catalogue)
