"""The promotion gate: a new model replaces the current one only if it is better on the same
held-out data. Pure: the caller evaluates both models and passes the figures in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Comparison", "gate", "score"]

SCORED_HEADS = ("category", "department")


def score(macro_f1: Mapping[str, float]) -> float:
    """One number per model: the mean macro-F1 of the category and department verdicts."""
    values = [macro_f1[h] for h in SCORED_HEADS if h in macro_f1]
    return sum(values) / len(values) if values else 0.0


@dataclass(frozen=True)
class Comparison:
    heads: dict[str, tuple[float | None, float]]  # head -> (current, new) macro-F1
    current: float | None
    new: float
    min_gain: float
    promoted: bool
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"metric": "mean macro-F1 of category and department (service path, held-out)",
                "heads": {h: {"current": None if c is None else round(c, 4), "new": round(n, 4)}
                          for h, (c, n) in self.heads.items()},
                "current": None if self.current is None else round(self.current, 4),
                "new": round(self.new, 4), "min_gain": self.min_gain,
                "promoted": self.promoted, "reason": self.reason}


def gate(new: Mapping[str, float], current: Mapping[str, float] | None, *,
         min_gain: float = 0.0, force: bool = False) -> Comparison:
    """Promote when there is no current model, when forced, or when the new model's score
    beats the current one's by more than `min_gain` on the same held-out examples."""
    heads = {h: (None if current is None else current.get(h), v) for h, v in new.items()
             if h in SCORED_HEADS}
    new_score = score(new)
    if current is None:
        return Comparison(heads, None, new_score, min_gain, True, "no current model")
    cur_score = score(current)
    better = new_score > cur_score + min_gain
    if force:
        reason = "forced by the operator"
    elif better:
        reason = f"better by {new_score - cur_score:+.4f}"
    else:
        reason = f"not better than the current model ({new_score - cur_score:+.4f}, " \
                 f"needs > {min_gain:+.4f})"
    return Comparison(heads, cur_score, new_score, min_gain, better or force, reason)
