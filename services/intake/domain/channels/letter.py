"""Letters (信函): the scan is the evidence, the OCR text the complaint."""

from __future__ import annotations

from suqiu.services.intake.contracts import LetterScan
from suqiu.services.intake.domain.channels._common import attachment, complainant, location
from suqiu.services.intake.domain.submission import Submission
from suqiu.shared.contracts import Channel, RecordedContent

__all__ = ["normalise_letter"]


def normalise_letter(msg: LetterScan) -> Submission:
    return Submission(
        channel=Channel.LETTER,
        channel_message_id=msg.message_id,
        received_at=msg.received_at,
        complainant=complainant(name=msg.sender_name, phone=msg.sender_phone,
                                anonymous=not (msg.sender_name or msg.sender_phone)),
        content=RecordedContent(text=msg.ocr_text),
        location=location(msg.sender_address),
        attachments=[attachment("document", msg.scan_uri, "letter-scan")],
        channel_details={"scan_ref": msg.scan_uri, "ocr_confidence": msg.ocr_confidence,
                         "postmarked_on": msg.postmarked_on, "text_source": "ocr"},
    )
