"""What channel systems may publish to `<ns>.intake`: one discriminated union on the `type` tag.

Besides the generic envelope (`intake.submitted`, shared/contracts/intake.py), every channel
may publish its own raw message, as its system produces it; intake normalises each into the
same work order (services/intake/domain/channels/). Operators send `intake.revalidate`
commands on the same exchange (routing key `intake.command`).

Free text fields may be empty: an empty call or a blank form is kept and found invalid by the
validity check (a call-back task), never rejected as bad input.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, JsonValue, TypeAdapter, model_validator

from suqiu.shared.contracts import AttachmentRef, Contract, IntakeEnvelope

__all__ = [
    "INTAKE_MESSAGE_ADAPTER",
    "AppSubmission",
    "ChannelMessage",
    "EmailMessage",
    "HotlineCall",
    "IntakeMessage",
    "LetterScan",
    "RegulatorTransfer",
    "RevalidateCommand",
    "SmsMessage",
    "WalkInRegistration",
    "WebForm",
    "WechatMessage",
]

_MSG_ID = Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$",
                description="The channel system's own message id; with the channel, the idempotency key.")
_TEXT = Field(default="", max_length=8000)
ContactPreference = Literal["sms", "phone", "email", "wechat", "none"]


class _ChannelMessage(Contract):
    schema_version: Literal[1] = 1
    message_id: str = _MSG_ID
    received_at: AwareDatetime
    raw: dict[str, Any] | str | None = Field(
        default=None, description="Anything else the channel system wants archived verbatim.")


class _Coordinates(Contract):
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _pairs(self) -> _Coordinates:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        return self


class HotlineCall(_ChannelMessage):
    """A call-centre record of one hotline call (12345, 12315, 96500, a company hotline)."""

    type: Literal["intake.hotline_call"] = "intake.hotline_call"
    call_id: str = Field(min_length=1, max_length=128)
    line: str = Field(min_length=1, max_length=32, description="Dialled line, e.g. 12345.")
    caller_number: str | None = Field(default=None, max_length=32)
    agent_id: str | None = Field(default=None, max_length=64)
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    summary: str = Field(default="", max_length=8000, description="The agent's summary (工单内容).")
    transcript: str = Field(default="", max_length=8000, description="ASR transcript of the call.")
    demand: str | None = Field(default=None, max_length=2000)
    caller_name: str | None = Field(default=None, max_length=64)
    anonymous: bool = False
    address: str | None = Field(default=None, max_length=500)
    recording_uri: str | None = Field(default=None, max_length=2048)
    callback_requested: bool | None = Field(default=None, description="The caller wants a call back.")
    consent_to_contact: bool | None = None


class WebForm(_ChannelMessage, _Coordinates):
    """A web portal / online form submission (also what the Open311 API publishes)."""

    type: Literal["intake.web_form"] = "intake.web_form"
    form_id: str | None = Field(default=None, max_length=128)
    title: str | None = Field(default=None, max_length=200)
    description: str = _TEXT
    demand: str | None = Field(default=None, max_length=2000)
    name: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    anonymous: bool = False
    contact_preference: ContactPreference | None = None
    consent_to_contact: bool | None = None
    address: str | None = Field(default=None, max_length=500)
    address_id: str | None = Field(default=None, max_length=128)
    service_code: str | None = Field(default=None, max_length=64)
    attributes: dict[str, JsonValue] = Field(default_factory=dict)
    media_urls: list[str] = Field(default_factory=list, max_length=20)
    account_id: str | None = Field(default=None, max_length=128)
    device_id: str | None = Field(default=None, max_length=128)


class WechatMessage(_ChannelMessage, _Coordinates):
    """A message to the WeChat official account or mini program."""

    type: Literal["intake.wechat"] = "intake.wechat"
    app: Literal["official_account", "mini_program"]
    openid: str = Field(min_length=1, max_length=128)
    msg_type: Literal["text", "voice", "image", "video", "location", "form"] = "text"
    content: str = _TEXT
    media_ids: list[str] = Field(default_factory=list, max_length=20)
    phone: str | None = Field(default=None, max_length=32, description="Only if the user bound one.")
    name: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=500)
    consent_to_contact: bool | None = None


class EmailMessage(_ChannelMessage):
    """A raw RFC 5322 message as the mailbox poller fetched it; attachments stay references."""

    type: Literal["intake.email"] = "intake.email"
    mailbox: str | None = Field(default=None, max_length=254)
    rfc822: str | None = Field(default=None, min_length=1, max_length=2_000_000,
                               description="The whole message as text (UTF-8 or 7-bit).")
    rfc822_base64: str | None = Field(
        default=None, min_length=1, max_length=2_800_000,
        description="The whole message as base64 of its bytes (8-bit GBK / GB18030 mail).")
    attachment_store: str = Field(
        default="mail://", max_length=200,
        description="URI prefix under which the poller stored the attachment parts.")

    @model_validator(mode="after")
    def _one_source(self) -> EmailMessage:
        if (self.rfc822 is None) == (self.rfc822_base64 is None):
            raise ValueError("give exactly one of rfc822 and rfc822_base64")
        return self

    def raw_bytes(self) -> bytes:
        """The message's bytes (base64 decoded, or the text as UTF-8)."""
        if self.rfc822_base64 is not None:
            return base64.b64decode(self.rfc822_base64, validate=False)
        return (self.rfc822 or "").encode("utf-8", "surrogateescape")


