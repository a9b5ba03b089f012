"""The dispatcher's pure rules: routing a classified order, and the work-order state machine.

No I/O and no clock: time is passed in. `rules` holds the transition table, `orders` the moves
and event shapes, `dispatch` the first dispatch, `handling` and `closing` each command's own
rules, `transition` the entry point.
"""

from suqiu.services.dispatcher.domain.dispatch import dispatch, dispatch_with_events, route, route_order
from suqiu.services.dispatcher.domain.inbox import current_departments, due_prefix, inbox_entries
from suqiu.services.dispatcher.domain.learning import label_decision, recategorise
from suqiu.services.dispatcher.domain.mass import join_master, record_members
from suqiu.services.dispatcher.domain.orders import dispatched_event
from suqiu.services.dispatcher.domain.rules import (
    ACTIONS,
    ANY,
    HANDLING,
    OPEN,
    TABLE,
    Policy,
    Refused,
    Rule,
    lifecycle_of,
)
from suqiu.services.dispatcher.domain.transition import follow_commands, is_applied, transition
from suqiu.shared.contracts import Command, LifecycleState

__all__ = [
    "ACTIONS",
    "ANY",
    "HANDLING",
    "OPEN",
    "TABLE",
    "Command",
    "LifecycleState",
    "Policy",
    "Refused",
    "Rule",
    "current_departments",
    "dispatch",
    "dispatch_with_events",
    "dispatched_event",
    "due_prefix",
    "follow_commands",
    "inbox_entries",
    "is_applied",
    "join_master",
    "label_decision",
    "lifecycle_of",
    "recategorise",
    "record_members",
    "route",
    "route_order",
    "transition",
]
