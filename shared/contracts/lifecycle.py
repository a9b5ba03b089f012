"""The dispatcher's lifecycle state, stored on the work order (`WorkOrder.lifecycle`).

Typed so every reader gets the same fields; the dispatcher's pure domain works on a deep copy
(`services/dispatcher/domain`), never on the stored order's own instance.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from suqiu.shared.contracts.common import TicketStatus

__all__ = ["LifecycleState", "SupervisionNote", "TrainingLabel"]


class TrainingLabel(BaseModel):
    """A department's correction of the routing: a training label for the classifier."""

    model_config = ConfigDict(extra="forbid")

    at: datetime
    predicted: str | None = None
    wrong: str
    right: str | None = None
    category: str | None = None
    reason: str | None = None


class SupervisionNote(BaseModel):
    """A supervisor's urge (催办) or note on the order."""

    model_config = ConfigDict(extra="forbid")

    at: datetime
    actor: str
    kind: str
    text: str | None = None


class LifecycleState(BaseModel):
    """Who handles the order and where its lifecycle stands (beyond `WorkOrder.status`)."""

    model_config = ConfigDict(extra="forbid")

    lead: str | None = None
    co: list[str] = Field(default_factory=list)
    departments: list[str] = Field(
        default_factory=list, description="Every department the order was ever dispatched to "
                                          "(lead or assisting): their inbox entries.")
    candidates: list[str] = Field(default_factory=list)
    returned_by: list[str] = Field(default_factory=list)
    signed: dict[str, datetime] = Field(default_factory=dict)
    replies: dict[str, str] = Field(default_factory=dict)
    resume_to: TicketStatus | None = None
    extension_due: datetime | None = None
    escalation_level: int = 0
    escalated_to: str | None = None
    dispatch_round: int = 0
    reopen_round: int = 0
    dissatisfied: int = 0
    revisit_due: datetime | None = None
    satisfaction: str | None = None
    master: str | None = None
    members: list[str] = Field(default_factory=list)
    labels: list[TrainingLabel] = Field(
        default_factory=list, description="Department corrections: training labels for the classifier.")
    notes: list[SupervisionNote] = Field(default_factory=list)
    applied: list[str] = Field(default_factory=list, description="Recent command ids (dedupe).")
