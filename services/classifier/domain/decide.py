"""Category and department: operator keyword rules with precedence over the trained model.

1. The catalogue's keyword rules score every subcategory (`categories.match_category`). When
   their confidence reaches `classifier.keyword_precedence`, the rule decides category and
   department: the operator's word is final (so do the dispatcher's routing rules, later).
2. Otherwise the model decides the first-level category (calibrated probability = confidence)
   and the subcategory within it. The department is the department head's choice with its
   calibrated probability when the model has one; else the catalogue's routing of the
   category (a model without a department head).
3. The order needs manual triage when the category confidence is below the category threshold,
   when the head's department confidence is below the department threshold, or when the head
   chose a department the catalogue does not know (it cannot be dispatched). The thresholds are
   the ones stored with the model (`meta.thresholds`, chosen by `suqiu train --target-precision`),
   else the catalogue's `classifier.triage_threshold`.
Without a model, or with a model trained on another catalogue's categories, the rules alone
decide, as before the model existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from suqiu.services.classifier.domain.categories import match_category
from suqiu.services.classifier.domain.model import TextModel
from suqiu.shared.catalogue import Catalogue, Category

__all__ = ["Decision", "Thresholds", "decide", "thresholds"]

Source = Literal["rule", "model", "none"]


@dataclass(frozen=True)
class Decision:
    category: str
    subcategory: str | None
    department: str
    confidence: float
    needs_triage: bool
    decided_by: Source
    category_scores: list[tuple[str, float]]  # every first-level category, best first
    department_top: list[tuple[str, float]]  # up to three
    keywords: tuple[str, ...]
    model_version: str | None
    department_confidence: float | None = None  # the department head's, when it decided


@dataclass(frozen=True)
class Thresholds:
    category: float
    department: float
    source: Literal["model", "catalogue"]


def thresholds(model: TextModel | None, catalogue: Catalogue) -> Thresholds:
    """The triage thresholds: stored with the model when it has them (one truth), else the
    catalogue's `classifier.triage_threshold`."""
    default = catalogue.classifier.triage_threshold
    stored = (model.meta.get("thresholds") if model is not None else None) or {}
    cat, dept = stored.get("category"), stored.get("department")
    if cat is None and dept is None:
        return Thresholds(default, default, "catalogue")
    return Thresholds(float(cat if cat is not None else default),
                      float(dept if dept is not None else default), "model")


def _category(catalogue: Catalogue, name: str) -> Category | None:
    return next((c for c in catalogue.categories if c.name == name), None)


def _route(catalogue: Catalogue, category: str, subcategory: str | None) -> str | None:
    cat = _category(catalogue, category)
    if cat is None:
        return None
    sub = next((s for s in cat.subcategories if s.name == subcategory), None)
    return (sub.department if sub and sub.department else None) or cat.department


def _all_categories(scores: list[tuple[str, float]], catalogue: Catalogue
                    ) -> list[tuple[str, float]]:
    """Model scores completed with every catalogue category (0 when the model lacks it)."""
    seen = {name for name, _ in scores}
    full = list(scores) + [(c.name, 0.0) for c in catalogue.categories if c.name not in seen]
    return sorted(((n, round(p, 4)) for n, p in full), key=lambda kv: -kv[1])


def _fits(model: TextModel, catalogue: Catalogue) -> bool:
    """A model trained for another catalogue (no category in common) is not used."""
    head = model.heads.get("category")
    return head is None or any(c.name in head.labels for c in catalogue.categories)


def _department_triage(department: str, confidence: float, catalogue: Catalogue,
                       limits: Thresholds) -> bool:
    """Below the department threshold, or a department the catalogue cannot dispatch to."""
    return confidence < limits.department or department not in {d.id for d in
                                                                  catalogue.departments}


def decide(text: str, catalogue: Catalogue, model: TextModel | None) -> Decision:
    """Category, subcategory, department and confidence for one complaint text."""
    policy = catalogue.classifier
    rule = match_category(text, catalogue)
    if model is not None and not _fits(model, catalogue):
        model = None
    limits = thresholds(model, catalogue)
    if model is None:
        conf = rule.confidence
        scores = _all_categories([(rule.category, conf)] if rule.keywords else [], catalogue)
        return Decision(rule.category, rule.subcategory, rule.department, conf,
                        conf < limits.category, "rule" if rule.keywords else "none",
                        scores, [(rule.department, conf)], rule.keywords, None)
    pred = model.predict(text)
    cat_scores = pred.get("category", [])
    dept_top = [(d, round(p, 4)) for d, p in pred.get("department", [])[:3]]
    scores = _all_categories(cat_scores, catalogue)
    model_p = dict(cat_scores)
    head = model.heads.get("department")
    if rule.keywords and rule.confidence >= policy.keyword_precedence:
        conf = round(max(rule.confidence, model_p.get(rule.category, 0.0)), 4)
        if head is None or rule.department in head.labels or not dept_top:
            return Decision(rule.category, rule.subcategory, rule.department, conf,
                            conf < limits.category, "rule", scores, dept_top,
                            rule.keywords, model.version)
        # The head was trained on other departments than the catalogue routes to (an
        # operator's own agencies): the rule names the category, the head the department.
        head_dept, head_conf = dept_top[0]
        triage = conf < limits.category or _department_triage(head_dept, head_conf, catalogue,
                                                              limits)
        return Decision(rule.category, rule.subcategory, head_dept, conf, triage, "rule",
                        scores, dept_top, rule.keywords, model.version, head_conf)
    if cat_scores:
        category, conf = cat_scores[0]
    else:  # a department-only model: the rules still name the category
        category, conf = rule.category, dept_top[0][1] if dept_top else 0.0
    subcategory = None
    prefix = f"{category}/"
    for label, _p in pred.get("subcategory", []):
        if label.startswith(prefix):
            subcategory = label[len(prefix):]
            break
    if subcategory is None and rule.category == category:
        subcategory = rule.subcategory
    conf = round(float(conf), 4)
    triage = conf < limits.category
    dept_conf: float | None = None
    if dept_top:  # the trained department head decides
        department, dept_conf = dept_top[0]
        triage = triage or _department_triage(department, dept_conf, catalogue, limits)
    else:
        department = _route(catalogue, category, subcategory) or catalogue.triage_department
    return Decision(category, subcategory, department, conf, triage, "model", scores, dept_top,
                    rule.keywords, model.version, dept_conf)
