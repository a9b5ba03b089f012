"""Category and department by the catalogue's keywords.

Every subcategory scores the summed length of its keywords found in the text (longer, more
specific phrases weigh more). Confidence is the winner's share of all scores, damped when the
evidence is thin. No match at all goes to the hotline centre's triage desk with confidence 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from suqiu.shared.catalogue import Catalogue

__all__ = ["CategoryMatch", "match_category"]

OTHER = "other"


@dataclass(frozen=True)
class CategoryMatch:
    category: str
    subcategory: str | None
    department: str
    confidence: float
    keywords: tuple[str, ...]


def match_category(text: str, catalogue: Catalogue) -> CategoryMatch:
    """The best-scoring subcategory for `text`, or the triage desk when nothing matches."""
    scored: list[tuple[float, str, str, str, tuple[str, ...]]] = []
    for cat in catalogue.categories:
        for sub in cat.subcategories:
            hits = tuple(k for k in sub.keywords if k in text)
            if hits:
                score = float(sum(len(k) for k in hits))
                scored.append((score, cat.name, sub.name, sub.department or cat.department, hits))
    if not scored:
        return CategoryMatch("其他", None, catalogue.triage_department, 0.0, ())
    scored.sort(key=lambda s: s[0], reverse=True)
    best = scored[0]
    total = sum(s[0] for s in scored)
    evidence = min(1.0, best[0] / 4.0)  # one two-character keyword alone is weak evidence
    confidence = round((best[0] / total) * (0.5 + 0.5 * evidence), 3)
    return CategoryMatch(best[1], best[2], best[3], confidence, best[4])