class SmsMessage(_ChannelMessage):
    """An SMS received by the gateway (上行短信)."""

    type: Literal["intake.sms"] = "intake.sms"
    gateway: str | None = Field(default=None, max_length=64)
    sender: str = Field(min_length=1, max_length=32)
    text: str = Field(default="", max_length=2000)


class LetterScan(_ChannelMessage):
    """A scanned letter (信函) with its OCR text."""

    type: Literal["intake.letter"] = "intake.letter"
    scan_uri: str = Field(min_length=1, max_length=2048)
    ocr_text: str = _TEXT
    ocr_confidence: float | None = Field(default=None, ge=0, le=1)
    sender_name: str | None = Field(default=None, max_length=64)
    sender_address: str | None = Field(default=None, max_length=500)
    sender_phone: str | None = Field(default=None, max_length=32)
    postmarked_on: str | None = Field(default=None, max_length=32)


class WalkInRegistration(_ChannelMessage):
    """A visit to a service hall (来访), from the hall's register."""

    type: Literal["intake.walk_in"] = "intake.walk_in"
    register_entry: str = Field(min_length=1, max_length=128)
    hall: str | None = Field(default=None, max_length=128)
    staff_id: str = Field(min_length=1, max_length=64)
    visitor_name: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    id_number: str | None = Field(default=None, max_length=32, description="Stored masked only.")
    summary: str = _TEXT
    demand: str | None = Field(default=None, max_length=2000)
    address: str | None = Field(default=None, max_length=500)
    consent_to_contact: bool | None = None
    documents: list[AttachmentRef] = Field(default_factory=list, max_length=50)


class RegulatorTransfer(_ChannelMessage):
    """A case transferred by a regulator or a higher level (上级转办 / 监管机构转办)."""

    type: Literal["intake.transfer"] = "intake.transfer"
    source_org: str = Field(min_length=1, max_length=200)
    source_case_no: str = Field(min_length=1, max_length=128)
    deadline: AwareDatetime | None = Field(default=None, description="The limit the source imposes.")
    title: str | None = Field(default=None, max_length=200)
    content: str = _TEXT
    demand: str | None = Field(default=None, max_length=2000)
    complainant_name: str | None = Field(default=None, max_length=64)
    complainant_phone: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=500)
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=50)


class AppSubmission(_ChannelMessage, _Coordinates):
    """A complaint from the city / company app."""

    type: Literal["intake.app"] = "intake.app"
    user_id: str = Field(min_length=1, max_length=128)
    platform: Literal["ios", "android", "harmony", "other"] | None = None
    text: str = _TEXT
    phone: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=64)
    anonymous: bool = False
    address: str | None = Field(default=None, max_length=500)
    photos: list[str] = Field(default_factory=list, max_length=20)
    contact_preference: ContactPreference | None = None
    consent_to_contact: bool | None = None


class RevalidateCommand(Contract):
    """Operator command: the call-back confirmed the complaint; turn the invalid order valid."""

    type: Literal["intake.revalidate"] = "intake.revalidate"
    schema_version: Literal[1] = 1
    ticket_no: str = Field(min_length=1, max_length=64)
    operator_id: str = Field(min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=500)


ChannelMessage = (HotlineCall | WebForm | WechatMessage | EmailMessage | SmsMessage | LetterScan
                  | WalkInRegistration | RegulatorTransfer | AppSubmission)
IntakeMessage = Annotated[ChannelMessage | IntakeEnvelope | RevalidateCommand,
                          Field(discriminator="type")]
INTAKE_MESSAGE_ADAPTER: TypeAdapter[IntakeMessage] = TypeAdapter(IntakeMessage)
