"""Hotline calls (12345, 12315, 96500, company hotlines): the call-centre record."""

from __future__ import annotations

from suqiu.services.intake.contracts import HotlineCall
from suqiu.services.intake.domain.channels._common import attachment, complainant, iso, location
from suqiu.services.intake.domain.submission import Submission
from suqiu.shared.contracts import Channel, RecordedContent

__all__ = ["normalise_hotline"]


def normalise_hotline(msg: HotlineCall) -> Submission:
    """The agent's summary is the complaint text; the ASR transcript stands in when there is none."""
    text, source = (msg.summary, "agent_summary") if msg.summary.strip() else (
        msg.transcript, "asr_transcript" if msg.transcript.strip() else "none")
    wants_callback = msg.callback_requested
    duration = (msg.ended_at - msg.started_at).total_seconds() if (
        msg.started_at and msg.ended_at) else None
    return Submission(
        channel=Channel.HOTLINE,
        channel_message_id=msg.message_id,
        received_at=msg.received_at,
        complainant=complainant(
            name=None if msg.anonymous else msg.caller_name, phone=msg.caller_number,
            anonymous=msg.anonymous, preference="phone" if wants_callback else None,
            consent=msg.consent_to_contact if msg.consent_to_contact is not None else wants_callback),
        content=RecordedContent(text=text, demand=msg.demand),
        location=location(msg.address),
        attachments=[attachment("recording", msg.recording_uri, f"{msg.call_id}.recording")]
        if msg.recording_uri else [],
        channel_details={
            "line": msg.line, "call_id": msg.call_id, "agent_id": msg.agent_id,
            "call_started_at": iso(msg.started_at), "call_ended_at": iso(msg.ended_at),
            "duration_s": duration, "recording_ref": msg.recording_uri, "text_source": source,
            "has_transcript": bool(msg.transcript.strip()), "callback_requested": wants_callback,
        },
        callback_requested=wants_callback,
    )
