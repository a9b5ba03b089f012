"""The transition table (DOMAIN.md steps 5-11): who may give which command in which state."""

from __future__ import annotations

from dataclasses import dataclass, field

from suqiu.shared.catalogue import Catalogue
from suqiu.shared.contracts import LifecycleState, TicketStatus, WorkOrder
from suqiu.shared.sla import DeadlineBook, default_book

__all__ = ["ACTIONS", "ANY", "HANDLING", "OPEN", "SATISFIED", "TABLE", "Policy", "Refused",
           "Rule", "lifecycle_of"]

S = TicketStatus
KEEP_APPLIED = 50
SATISFIED = frozenset({"非常满意", "满意", "基本满意"})

HANDLING = frozenset({S.DISPATCHED, S.SIGNED, S.IN_PROGRESS, S.SUSPENDED, S.EXTENSION_REQUESTED})
OPEN = HANDLING | {S.TRIAGE, S.REPLIED, S.FEEDBACK_GIVEN}
ANY = OPEN | {S.CLOSED, S.ARCHIVED}


class Refused(ValueError):
    """A command the state machine does not allow; `code` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Rule:
    """One row of the transition table: who may, from where, to where (None: decided by the step)."""

    roles: frozenset[str]
    sources: frozenset[TicketStatus]
    target: TicketStatus | None
    lead_only: bool = False
    reason_required: bool = False


def _r(roles: str, sources: frozenset[TicketStatus] | set[TicketStatus],
       target: TicketStatus | None, **kw: bool) -> Rule:
    return Rule(frozenset(roles.split()), frozenset(sources), target, **kw)


TABLE: dict[str, Rule] = {
    "assign": _r("operator supervisor", {S.TRIAGE}, S.DISPATCHED),
    "sign": _r("department", HANDLING, None),
    "return": _r("department", {S.DISPATCHED, S.SIGNED}, None, lead_only=True,
                 reason_required=True),
    "transfer": _r("department", {S.DISPATCHED, S.SIGNED, S.IN_PROGRESS}, S.DISPATCHED,
                   lead_only=True, reason_required=True),
    "reassign": _r("supervisor operator", HANDLING | {S.TRIAGE}, S.DISPATCHED,
                   reason_required=True),
    "start": _r("department", {S.SIGNED}, S.IN_PROGRESS, lead_only=True),
    "suspend": _r("department", {S.SIGNED, S.IN_PROGRESS}, S.SUSPENDED, lead_only=True,
                  reason_required=True),
    "resume": _r("department supervisor", {S.SUSPENDED}, None, lead_only=True),
    "request_extension": _r("department", {S.SIGNED, S.IN_PROGRESS}, S.EXTENSION_REQUESTED,
                            lead_only=True, reason_required=True),
    "approve_extension": _r("supervisor", {S.EXTENSION_REQUESTED}, S.IN_PROGRESS),
    "reject_extension": _r("supervisor", {S.EXTENSION_REQUESTED}, S.IN_PROGRESS,
                           reason_required=True),
    "escalate": _r("supervisor system", OPEN, None, reason_required=True),
    "reply": _r("department", {S.SIGNED, S.IN_PROGRESS}, None),
    "feedback": _r("operator system", {S.REPLIED}, S.FEEDBACK_GIVEN),
    "revisit": _r("operator system", {S.REPLIED, S.FEEDBACK_GIVEN}, None),
    "close": _r("supervisor", OPEN, S.CLOSED, reason_required=True),
    "archive": _r("operator supervisor system", {S.CLOSED}, S.ARCHIVED),
    "reopen": _r("supervisor", {S.CLOSED}, S.DISPATCHED, reason_required=True),
    "urge": _r("supervisor", HANDLING, None),
    "note": _r("supervisor", ANY, None, reason_required=True),
    "recategorise": _r("operator supervisor", HANDLING | {S.TRIAGE}, None, reason_required=True),
}
ACTIONS: tuple[str, ...] = tuple(TABLE)


@dataclass(frozen=True)
class Policy:
    """The operator's numbers the state machine needs."""

    catalogue: Catalogue
    revisit_days: float = 7
    max_dissatisfied: int = 2
    ladder: tuple[str, ...] = field(default_factory=tuple)
    deadlines: DeadlineBook | None = None

    def stamp(self, order: WorkOrder) -> WorkOrder:
        """The order with its deadlines recomputed by the one SLA module (shared.sla)."""
        return (self.deadlines or default_book(self.catalogue)).stamp(order)


def lifecycle_of(order: WorkOrder) -> LifecycleState:
    """A working copy of the order's lifecycle state (the stored order is never mutated)."""
    if order.lifecycle is None:
        return LifecycleState()
    return order.lifecycle.model_copy(deep=True)
