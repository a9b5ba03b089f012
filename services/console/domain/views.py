"""How orders are shown: status names, countdowns with warning / breach colours, masking."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from suqiu.services.console.domain.readmodel import lifecycle_dict
from suqiu.shared.contracts import WorkOrder
from suqiu.shared.privacy import mask_name, mask_phone, scrub_text

__all__ = ["STATUS_LABELS", "countdown", "deadlines", "parse_key_time", "person_view"]

STATUS_LABELS = {
    "received": "已受理", "invalid": "无效", "classified": "已分类", "triage": "待人工分拨",
    "dispatched": "已派单", "signed": "已签收", "in_progress": "办理中", "suspended": "已挂起",
    "extension_requested": "延期申请中", "replied": "已回单", "feedback_given": "已反馈",
    "closed": "已办结", "archived": "已归档",
}


def parse_key_time(value: str | None) -> datetime | None:
    if not value or value.startswith("9999"):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _span(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{mins}分"
    return f"{mins}分钟"


def countdown(due: datetime | None, warn: datetime | None, now: datetime) -> dict[str, str]:
    """`state` is ok / warning / breach (the CSS class), `text` the Chinese countdown."""
    if due is None:
        return {"state": "none", "text": "无时限"}
    left = (due - now).total_seconds()
    if left < 0:
        return {"state": "breach", "text": f"已超时 {_span(left)}"}
    state = "warning" if warn is not None and now >= warn else "ok"
    return {"state": state, "text": f"剩余 {_span(left)}"}


STEP_LABELS = {"triage": "分拨时限", "callback": "无效件回访时限", "sign_for": "签收时限",
               "first_response": "首次答复时限", "resolution": "办结时限", "feedback": "反馈时限",
               "revisit": "回访时限"}


def deadlines(order: WorkOrder, now: datetime) -> list[dict[str, Any]]:
    """Every deadline the order carries, with its state (met / pending / overdue)."""
    rows: list[dict[str, Any]] = []
    lc = lifecycle_dict(order)
    answered = order.status.value in {"replied", "feedback_given", "closed", "archived"}
    done = {"sign_for": bool(lc.get("signed")), "resolution": answered,
            "first_response": answered}
    # The stored deadlines (shared.sla: the one truth); a stopped clock is absent.
    steps = order.sla.steps if order.sla is not None else {}
    for name, step in steps.items():
        if step.due_at is not None:
            rows.append(_row(STEP_LABELS.get(name, name), step.due_at, done.get(name, False), now))
    labels = {"revisit_due": "回访时限", "extension_due": "申请延期至"}
    for name in ("revisit_due", "extension_due"):
        if name == "revisit_due" and "revisit" in steps:
            continue
        value = lc.get(name)
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, datetime):
            rows.append(_row(labels[name], value, order.status.value in {"closed", "archived"}, now))
    if order.promised_by is not None:
        rows.append(_row("回执承诺", order.promised_by, False, now))
    return rows


def _row(label: str, due: datetime, met: bool, now: datetime) -> dict[str, Any]:
    state = "met" if met else ("overdue" if due < now else "pending")
    text = {"met": "已完成", "overdue": "已超时", "pending": "未到期"}[state]
    return {"label": label, "due": due, "state": state, "text": text}


def person_view(order: WorkOrder, unmasked: bool) -> dict[str, Any]:
    """The complainant and the text, masked unless `unmasked`."""
    c = order.complainant
    text = order.content.text
    return {
        "name": c.name if unmasked else mask_name(c.name),
        "phone": c.phone if unmasked else mask_phone(c.phone),
        "email": c.email if unmasked else ("***" if c.email else None),
        "text": text if unmasked else scrub_text(text),
        "analysis": order.analysis_text if unmasked else scrub_text(order.analysis_text),
        "masked": not unmasked,
    }
