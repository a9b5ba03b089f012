"""Training labels from human decisions: the learning loop's pure rules.

A label is kept per work order (`_id` = ticket number) and says what people decided, and who:

- **recategorise**: the triage desk (operator) or a supervisor sets the category (and maybe
  the department) of an order. That confirms the category, and the department when given.
- **accepted**: the lead department signs for (签收) an order, possibly after 退单 / 转派 /
  改派. That confirms the department it ended with. A sign after a correction is the valuable
  case (`corrected`), but a first-time sign is a human confirmation too.

The classifier's own unconfirmed output never becomes a label: only the roles in `HUMAN_ROLES`
decide, and `training_rows` emits a category only when a person set it and a department only
when a person accepted or set it. Each decision carries an id (the dispatcher's command id), so
a redelivered command records nothing twice. No I/O, no clock: time is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from suqiu.shared.contracts import WorkOrder

__all__ = ["HUMAN_ROLES", "Label", "LabelDecision", "LabelError", "apply_decision",
           "training_rows"]

HUMAN_ROLES = frozenset({"operator", "supervisor", "department"})
_KEEP_TRAIL = 20
Kind = Literal["recategorise", "accepted"]


class LabelError(ValueError):
    """A decision that cannot be a training label (not a person's, or incomplete)."""


class LabelDecision(BaseModel):
    """One person's decision about an order's category or department."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision_id: str = Field(min_length=1, description="The command id: a redelivery is a no-op.")
    kind: Kind
    actor: str = Field(min_length=1, max_length=64, description="Staff or unit id, never a name.")
    role: str
    at: datetime
    category: str | None = None
    subcategory: str | None = None
    department: str | None = None


class Label(BaseModel):
    """What people decided about one order; stored in `labels` with `_id` = ticket number."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ticket_no: str
    version: int = 0
    text: str = Field(description="The order's analysis text (personal numbers masked).")
    title: str | None = None
    category: str | None = None
    subcategory: str | None = None
    category_by: str | None = None
    category_role: str | None = None
    department: str | None = None
    department_by: str | None = None
    department_role: str | None = None
    predicted: dict[str, Any] = Field(default_factory=dict,
                                      description="The classifier's verdict, for comparison.")
    corrected: bool = Field(default=False, description="A person changed the classifier's verdict.")
    at: datetime = Field(description="Time of the latest decision (indexed: the training window).")
    trail: list[dict[str, Any]] = Field(default_factory=list)

    def to_document(self) -> dict[str, Any]:
        doc = self.model_dump(mode="python")
        doc["_id"] = doc.pop("ticket_no")
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Label:
        body = dict(doc)
        body["ticket_no"] = body.pop("_id")
        return cls.model_validate(body)


def _predicted(order: WorkOrder) -> dict[str, Any]:
    c = order.classification
    if c is None:
        return {}
    return {"category": c.category, "subcategory": c.subcategory, "department": c.department,
            "confidence": c.confidence, "decided_by": c.decided_by,
            "model_version": c.model_version}


def apply_decision(label: Label | None, order: WorkOrder, decision: LabelDecision) -> Label | None:
    """The label after this decision, or None when it changes nothing (already recorded)."""
    if decision.role not in HUMAN_ROLES:
        raise LabelError(f"role {decision.role!r} is not a person's decision")
    if decision.kind == "recategorise" and not decision.category:
        raise LabelError("recategorise needs a category")
    if decision.kind == "accepted" and not decision.department:
        raise LabelError("accepted needs the department that signed")
    base = label or Label(ticket_no=order.ticket_no, text=order.analysis_text,
                          title=order.content.title, predicted=_predicted(order), at=decision.at)
    if any(t.get("id") == decision.decision_id for t in base.trail):
        return None
    update: dict[str, Any] = {"at": max(base.at, decision.at), "version": base.version + 1}
    if decision.category:
        update |= {"category": decision.category, "subcategory": decision.subcategory,
                   "category_by": decision.actor, "category_role": decision.role}
    if decision.department:
        update |= {"department": decision.department, "department_by": decision.actor,
                   "department_role": decision.role}
    entry = {"id": decision.decision_id, "kind": decision.kind, "at": decision.at,
             "by": decision.actor, "role": decision.role, "category": decision.category,
             "department": decision.department}
    update["trail"] = [*base.trail, entry][-_KEEP_TRAIL:]
    out = base.model_copy(update=update)
    p = out.predicted
    corrected = bool((out.category_by and out.category != p.get("category"))
                     or (out.department_by and out.department != p.get("department")))
    return out.model_copy(update={"corrected": corrected})


def training_rows(labels: Iterable[Label], *, corrections_only: bool = False
                  ) -> list[dict[str, Any]]:
    """`suqiu train` lines from labels: only what a person decided, with when it was decided."""
    rows: list[dict[str, Any]] = []
    for lab in labels:
        if corrections_only and not lab.corrected:
            continue
        category = lab.category if lab.category_by else None
        department = lab.department if lab.department_by else None
        if not (category or department) or not lab.text.strip():
            continue
        rows.append({"text": lab.text, "title": lab.title, "category": category,
                     "subcategory": lab.subcategory if category else None,
                     "department": department, "at": lab.at.isoformat()})
    return rows
