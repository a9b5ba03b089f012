"""The intake envelope: what a channel system publishes to `<ns>.intake` (routing key intake.<channel>)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field, JsonValue, model_validator

from suqiu.shared.contracts.common import Channel, Contract

__all__ = ["AttachmentRef", "Complainant", "Content", "IntakeEnvelope", "Location"]

INTAKE_SCHEMA_VERSION: Literal[1] = 1


class Complainant(Contract):
    """Who complains; every field may be unknown, and the person may stay anonymous."""

    name: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    anonymous: bool = False
    contact_preference: Literal["sms", "phone", "email", "wechat", "none"] | None = None
    consent_to_contact: bool | None = None
    external_id: str | None = Field(default=None, max_length=128, description="e.g. WeChat openid")


class Content(Contract):
    """What happened and what the person wants, verbatim as the channel captured it."""

    text: str = Field(min_length=1, max_length=8000)
    title: str | None = Field(default=None, max_length=200)
    demand: str | None = Field(default=None, max_length=2000)


class Location(Contract):
    """Where it happened; any of address or coordinates."""

    address: str | None = Field(default=None, max_length=500)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _coordinates_in_pairs(self) -> Location:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        return self


class AttachmentRef(Contract):
    """A reference to evidence stored elsewhere (photo, recording, document); never the bytes."""

    kind: Literal["photo", "video", "audio", "recording", "document", "other"]
    uri: str = Field(min_length=1, max_length=2048)
    name: str | None = Field(default=None, max_length=255)


class IntakeEnvelope(Contract):
    """One complaint from one channel, as the channel system publishes it."""

    type: Literal["intake.submitted"] = "intake.submitted"
    schema_version: Literal[1] = INTAKE_SCHEMA_VERSION
    channel: Channel
    channel_message_id: str = Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")
    received_at: AwareDatetime
    complainant: Complainant = Field(default_factory=Complainant)
    content: Content
    location: Location = Field(default_factory=Location)
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=50)
    channel_details: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Channel-specific facts: call id, line, agent id, recording reference, ...",
    )
    raw: dict[str, Any] | str | None = Field(
        default=None, description="The channel's own payload, archived verbatim."
    )

    @property
    def intake_key(self) -> str:
        """The idempotency key: one ticket per (channel, channel message id)."""
        return f"{self.channel.value}:{self.channel_message_id}"
