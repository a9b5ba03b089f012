"""Pure classification rules; no broker, store or clock inside."""

from services.classifier.domain.categories import CategoryMatch, match_category
from services.classifier.domain.classify import classify
from services.classifier.domain.region import extract_region
from services.classifier.domain.severity import assess_severity

__all__ = ["CategoryMatch", "assess_severity", "classify", "extract_region", "match_category"]
