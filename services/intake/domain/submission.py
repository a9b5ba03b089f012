"""The channel-neutral submission every normaliser produces, before it becomes a work order."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from suqiu.shared.contracts import (
    AttachmentRef,
    Channel,
    Complainant,
    IntakeEnvelope,
    Location,
    RecordedContent,
)
from suqiu.shared.privacy import normalize_phone

__all__ = ["Submission", "from_envelope", "person_key", "unknown_fields"]


class Submission(BaseModel):
    """One complaint from one channel, normalised; what the channel did not supply stays None."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Channel
    channel_message_id: str
    received_at: datetime
    complainant: Complainant
    content: RecordedContent
    location: Location = Field(default_factory=Location)
    attachments: list[AttachmentRef] = Field(default_factory=list)
    channel_details: dict[str, Any] = Field(default_factory=dict)
    callback_requested: bool | None = None
    imposed_deadline: datetime | None = None

    @property
    def intake_key(self) -> str:
        return f"{self.channel.value}:{self.channel_message_id}"


def from_envelope(envelope: IntakeEnvelope) -> Submission:
    """The generic envelope, as a submission (phone normalised, nothing else changed)."""
    c = envelope.complainant
    return Submission(
        channel=envelope.channel,
        channel_message_id=envelope.channel_message_id,
        received_at=envelope.received_at,
        complainant=c.model_copy(update={"phone": normalize_phone(c.phone)}),
        content=RecordedContent(**envelope.content.model_dump()),
        location=envelope.location,
        attachments=list(envelope.attachments),
        channel_details=dict(envelope.channel_details),
    )


def unknown_fields(sub: Submission) -> list[str]:
    """The work-order fields the channel could not supply (recorded, never invented)."""
    c, loc = sub.complainant, sub.location
    checks = {
        "complainant.name": c.name,
        "complainant.phone": c.phone,
        "complainant.email": c.email,
        "complainant.contact_preference": c.contact_preference,
        "complainant.consent_to_contact": c.consent_to_contact,
        "content.title": sub.content.title,
        "content.demand": sub.content.demand,
        "location.address": loc.address,
        "location.coordinates": loc.lat,
    }
    return [name for name, value in checks.items() if value is None]


def person_key(sub: Submission, secret: str = "") -> str | None:
    """A pseudonymous key of the complainant: hash of the phone, else of the channel account."""
    c = sub.complainant
    basis = f"phone:{c.phone}" if c.phone else (
        f"{sub.channel.value}:{c.external_id}" if c.external_id else (
            f"email:{c.email.lower()}" if c.email else None))
    if basis is None:
        return None
    return hashlib.sha256(f"{secret}|{basis}".encode()).hexdigest()[:32]
