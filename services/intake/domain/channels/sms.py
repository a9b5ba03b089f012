"""SMS received by the gateway (上行短信)."""

from __future__ import annotations

from suqiu.services.intake.contracts import SmsMessage
from suqiu.services.intake.domain.channels._common import complainant
from suqiu.services.intake.domain.submission import Submission
from suqiu.shared.contracts import Channel, Location, RecordedContent

__all__ = ["normalise_sms"]


def normalise_sms(msg: SmsMessage) -> Submission:
    """The sender's number is the contact; replying by SMS is the natural preference."""
    return Submission(
        channel=Channel.SMS,
        channel_message_id=msg.message_id,
        received_at=msg.received_at,
        complainant=complainant(phone=msg.sender, preference="sms"),
        content=RecordedContent(text=msg.text),
        location=Location(),
        channel_details={"gateway": msg.gateway, "gateway_message_id": msg.message_id},
    )
