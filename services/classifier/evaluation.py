"""Held-out evaluation of a model: per-head quality, calibration and coverage by threshold.

Used by `suqiu train` (held-out report, threshold choice, promotion gate) and `suqiu evaluate`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from suqiu.services.classifier.domain.calibration import (
    Calibration,
    CoverageRow,
    calibration,
    coverage_table,
)
from suqiu.services.classifier.domain.model import TextModel
from suqiu.shared.catalogue import Catalogue

if TYPE_CHECKING:
    from suqiu.services.classifier.training import Example

__all__ = ["HeadReport", "evaluate", "head_report"]


@dataclass(frozen=True)
class HeadReport:
    """Quality of one set of predictions against gold labels."""

    n: int
    accuracy: float
    macro_f1: float
    per_class: list[tuple[str, float, float, float, int]]  # label, P, R, F1, support
    labels: list[str]
    confusion: list[list[int]]
    top3: float | None = None
    confidence: list[float] = field(default_factory=list, repr=False)  # per example
    hits: list[bool] = field(default_factory=list, repr=False)  # per example: right or not
    calibration: Calibration | None = None
    coverage: list[CoverageRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "accuracy": round(self.accuracy, 4),
                "macro_f1": round(self.macro_f1, 4),
                "top3": None if self.top3 is None else round(self.top3, 4),
                "calibration": self.calibration.as_dict() if self.calibration else None,
                "coverage": [r.as_dict() for r in self.coverage],
                "per_class": [{"label": lab, "precision": round(p, 4), "recall": round(r, 4),
                               "f1": round(f, 4), "support": s}
                              for lab, p, r, f, s in self.per_class]}


def head_report(gold: Sequence[str], predicted: Sequence[str],
                top: Sequence[Sequence[str]] | None = None,
                confidence: Sequence[float] | None = None) -> HeadReport:
    """Accuracy, macro-F1, per-class P/R/F1, confusion matrix, optional top-3 hit rate and,
    given per-example confidences, calibration and coverage by threshold."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = sorted(set(gold) | set(predicted))
    p, r, f, s = precision_recall_fscore_support(gold, predicted, labels=labels,
                                                 zero_division=0)
    gold_labels = set(gold)
    macro = float(np.mean([f[i] for i, lab in enumerate(labels) if lab in gold_labels]))
    hits = [g == q for g, q in zip(gold, predicted, strict=True)]
    acc = float(np.mean(hits))
    cm = confusion_matrix(gold, predicted, labels=labels).tolist()
    top3 = None
    if top is not None:
        top3 = float(np.mean([g in t[:3] for g, t in zip(gold, top, strict=True)]))
    conf = list(confidence or [])
    return HeadReport(
        n=len(gold), accuracy=acc, macro_f1=macro,
        per_class=[(lab, float(p[i]), float(r[i]), float(f[i]), int(s[i]))
                   for i, lab in enumerate(labels)],
        labels=labels, confusion=cm, top3=top3, confidence=conf, hits=hits,
        calibration=calibration(conf, hits) if conf else None,
        coverage=coverage_table(conf, hits) if conf else [])


def evaluate(model: TextModel | None, examples: Sequence[Example],
             catalogue: Catalogue | None = None,
             progress: Callable[[int], None] | None = None) -> dict[str, HeadReport]:
    """Reports per head. With a catalogue: the service's decision (rules with precedence,
    then the model); without: the model alone."""
    from suqiu.services.classifier.domain.decide import decide

    cats: tuple[list[str], list[str], list[float]] = ([], [], [])
    subs: tuple[list[str], list[str]] = ([], [])
    depts: tuple[list[str], list[str], list[list[str]], list[float]] = ([], [], [], [])
    for i, ex in enumerate(examples):
        text = f"{ex.title} {ex.text}" if ex.title else ex.text
        if catalogue is not None:
            d = decide(text, catalogue, model)
            category, sub, dept, cat_conf = d.category, d.subcategory, d.department, d.confidence
            dept_conf = d.department_confidence
            if dept_conf is None:
                dept_conf = dict(d.department_top).get(dept, d.confidence)
            top = [dept] + [n for n, _ in d.department_top if n != dept]
        else:
            assert model is not None
            pred = model.predict(text)
            category, cat_conf = pred["category"][0] if "category" in pred else ("", 0.0)
            sub_label = pred["subcategory"][0][0] if "subcategory" in pred else ""
            sub = sub_label.split("/", 1)[1] if "/" in sub_label else None
            ranked = pred.get("department", [])
            top = [n for n, _ in ranked]
            dept, dept_conf = ranked[0] if ranked else ("", 0.0)
        if ex.category:
            cats[0].append(ex.category)
            cats[1].append(category)
            cats[2].append(float(cat_conf))
        if ex.category and ex.subcategory:
            subs[0].append(f"{ex.category}/{ex.subcategory}")
            subs[1].append(f"{category}/{sub}")
        if ex.department:
            depts[0].append(ex.department)
            depts[1].append(dept)
            depts[2].append(top)
            depts[3].append(float(dept_conf))
        if progress:
            progress(i + 1)
    out: dict[str, HeadReport] = {}
    if cats[0]:
        out["category"] = head_report(cats[0], cats[1], confidence=cats[2])
    if subs[0]:
        out["subcategory"] = head_report(*subs)
    if depts[0]:
        out["department"] = head_report(depts[0], depts[1], depts[2], depts[3])
    return out
