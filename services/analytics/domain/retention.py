"""Archive and retention rules on one order, as pure functions (DOMAIN.md step 10, 保密).

After the retention period the order keeps what statistics and the audit trail need
(classification, dispatch, history, deadlines, region) and loses the raw payload and the
complainant's identifying data; an erasure request removes that data at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from suqiu.shared.contracts import Complainant, Location, WorkOrder
from suqiu.shared.privacy import mask_name, mask_phone, scrub_text

__all__ = ["archive_due", "erase_order", "mask_order"]


def _mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    user, _, domain = email.partition("@")
    return f"{user[:1]}***@{domain}"


def _scrubbed_content(order: WorkOrder) -> dict[str, object]:
    c = order.content
    content = c.model_copy(update={
        "text": scrub_text(c.text), "title": scrub_text(c.title) if c.title else c.title,
        "demand": scrub_text(c.demand) if c.demand else c.demand})
    return {"content": content, "analysis_text": scrub_text(order.analysis_text),
            "location": Location(), "channel_details": {}, "raw_payload": "", "attachments": []}


def mask_order(order: WorkOrder) -> WorkOrder:
    """Past retention: personal data masked, raw payload and channel details purged.

    Idempotent: masking a masked order changes nothing (the caller then skips the write).
    """
    p = order.complainant
    complainant = p.model_copy(update={
        "name": mask_name(p.name) if p.name and "*" not in p.name else p.name,
        "phone": mask_phone(p.phone) if p.phone and "*" not in p.phone else p.phone,
        "email": _mask_email(p.email) if p.email and "*" not in p.email else p.email,
        "external_id": None})
    masked = order.model_copy(update={"complainant": complainant, **_scrubbed_content(order)})
    if masked == order:
        return order
    return masked.model_copy(update={"version": order.version + 1})


def erase_order(order: WorkOrder) -> WorkOrder:
    """A person's erasure request: no name, phone, e-mail or account left, nor the pseudonym."""
    erased = order.model_copy(update={
        "complainant": Complainant(anonymous=True), "person_key": None,
        **_scrubbed_content(order)})
    if erased == order:
        return order
    return erased.model_copy(update={"version": order.version + 1})


def archive_due(closed_at: datetime, after: timedelta) -> datetime:
    """When a closed order is archived (归档) if nobody reopens it before."""
    return closed_at + after
