"""Category and department: operator keyword rules with precedence over the trained model.

1. The catalogue's keyword rules score every subcategory (`categories.match_category`). When
   their confidence reaches `classifier.keyword_precedence`, the rule decides: the operator's
   word is final.
2. Otherwise the model decides the first-level category (calibrated probability = confidence),
   the subcategory within it, and the department: the catalogue's routing for that
   subcategory / category when the category is in the catalogue, else the department head.
3. Below `classifier.triage_threshold` the order needs manual triage.
Without a model, or with a model trained on another catalogue's categories, the rules alone
decide, as before the model existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.classifier.domain.categories import match_category
from services.classifier.domain.model import TextModel
from shared.catalogue import Catalogue, Category

__all__ = ["Decision", "decide"]

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


def decide(text: str, catalogue: Catalogue, model: TextModel | None) -> Decision:
    """Category, subcategory, department and confidence for one complaint text."""
    policy = catalogue.classifier
    rule = match_category(text, catalogue)
    if model is not None and not _fits(model, catalogue):
        model = None
    if model is None:
        conf = rule.confidence
        scores = _all_categories([(rule.category, conf)] if rule.keywords else [], catalogue)
        return Decision(rule.category, rule.subcategory, rule.department, conf,
                        conf < policy.triage_threshold, "rule" if rule.keywords else "none",
                        scores, [(rule.department, conf)], rule.keywords, None)
    pred = model.predict(text)
    cat_scores = pred.get("category", [])
    dept_top = [(d, round(p, 4)) for d, p in pred.get("department", [])[:3]]
    scores = _all_categories(cat_scores, catalogue)
    model_p = dict(cat_scores)
    if rule.keywords and rule.confidence >= policy.keyword_precedence:
        conf = round(max(rule.confidence, model_p.get(rule.category, 0.0)), 4)
        return Decision(rule.category, rule.subcategory, rule.department, conf,
                        conf < policy.triage_threshold, "rule", scores, dept_top,
                        rule.keywords, model.version)
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
    department = _route(catalogue, category, subcategory)
    if department is None:
        department = dept_top[0][0] if dept_top else catalogue.triage_department
    conf = round(float(conf), 4)
    return Decision(category, subcategory, department, conf, conf < policy.triage_threshold,
                    "model", scores, dept_top, rule.keywords, model.version)
