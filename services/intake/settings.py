"""Intake settings (env prefix SUQIU_INTAKE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from suqiu.services.intake.domain.triage import (
    DEFAULT_ABUSIVE,
    DEFAULT_OUT_OF_SCOPE,
    DEFAULT_TEST_MARKERS,
    TriageRules,
)

__all__ = ["IntakeSettings"]


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUQIU_INTAKE_", extra="ignore", frozen=True)

    http_port: int = Field(default=8101, ge=0, le=65535)
    prefetch: int = Field(default=16, ge=1, le=1000)
    ticket_prefix: str = Field(default="SQ", pattern=r"^[A-Z]{1,6}$")
    ticket_block: int = Field(
        default=20, ge=1, le=1000,
        description="Ticket numbers a replica reserves with one store command (unused ones "
                    "of a stopped replica or a past day are gaps).")
    # receipts and call-backs
    ack_promise_hours: float = Field(default=24.0, gt=0, description="Receipt's promised limit.")
    callback_hours: float = Field(default=24.0, gt=0, description="Call-back due for invalid orders.")
    # near-duplicate linking (0 disables it)
    duplicate_window_hours: float = Field(default=24.0, ge=0)
    duplicate_similarity: float = Field(default=0.8, gt=0, le=1)
    person_key_secret: str = Field(default="", description="Salt of the pseudonymous person key.")
    # validity triage (comma-separated lists; empty means the built-in defaults)
    min_text_chars: int = Field(default=5, ge=0, le=200)
    test_markers: str = ""
    abusive_words: str = ""
    out_of_scope_phrases: str = ""
    # Open311 / HTTP (comma-separated keys; no key configured means POST is refused)
    open311_api_keys: str = ""
    operator_keys: str = ""
    open311_wait_s: float = Field(default=3.0, ge=0, le=30)
    open311_max_results: int = Field(default=1000, ge=1, le=10000)
    open311_contact: str = "12345热线 (hotline 12345)"
    status_max_failures: int = Field(default=5, ge=1, description="Wrong phone digits per ticket per 15 min.")

    def triage_rules(self) -> TriageRules:
        return TriageRules(
            min_chars=self.min_text_chars,
            test_markers=tuple(_split(self.test_markers)) or DEFAULT_TEST_MARKERS,
            abusive_words=tuple(_split(self.abusive_words)) or DEFAULT_ABUSIVE,
            out_of_scope=tuple(_split(self.out_of_scope_phrases)) or DEFAULT_OUT_OF_SCOPE,
        )

    @property
    def api_keys(self) -> frozenset[str]:
        return frozenset(_split(self.open311_api_keys))

    @property
    def operator_key_set(self) -> frozenset[str]:
        return frozenset(_split(self.operator_keys))
