"""Base model and vocabularies shared by every contract."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

__all__ = ["Channel", "Contract", "Severity", "TicketStatus"]


class Contract(BaseModel):
    """Immutable message model: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Channel(StrEnum):
    """Where a complaint came in (DOMAIN.md step 1)."""

    HOTLINE = "hotline"
    WEB = "web"
    WECHAT = "wechat"
    APP = "app"
    EMAIL = "email"
    SMS = "sms"
    LETTER = "letter"
    WALK_IN = "walk_in"
    TRANSFER = "transfer"
    FAX = "fax"
    OA = "oa"


class Severity(StrEnum):
    """Severity classes; `urgent` marks safety cases that skip quiet hours and queues."""

    URGENT = "urgent"
    MAJOR = "major"
    IMPORTANT = "important"
    GENERAL = "general"


class TicketStatus(StrEnum):
    """Work-order states known so far; the dispatcher's state machine extends the set."""

    RECEIVED = "received"
    INVALID = "invalid"
    CLASSIFIED = "classified"
    TRIAGE = "triage"
    DISPATCHED = "dispatched"
    # The dispatcher's work-order lifecycle (DOMAIN.md steps 5-11).
    SIGNED = "signed"
    IN_PROGRESS = "in_progress"
    SUSPENDED = "suspended"
    EXTENSION_REQUESTED = "extension_requested"
    REPLIED = "replied"
    FEEDBACK_GIVEN = "feedback_given"
    CLOSED = "closed"
    ARCHIVED = "archived"
