"""Complaints from the city / company app."""

from __future__ import annotations

from suqiu.services.intake.contracts import AppSubmission
from suqiu.services.intake.domain.channels._common import attachment, complainant, location
from suqiu.services.intake.domain.submission import Submission
from suqiu.shared.contracts import Channel, RecordedContent

__all__ = ["normalise_app"]


def normalise_app(msg: AppSubmission) -> Submission:
    return Submission(
        channel=Channel.APP,
        channel_message_id=msg.message_id,
        received_at=msg.received_at,
        complainant=complainant(name=None if msg.anonymous else msg.name, phone=msg.phone,
                                anonymous=msg.anonymous or not (msg.name or msg.phone),
                                preference=msg.contact_preference, consent=msg.consent_to_contact,
                                external_id=msg.user_id),
        content=RecordedContent(text=msg.text),
        location=location(msg.address, msg.lat, msg.lon),
        attachments=[attachment("photo", p) for p in msg.photos if p.strip()],
        channel_details={"platform": msg.platform},
    )
