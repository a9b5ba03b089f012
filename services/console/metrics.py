"""Prometheus metrics of the console (no personal data in labels)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

__all__ = ["ConsoleMetrics"]


class ConsoleMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.sign_ins = Counter("suqiu_console_sign_ins_total", "Sign-in attempts by outcome.",
                                ["outcome"], registry=registry)
        self.commands = Counter("suqiu_console_commands_total",
                                "Commands sent to the dispatcher, by action and outcome code.",
                                ["action", "outcome"], registry=registry)
        self.unmasked = Counter("suqiu_console_unmasked_views_total",
                                "Order views with the complainant's data unmasked (each audited).",
                                registry=registry)
        self.csrf_rejected = Counter("suqiu_console_csrf_rejected_total",
                                     "POSTs refused for a missing or wrong CSRF token.",
                                     registry=registry)
        self.calls = Counter("suqiu_console_calls_total", "Calls submitted to intake.",
                             registry=registry)
        self.projected = Counter("suqiu_console_projected_total",
                                 "Orders written to the console's read model.", registry=registry)
