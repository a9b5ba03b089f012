"""Classifier's domain metrics (labels are catalogue names, never personal data)."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["ClassifierMetrics"]


class ClassifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.classified = Counter(
            "suqiu_classifier_classified_total",
            "Work orders classified, by first-level category and severity.",
            ["category", "severity"],
            registry=registry,
        )
        self.confidence = Histogram(
            "suqiu_classifier_confidence",
            "Confidence of the category decision.",
            buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
            registry=registry,
        )
        self.decided_by = Counter(
            "suqiu_classifier_decisions_total",
            "Category decisions by their source (rule, model, none).",
            ["source"],
            registry=registry,
        )
        self.triage = Counter(
            "suqiu_classifier_triage_total",
            "Work orders sent to manual triage (confidence below the threshold).",
            registry=registry,
        )
        self.mass_incidents = Counter(
            "suqiu_classifier_mass_incident_total",
            "Work orders classified as members of a mass incident.",
            registry=registry,
        )
        self.model_info = Gauge(
            "suqiu_classifier_model_info",
            "The model version in use (value 1).",
            ["version"],
            registry=registry,
        )
