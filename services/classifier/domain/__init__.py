"""Pure classification rules and the model that scores texts; no broker, store or clock inside."""

from suqiu.services.classifier.domain.categories import CategoryMatch, match_category
from suqiu.services.classifier.domain.classify import Analysis, analyse, classify
from suqiu.services.classifier.domain.decide import Decision, decide
from suqiu.services.classifier.domain.region import extract_region
from suqiu.services.classifier.domain.severity import assess_severity

__all__ = [
    "Analysis",
    "CategoryMatch",
    "Decision",
    "analyse",
    "assess_severity",
    "classify",
    "decide",
    "extract_region",
    "match_category",
]
