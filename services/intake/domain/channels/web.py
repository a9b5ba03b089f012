"""Web portal / online form submissions (also what the Open311 API publishes)."""

from __future__ import annotations

from suqiu.services.intake.contracts import WebForm
from suqiu.services.intake.domain.channels._common import attachment, complainant, location
from suqiu.services.intake.domain.submission import Submission
from suqiu.shared.contracts import Channel, RecordedContent

__all__ = ["normalise_web"]


def normalise_web(msg: WebForm) -> Submission:
    anonymous = msg.anonymous or not (msg.name or msg.phone or msg.email)
    return Submission(
        channel=Channel.WEB,
        channel_message_id=msg.message_id,
        received_at=msg.received_at,
        complainant=complainant(name=None if msg.anonymous else msg.name, phone=msg.phone,
                                email=msg.email, anonymous=anonymous,
                                preference=msg.contact_preference, consent=msg.consent_to_contact,
                                external_id=msg.account_id),
        content=RecordedContent(text=msg.description, title=msg.title, demand=msg.demand),
        location=location(msg.address, msg.lat, msg.lon),
        attachments=[attachment("photo", url) for url in msg.media_urls if url.strip()],
        channel_details={
            "form_id": msg.form_id, "service_code": msg.service_code, "address_id": msg.address_id,
            "attributes": dict(msg.attributes), "device_id": msg.device_id,
            "open311": msg.form_id == "open311",
        },
    )
