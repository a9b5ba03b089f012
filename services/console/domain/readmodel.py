"""The console's read model: small index documents whose `_id` is a sortable key.

Every list screen is one range query on `_id` with sort and limit (the store rule: index-backed
reads only). An order contributes entries such as

    inbox|<department>|<resolution due>|<ticket>   open orders a department leads or assists
    due|<resolution due>|<ticket>                   every open handling order (supervisor)
    warn|<warning time>|<ticket>                    ... by the time it becomes at-risk
    triage|<received>|<ticket>                      the triage queue
    revisit|<revisit due>|<ticket>                  replied orders waiting for a revisit
    status|<status>|<received>|<ticket>             any order by state
    mass|<received>|<ticket>                        mass-incident masters
    phone|<phone key>|<received>|<ticket>           the caller's orders (keyed hash, no phone)
    tok|<two characters>|<received>|<ticket>        text search (character bigrams)
    addr|<two characters>|<received>|<ticket>       address search

Times are UTC `YYYY-MM-DDTHH:MM:SSZ`, so string order is time order.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from typing import Any

from suqiu.shared.contracts import WorkOrder
from suqiu.shared.privacy import scrub_text

__all__ = ["HANDLING", "bigrams", "entries_for", "key_time", "phone_key", "prefix_range", "summary"]

HANDLING = frozenset({"dispatched", "signed", "in_progress", "suspended", "extension_requested"})
_TEXT_CHARS = 400
_WORD = re.compile(r"[\w\u4e00-\u9fff]+")


def key_time(value: datetime | None) -> str:
    if value is None:
        return "9999-12-31T23:59:59Z"
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def phone_key(phone: str | None, salt: str) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) < 5:
        return None
    return hmac.new(salt.encode(), digits.encode(), hashlib.sha256).hexdigest()[:20]


def bigrams(text: str | None, limit: int = _TEXT_CHARS) -> set[str]:
    """Character bigrams of the words in `text` (lower case); one-character words as is."""
    out: set[str] = set()
    for word in _WORD.findall((text or "")[:limit].lower()):
        if len(word) == 1:
            out.add(word)
        out.update(word[i:i + 2] for i in range(len(word) - 1))
    return out


def prefix_range(prefix: str, upto: str | None = None) -> dict[str, str]:
    """The `_id` range of every key starting with `prefix` (and below `prefix + upto`)."""
    return {"$gte": prefix, "$lt": prefix + (upto if upto is not None else "\U0010ffff")}


def lifecycle_dict(order: WorkOrder) -> dict[str, Any]:
    """The order's typed lifecycle state as a plain mapping (what the templates read)."""
    return order.lifecycle.model_dump(mode="python") if order.lifecycle is not None else {}


_lc = lifecycle_dict


def departments_of(order: WorkOrder) -> set[str]:
    lc = _lc(order)
    out = {d for d in [lc.get("lead"), *lc.get("co", [])] if d}
    if order.dispatch is not None:
        out |= {order.dispatch.department, *order.dispatch.co_departments}
    return out


def warn_at(order: WorkOrder) -> datetime | None:
    """The resolution clock's warning moment as stored on the order (shared.sla stamps it)."""
    step = order.sla.steps.get("resolution") if order.sla is not None else None
    return step.warn_at if step is not None else None


def summary(order: WorkOrder) -> dict[str, Any]:
    """What a list row shows: no personal data (text scrubbed, no name or phone)."""
    lc, c = _lc(order), order.classification
    return {
        "ticket_no": order.ticket_no, "status": order.status.value, "version": order.version,
        "received_at": key_time(order.received_at),
        "category": c.category if c else None, "severity": c.severity.value if c else None,
        "lead": lc.get("lead") or (order.dispatch.department if order.dispatch else None),
        "co": list(lc.get("co", [])),
        "resolution_due": key_time(order.sla.resolution_due) if order.sla else None,
        "sign_for_due": key_time(order.sla.sign_for_due) if order.sla else None,
        "warn_at": key_time(warn_at(order)) if order.sla else None,
        "revisit_due": lc.get("revisit_due") and key_time(_dt(lc["revisit_due"])),
        "title": scrub_text(order.content.title or order.content.text)[:48],
        "address": order.location.address,
        "escalation_level": lc.get("escalation_level", 0),
        "members": len(lc.get("members", [])),
    }


def _dt(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return None


def entries_for(order: WorkOrder, salt: str) -> list[str]:
    """Every read-model key of this order in its current state."""
    tn, status, lc = order.ticket_no, order.status.value, _lc(order)
    received = key_time(order.received_at)
    keys = [f"status|{status}|{received}|{tn}"]
    if status in HANDLING:
        due = key_time(order.sla.resolution_due if order.sla else None)
        keys += [f"inbox|{d}|{due}|{tn}" for d in sorted(departments_of(order))]
        keys.append(f"due|{due}|{tn}")
        if (w := warn_at(order)) is not None:
            keys.append(f"warn|{key_time(w)}|{tn}")
    if status == "triage":
        keys.append(f"triage|{received}|{tn}")
    if status in {"replied", "feedback_given"}:
        keys.append(f"revisit|{key_time(_dt(lc.get('revisit_due')))}|{tn}")
    if lc.get("members"):
        keys.append(f"mass|{received}|{tn}")
    if (pk := phone_key(order.complainant.phone, salt)) is not None:
        keys.append(f"phone|{pk}|{received}|{tn}")
    keys += [f"tok|{g}|{received}|{tn}" for g in sorted(bigrams(order.content.text))]
    keys += [f"addr|{g}|{received}|{tn}" for g in sorted(bigrams(order.location.address))]
    return keys
