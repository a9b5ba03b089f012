"""One normaliser per channel: a pure function from the channel's message to a Submission."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from suqiu.services.intake.contracts import (
    AppSubmission,
    ChannelMessage,
    EmailMessage,
    HotlineCall,
    LetterScan,
    RegulatorTransfer,
    SmsMessage,
    WalkInRegistration,
    WebForm,
    WechatMessage,
)
from suqiu.services.intake.domain.channels.app import normalise_app
from suqiu.services.intake.domain.channels.email import EmailParseError, normalise_email
from suqiu.services.intake.domain.channels.hotline import normalise_hotline
from suqiu.services.intake.domain.channels.letter import normalise_letter
from suqiu.services.intake.domain.channels.sms import normalise_sms
from suqiu.services.intake.domain.channels.transfer import normalise_transfer
from suqiu.services.intake.domain.channels.walk_in import normalise_walk_in
from suqiu.services.intake.domain.channels.web import normalise_web
from suqiu.services.intake.domain.channels.wechat import normalise_wechat
from suqiu.services.intake.domain.submission import Submission, from_envelope
from suqiu.shared.contracts import IntakeEnvelope

__all__ = ["EmailParseError", "normalise"]

_NORMALISERS: dict[type, Callable[[Any], Submission]] = {
    HotlineCall: normalise_hotline,
    WebForm: normalise_web,
    WechatMessage: normalise_wechat,
    EmailMessage: normalise_email,
    SmsMessage: normalise_sms,
    LetterScan: normalise_letter,
    WalkInRegistration: normalise_walk_in,
    RegulatorTransfer: normalise_transfer,
    AppSubmission: normalise_app,
    IntakeEnvelope: from_envelope,
}


def normalise(message: ChannelMessage | IntakeEnvelope) -> Submission:
    """The channel-neutral submission of any intake message."""
    return _NORMALISERS[type(message)](message)
