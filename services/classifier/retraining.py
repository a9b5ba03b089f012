"""One training run as `suqiu train` and `suqiu retrain` do it: split, fit, evaluate on the
held-out data (model alone, service path, calibration), choose the triage thresholds for a
target precision, compare with the current model on the same held-out data, refit on all.

Publishing (file I/O) stays with the caller: `training.publish` when `candidate.promoted`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from suqiu.services.classifier.domain.calibration import threshold_for_precision
from suqiu.services.classifier.domain.model import TextModel
from suqiu.services.classifier.domain.promotion import Comparison, gate
from suqiu.services.classifier.evaluation import HeadReport, evaluate
from suqiu.services.classifier.training import Example, fit_model, holdout_split
from suqiu.shared.catalogue import Catalogue

__all__ = ["Candidate", "RunOptions", "train_candidate"]


@dataclass(frozen=True)
class RunOptions:
    holdout: float = 0.2
    seed: int = 13
    c: float = 1.0
    max_features: int = 20000
    refit: bool = True
    target_precision: float | None = None
    min_gain: float = 0.0
    force: bool = False


@dataclass
class Candidate:
    model: TextModel
    n_train: int
    n_test: int
    comparison: Comparison
    model_only: dict[str, HeadReport] = field(default_factory=dict)
    service: dict[str, HeadReport] = field(default_factory=dict)
    current: dict[str, HeadReport] = field(default_factory=dict)
    thresholds: dict[str, Any] = field(default_factory=dict)

    @property
    def promoted(self) -> bool:
        return self.comparison.promoted

    def evaluation(self) -> dict[str, Any]:
        return {"n_train": self.n_train, "n_test": self.n_test,
                "model_only": {k: v.as_dict() for k, v in self.model_only.items()},
                "rules_then_model": {k: v.as_dict() for k, v in self.service.items()}}


def _thresholds(service: dict[str, HeadReport], target: float) -> dict[str, Any]:
    out: dict[str, Any] = {"target_precision": target}
    for head in ("category", "department"):
        r = service.get(head)
        if r is None or not r.confidence:
            continue
        t = threshold_for_precision(r.confidence, r.hits, target)
        out[head] = t if t is not None else 1.0  # unreachable: every order goes to triage
        out[f"{head}_reachable"] = t is not None
    return out


def train_candidate(examples: Sequence[Example], catalogue: Catalogue,
                    current: TextModel | None, options: RunOptions,
                    meta: dict[str, Any] | None = None,
                    progress: Callable[[str], None] | None = None) -> Candidate:
    """Fit, evaluate and gate one candidate model (nothing is written)."""
    say = progress or (lambda _m: None)
    train, test = holdout_split(examples, options.holdout, options.seed)
    base_meta = {**(meta or {}), "holdout": options.holdout, "seed": options.seed}
    model = fit_model(train, c=options.c, max_features=options.max_features, progress=say,
                      meta=base_meta)
    model_only: dict[str, HeadReport] = {}
    service: dict[str, HeadReport] = {}
    current_reports: dict[str, HeadReport] = {}
    thresholds: dict[str, Any] = {}
    if test:
        say(f"held-out evaluation on {len(test)} examples")
        model_only = evaluate(model, test, None)
        service = evaluate(model, test, catalogue)
        if current is not None:
            say("the current model on the same held-out examples")
            current_reports = evaluate(current, test, catalogue)
        comparison = gate({h: r.macro_f1 for h, r in service.items()},
                          {h: r.macro_f1 for h, r in current_reports.items()}
                          if current is not None else None,
                          min_gain=options.min_gain, force=options.force)
        if options.target_precision is not None:
            thresholds = _thresholds(service, options.target_precision)
    else:
        comparison = gate({}, None if current is None else {}, force=options.force)
        if current is not None and not options.force:
            comparison = Comparison({}, None, 0.0, options.min_gain, False,
                                    "no held-out data to compare with the current model")
    if options.refit and test:
        model = fit_model(examples, c=options.c, max_features=options.max_features,
                          progress=say, meta={**base_meta, "refit_on_all": True})
    candidate = Candidate(model, len(train), len(test), comparison, model_only, service,
                          current_reports, thresholds)
    extra: dict[str, Any] = {"evaluation": candidate.evaluation(),
                             "promotion": {**comparison.as_dict(),
                                           "current_version": current.version if current
                                           else None}}
    if thresholds:
        extra["thresholds"] = thresholds
    candidate.model = TextModel(model.vocabulary, model.idf, model.heads, {**model.meta, **extra})
    return candidate
