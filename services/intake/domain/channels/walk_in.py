"""Walk-in visits at a service hall (来访), from the hall's register."""

from __future__ import annotations

from suqiu.services.intake.contracts import WalkInRegistration
from suqiu.services.intake.domain.channels._common import complainant, location
from suqiu.services.intake.domain.submission import Submission
from suqiu.shared.contracts import Channel, RecordedContent
from suqiu.shared.privacy import scrub_text

__all__ = ["normalise_walk_in"]


def normalise_walk_in(msg: WalkInRegistration) -> Submission:
    """The ID number is kept masked only: handling the complaint never needs it in full."""
    return Submission(
        channel=Channel.WALK_IN,
        channel_message_id=msg.message_id,
        received_at=msg.received_at,
        complainant=complainant(name=msg.visitor_name, phone=msg.phone,
                                consent=msg.consent_to_contact,
                                anonymous=not (msg.visitor_name or msg.phone)),
        content=RecordedContent(text=msg.summary, demand=msg.demand),
        location=location(msg.address),
        attachments=list(msg.documents),
        channel_details={"register_entry": msg.register_entry, "hall": msg.hall,
                         "staff_id": msg.staff_id, "agent_id": msg.staff_id,
                         "id_number_masked": scrub_text(msg.id_number) if msg.id_number else None},
    )
