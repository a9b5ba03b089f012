"""SLA: the one policy file, the one deadline computation, and the clock arithmetic.

`DeadlineBook.stamp(order)` is how every service that changes a work order keeps its stored
deadlines (`WorkOrder.sla`) true; the SLA monitor only enforces what is stored.
"""

from suqiu.shared.sla.clock import add_hours, due_after, moved_by_pauses, warning_time
from suqiu.shared.sla.deadlines import DISPATCH_ACTIONS, DeadlineBook, compute
from suqiu.shared.sla.policy import (
    ANNOUNCED_KINDS,
    DEFAULT_POLICY_PATH,
    STEPS,
    EscalationPolicy,
    Match,
    SlaPolicies,
    SlaRule,
    StepLimit,
    UrgingPolicy,
    load_policies,
)
from suqiu.shared.sla.settings import SlaFiles, default_book, load_book

__all__ = [
    "ANNOUNCED_KINDS",
    "DEFAULT_POLICY_PATH",
    "DISPATCH_ACTIONS",
    "STEPS",
    "DeadlineBook",
    "EscalationPolicy",
    "Match",
    "SlaFiles",
    "SlaPolicies",
    "SlaRule",
    "StepLimit",
    "UrgingPolicy",
    "add_hours",
    "compute",
    "default_book",
    "due_after",
    "load_book",
    "load_policies",
    "moved_by_pauses",
    "warning_time",
]
