"""Pure notification rules: who hears about an event, on which channel, with which text.

User-facing text is Simplified Chinese and carries no more personal data than needed: SMS
to complainants contain the ticket number, never names or addresses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from shared.catalogue import Catalogue
from shared.contracts import (
    SlaBreached,
    SlaWarning,
    TicketDispatched,
    TicketEvent,
    TicketReceived,
    WorkOrder,
)
from shared.privacy import mask_phone

__all__ = ["Notification", "plan_notifications"]

TZ = ZoneInfo("Asia/Shanghai")
SEVERITY_ZH = {"urgent": "紧急", "major": "重大", "important": "重要", "general": "一般"}
STEP_ZH = {"sign_for": "签收", "resolution": "办结"}


@dataclass(frozen=True)
class Notification:
    """One message to one recipient on one channel; `key` makes it unique."""

    event_id: str
    event_type: str
    ticket_no: str
    channel: Literal["sms", "inbox"]
    recipient: str
    recipient_masked: str
    text: str
    skip_reason: str | None = None

    @property
    def key(self) -> str:
        """Unique per (event, channel, recipient); the recipient is hashed (no phone in ids)."""
        digest = hashlib.sha256(self.recipient.encode()).hexdigest()[:16]
        return f"{self.event_id}|{self.channel}|{digest}"


def _local(ts: datetime) -> str:
    return ts.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def _duration_zh(hours: float) -> str:
    return f"{hours / 24:g}天" if hours >= 24 and hours % 24 == 0 else f"{hours:g}小时"


def _receipt(event: TicketReceived, order: WorkOrder, catalogue: Catalogue,
             signature: str) -> list[Notification]:
    c = order.complainant
    promise = _duration_zh(catalogue.sla["general"].resolution_hours)
    text = (f"【{signature}】您反映的问题已受理，工单号{order.ticket_no}。"
            f"我们将在{promise}内办理并答复，可凭工单号查询进度。")
    skip = None
    if c.anonymous:
        skip = "anonymous"
    elif c.consent_to_contact is False or c.contact_preference == "none":
        skip = "no_consent"
    elif not c.phone:
        skip = "no_phone"
    recipient = c.phone or "-"
    return [Notification(event.event_id, event.type, order.ticket_no, "sms", recipient,
                         mask_phone(c.phone) or "-", text, skip)]


def _dispatch_notice(event: TicketDispatched, order: WorkOrder) -> list[Notification]:
    cl = order.classification
    where = (cl.region.district or cl.region.city or "") if cl else ""
    what = f"{cl.category}/{cl.subcategory or '-'}" if cl else "-"
    text = (f"新工单{order.ticket_no}：{what}，{where}，{SEVERITY_ZH[event.severity.value]}。"
            f"请于{_local(event.sign_for_due)}前签收，{_local(event.resolution_due)}前办结。")
    return [Notification(event.event_id, event.type, order.ticket_no, "inbox",
                         event.department, event.department, text)]


def _sla_notice(event: SlaWarning | SlaBreached) -> list[Notification]:
    step = STEP_ZH[event.step]
    if isinstance(event, SlaWarning):
        text = (f"【预警】工单{event.ticket_no}的{step}时限将于{_local(event.due_at)}到期，"
                f"请及时处理。")
    else:
        late = max(1, int(event.lateness_seconds // 60))
        text = f"【超时】工单{event.ticket_no}已超过{step}时限{late}分钟，请立即处理。"
    return [Notification(event.event_id, event.type, event.ticket_no, "inbox",
                         event.department, event.department, text)]


def plan_notifications(event: TicketEvent, order: WorkOrder, catalogue: Catalogue,
                       sms_signature: str) -> list[Notification]:
    """Every notification an event causes."""
    if isinstance(event, TicketReceived):
        return _receipt(event, order, catalogue, sms_signature)
    if isinstance(event, TicketDispatched):
        return _dispatch_notice(event, order)
    if isinstance(event, SlaWarning | SlaBreached):
        return _sla_notice(event)
    return []
