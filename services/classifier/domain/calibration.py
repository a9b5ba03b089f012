"""Honest confidence: calibration (reliability table, expected calibration error), coverage and
precision by threshold, and the threshold that reaches a target precision. Pure numpy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Calibration", "CoverageRow", "ReliabilityBin", "calibration", "coverage_table",
           "threshold_for_precision"]

DEFAULT_THRESHOLDS = (0.0, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class ReliabilityBin:
    lo: float
    hi: float
    n: int
    mean_confidence: float
    accuracy: float


@dataclass(frozen=True)
class Calibration:
    n: int
    ece: float  # expected calibration error: sum over bins of n_b / n * |accuracy - confidence|
    mean_confidence: float
    accuracy: float
    bins: list[ReliabilityBin]

    def as_dict(self) -> dict[str, object]:
        return {"n": self.n, "ece": round(self.ece, 4),
                "mean_confidence": round(self.mean_confidence, 4),
                "accuracy": round(self.accuracy, 4),
                "bins": [{"lo": b.lo, "hi": b.hi, "n": b.n,
                          "mean_confidence": round(b.mean_confidence, 4),
                          "accuracy": round(b.accuracy, 4)} for b in self.bins]}


@dataclass(frozen=True)
class CoverageRow:
    threshold: float
    coverage: float  # share of orders at or above the threshold (routed without triage)
    precision: float  # share of those that were right
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return {"threshold": self.threshold, "coverage": round(self.coverage, 4),
                "precision": round(self.precision, 4), "n": self.n}


def _arrays(confidence: Sequence[float], correct: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    conf = np.asarray(confidence, dtype=np.float64)
    ok = np.asarray(correct, dtype=bool)
    if conf.shape != ok.shape:
        raise ValueError("confidence and correct differ in length")
    return conf, ok


def calibration(confidence: Sequence[float], correct: Sequence[bool],
                bins: int = 10) -> Calibration:
    """Reliability table over equal-width confidence bins and the expected calibration error."""
    conf, ok = _arrays(confidence, correct)
    if conf.size == 0:
        return Calibration(0, 0.0, 0.0, 0.0, [])
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    table: list[ReliabilityBin] = []
    ece = 0.0
    for b in range(bins):
        mask = which == b
        n = int(mask.sum())
        if n == 0:
            continue
        mc, acc = float(conf[mask].mean()), float(ok[mask].mean())
        ece += n / conf.size * abs(acc - mc)
        table.append(ReliabilityBin(round(float(edges[b]), 2), round(float(edges[b + 1]), 2),
                                    n, mc, acc))
    return Calibration(int(conf.size), float(ece), float(conf.mean()), float(ok.mean()), table)


def coverage_table(confidence: Sequence[float], correct: Sequence[bool],
                   thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> list[CoverageRow]:
    """For each threshold: how many orders pass without triage and how many of those are right."""
    conf, ok = _arrays(confidence, correct)
    rows = []
    for t in thresholds:
        mask = conf >= t
        n = int(mask.sum())
        rows.append(CoverageRow(float(t), n / conf.size if conf.size else 0.0,
                                float(ok[mask].mean()) if n else 0.0, n))
    return rows


def threshold_for_precision(confidence: Sequence[float], correct: Sequence[bool],
                            target: float, min_routed: int = 10) -> float | None:
    """The lowest threshold whose routed orders (confidence >= threshold, at least `min_routed`)
    reach `target` precision, i.e. the most coverage at that precision; None if none does."""
    conf, ok = _arrays(confidence, correct)
    order = np.argsort(-conf, kind="stable")
    c, k = conf[order], ok[order]
    hits = np.cumsum(k)
    best: float | None = None
    for i in range(len(c)):
        if i + 1 < len(c) and c[i + 1] == c[i]:
            continue  # a threshold admits every order of equal confidence
        n = i + 1
        if n >= min_routed and hits[i] / n >= target:
            best = float(c[i])
    return None if best is None else round(best, 4)
