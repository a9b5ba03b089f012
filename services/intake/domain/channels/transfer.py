"""Transfers from a regulator or a higher level (上级转办 / 监管机构转办)."""

from __future__ import annotations

from suqiu.services.intake.contracts import RegulatorTransfer
from suqiu.services.intake.domain.channels._common import complainant, iso, location
from suqiu.services.intake.domain.submission import Submission
from suqiu.shared.contracts import Channel, RecordedContent

__all__ = ["normalise_transfer"]


def normalise_transfer(msg: RegulatorTransfer) -> Submission:
    """The source's case number and the deadline it imposes travel with the order."""
    return Submission(
        channel=Channel.TRANSFER,
        channel_message_id=msg.message_id,
        received_at=msg.received_at,
        complainant=complainant(name=msg.complainant_name, phone=msg.complainant_phone,
                                anonymous=not (msg.complainant_name or msg.complainant_phone)),
        content=RecordedContent(text=msg.content, title=msg.title, demand=msg.demand),
        location=location(msg.address),
        attachments=list(msg.attachments),
        channel_details={"source_org": msg.source_org, "source_case_no": msg.source_case_no,
                         "imposed_deadline": iso(msg.deadline), "regulator_transfer": True},
        imposed_deadline=msg.deadline,
    )
