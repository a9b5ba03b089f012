"""Pure notification rules: who hears about an event, on which channel, with which text.

User-facing text is Simplified Chinese (templates.py) and carries no more personal data than
needed: texts to complainants contain the ticket number, never names or addresses. Time is
passed in; nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from suqiu.services.notifier.config import NotifierConfig
from suqiu.services.notifier.recipients import Recipients
from suqiu.services.notifier.rules import fit_sms, quiet_until
from suqiu.services.notifier.templates import TemplateBook
from suqiu.shared.catalogue import Catalogue
from suqiu.shared.contracts import (
    Complainant,
    SlaBreached,
    SlaEscalated,
    SlaWarning,
    TicketDispatched,
    TicketEscalated,
    TicketEvent,
    TicketExtensionApproved,
    TicketExtensionRequested,
    TicketInvalid,
    TicketReplied,
    TicketRevisitRequested,
    TicketUrged,
    WorkOrder,
)
from suqiu.shared.privacy import mask_phone

__all__ = ["ChannelName", "Notification", "Planner", "QuietHours", "complainant_contact",
           "mask_recipient"]

ChannelName = Literal["sms", "email", "wechat", "webhook", "inbox"]
Audience = Literal["complainant", "department", "supervisor"]
ALL_CHANNELS: frozenset[str] = frozenset({"sms", "email", "wechat", "webhook", "inbox"})
TZ = ZoneInfo("Asia/Shanghai")
SEVERITY_ZH = {"urgent": "紧急", "major": "重大", "important": "重要", "general": "一般"}
STEP_ZH = {"triage": "人工分拨", "callback": "无效工单回访", "sign_for": "签收",
           "first_response": "首次答复", "resolution": "办结", "feedback": "结果反馈",
           "revisit": "回访"}
COMPLAINANT_EVENTS = frozenset({"ticket.received", "ticket.replied", "ticket.revisit_requested",
                                "ticket.extension_approved", "ticket.linked"})
HANDLED_EVENTS = COMPLAINANT_EVENTS | {"ticket.dispatched", "sla.warning", "sla.breached",
                                      "sla.escalated", "ticket.urged", "ticket.invalid",
                                      "ticket.escalated", "ticket.extension_requested",
                                      "ticket.triage_required"}
INVALID_REASON_ZH = {"empty": "内容为空", "too_short": "内容过短", "test": "测试工单",
                     "abusive": "骚扰或辱骂", "out_of_scope": "超出受理范围", "duplicate": "重复诉求"}


@dataclass(frozen=True)
class Notification:
    """One message to one recipient on one channel; `key` makes it unique."""

    event_id: str
    event_type: str
    ticket_no: str
    channel: ChannelName
    recipient: str
    recipient_masked: str
    audience: Audience
    text: str
    title: str = ""
    department: str | None = None
    urgent: bool = False
    skip_reason: str | None = None
    digest_minutes: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        """Unique per (event, channel, recipient); the recipient is hashed (no phone in ids)."""
        digest = hashlib.sha256(self.recipient.encode()).hexdigest()[:16]
        return f"{self.event_id}|{self.channel}|{digest}"


@dataclass(frozen=True)
class QuietHours:
    """No SMS (or calls) to complainants in this local window, except urgent safety cases."""

    start: Any
    end: Any
    timezone: str = "Asia/Shanghai"
    channels: frozenset[str] = frozenset({"sms"})

    def hold_until(self, n: Notification, now: datetime) -> datetime | None:
        """When a notification may go out, if it must wait for the morning; else None."""
        if n.audience != "complainant" or n.channel not in self.channels or n.urgent:
            return None
        return quiet_until(now, self.start, self.end, self.timezone)


def mask_recipient(channel: str, recipient: str) -> str:
    """What the delivery log and operators see of an address."""
    if channel == "sms":
        return mask_phone(recipient) or "-"
    if channel == "email" and "@" in recipient:
        local, domain = recipient.split("@", 1)
        return f"{local[:1]}***@{domain}"
    if channel == "wechat":
        return recipient[:4] + "***"
    return recipient


def complainant_contact(c: Complainant, available: frozenset[str] = ALL_CHANNELS,
                        ) -> tuple[ChannelName, str] | str:
    """The complainant's channel and address, honouring consent and preference; or why none.

    The preferred channel is used when the operator runs it; otherwise SMS, then e-mail, to
    an address the person gave with their consent.
    """
    if c.anonymous:
        return "anonymous"
    if c.consent_to_contact is False or c.contact_preference == "none":
        return "no_consent"
    options: list[tuple[ChannelName, str | None]] = []
    if c.contact_preference == "email":
        options.append(("email", c.email))
    elif c.contact_preference == "wechat":
        options.append(("wechat", c.external_id))
    options += [("sms", c.phone), ("email", c.email)]
    for channel, address in options:
        if address and channel in available:
            return channel, address
    return "no_contact"


def _local(ts: datetime) -> str:
    return ts.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def _duration_zh(hours: float) -> str:
    return f"{hours / 24:g}天" if hours >= 24 and hours % 24 == 0 else f"{hours:g}小时"


class Planner:
    """Turns an event and its work order into the notifications it causes."""

    def __init__(self, catalogue: Catalogue, config: NotifierConfig, templates: TemplateBook,
                 signature: str, sms_max_segments: int = 3,
                 available: frozenset[str] = ALL_CHANNELS) -> None:
        self.available = available
        self.catalogue = catalogue
        self.config = config
        self.templates = templates
        self.signature = signature
        self.sms_max_segments = sms_max_segments
        self.recipients = Recipients(catalogue, config)

    def _dept_name(self, dept: str) -> str:
        try:
            return self.catalogue.department(dept).name
        except KeyError:
            return dept

    def context(self, event: TicketEvent, order: WorkOrder) -> dict[str, Any]:
        """Template variables: routing facts only, never the complainant's personal data."""
        cl = order.classification
        ctx: dict[str, Any] = {
            "ticket_no": event.ticket_no, "signature": self.signature,
            "hotline": self.config.hotline, "event_type": event.type,
            "promise": "规定时限",  # only when no stored deadline exists (older orders)
            "what": f"{cl.category}/{cl.subcategory or '-'}" if cl else "-",
            "where": (cl.region.district or cl.region.city or "") if cl else "",
            "severity_zh": SEVERITY_ZH[cl.severity.value] if cl else "",
            "department_name": "", "role": "lead", "audience": "complainant",
            "promised_by": None,
        }
        # The limit intake promised, on the event or the order, when it stamped one.
        promised_by = getattr(event, "promised_by", None) or getattr(order, "promised_by", None)
        if promised_by is None and order.sla is not None:  # the stored deadline (shared.sla)
            promised_by = order.sla.due("first_response")
        if isinstance(promised_by, datetime):
            ctx["promised_by"] = _local(promised_by)
        dept = getattr(event, "department", None)
        if dept:
            ctx["department_name"] = self._dept_name(dept)
        if isinstance(event, TicketDispatched):
            ctx |= {"severity_zh": SEVERITY_ZH[event.severity.value],
                    "sign_for_due": _local(event.sign_for_due),
                    "resolution_due": _local(event.resolution_due)}
        elif isinstance(event, SlaWarning | SlaBreached):
            ctx |= {"step_zh": STEP_ZH[event.step], "due": _local(event.due_at),
                    "late_minutes": max(1, int(event.lateness_seconds // 60))}
        elif isinstance(event, SlaEscalated):
            ctx |= {"step_zh": STEP_ZH[event.step], "due": _local(event.due_at),
                    "escalated_to_name": self._dept_name(event.escalated_to),
                    "level": event.level}
        elif isinstance(event, TicketEscalated):
            ctx |= {"escalated_to_name": self._dept_name(event.escalated_to),
                    "level": event.level, "reason": event.reason}
        elif isinstance(event, TicketExtensionRequested):
            ctx |= {"new_due": _local(event.requested_resolution_due), "reason": event.reason}
        elif isinstance(event, TicketUrged):
            ctx |= {"urged_by": event.urged_by, "note": event.note}
        elif isinstance(event, TicketReplied):
            ctx |= {"summary": event.summary}
        elif isinstance(event, TicketRevisitRequested):
            ctx |= {"survey_url": event.survey_url, "answer_by": _local(event.answer_by)}
        elif isinstance(event, TicketExtensionApproved):
            ctx |= {"new_due": _local(event.new_resolution_due), "reason": event.reason}
        elif isinstance(event, TicketInvalid):
            ctx |= {"reasons_zh": "、".join(INVALID_REASON_ZH.get(r, r) for r in event.reasons),
                    "callback_due": _local(event.callback_due) if event.callback_due else None}
        return ctx

    def plan(self, event: TicketEvent, order: WorkOrder) -> list[Notification]:
        """Every notification an event causes, in a stable order."""
        if event.type not in HANDLED_EVENTS:
            return []
        urgent = bool((order.classification and order.classification.severity == "urgent")
                      or getattr(event, "severity", None) == "urgent")
        base = self.context(event, order)
        if event.type in COMPLAINANT_EVENTS:
            return [self._to_complainant(event, order, base, urgent)]
        out: list[Notification] = []
        for dept, role in self.recipients.departments(event, order):
            ctx = base | {"role": role, "audience": "department"}
            if role in ("lead", "co", "desk"):  # others read about the responsible department
                ctx["department_name"] = self._dept_name(dept)
            out += self._to_department(event, dept, ctx, urgent)
        for supervisor_dept in self.recipients.supervised(event, order):
            openid = self.config.contacts(supervisor_dept).supervisor_wechat_openid
            if openid and "wechat" in self.available:
                ctx = base | {"audience": "supervisor",
                              "department_name": self._dept_name(event.department)}  # type: ignore[union-attr]
                out.append(self._make(event, "wechat", openid, "supervisor", ctx, urgent,
                                      department=supervisor_dept))
        return out

    def _to_complainant(self, event: TicketEvent, order: WorkOrder, ctx: dict[str, Any],
                        urgent: bool) -> Notification:
        contact = complainant_contact(order.complainant, self.available)
        if isinstance(contact, str):
            return self._make(event, "sms", "-", "complainant", ctx, urgent, skip=contact)
        channel, address = contact
        return self._make(event, channel, address, "complainant", ctx, urgent)

    def _to_department(self, event: TicketEvent, dept: str, ctx: dict[str, Any],
                       urgent: bool) -> list[Notification]:
        """The inbox always; each configured contact whose channel the operator runs."""
        contacts = self.config.contacts(dept)
        out = [self._make(event, "inbox", dept, "department", ctx, urgent, department=dept)]
        for addr in contacts.email if "email" in self.available else []:
            out.append(self._make(event, "email", addr, "department", ctx, urgent,
                                  department=dept,
                                  digest=0 if urgent else contacts.digest_minutes))
        for phone in contacts.sms if "sms" in self.available else []:
            out.append(self._make(event, "sms", phone, "department", ctx, urgent,
                                  department=dept))
        if contacts.webhook:
            out.append(self._make(event, "webhook", dept, "department", ctx, urgent,
                                  department=dept))
        return out

    def _make(self, event: TicketEvent, channel: ChannelName, recipient: str,
              audience: Audience, ctx: dict[str, Any], urgent: bool, *,
              department: str | None = None, skip: str | None = None,
              digest: int = 0) -> Notification:
        r = self.templates.render(event.type, ctx)
        text = fit_sms(r.sms, self.sms_max_segments) if channel == "sms" else r.body
        masked = "-" if recipient == "-" else mask_recipient(channel, recipient)
        extra: dict[str, Any] = {}
        if channel == "wechat":
            extra["template_id"] = self.config.wechat_templates.get(event.type, "")
        return Notification(event.event_id, event.type, event.ticket_no, channel, recipient,
                            masked, audience, text, r.title, department, urgent, skip,
                            digest, extra)
