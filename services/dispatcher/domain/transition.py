"""`transition(order, command, now, policy) -> (order, events)`: the state machine's entry.

Every accepted command appends an audit line (actor, role, time, reason, from, to) and
increments the version (a return that re-dispatches at once: twice). A command on a
mass-incident master is followed by each merged member (`follow_commands`): the copies travel
in the master's outbox, so a crash part-way through the members loses none of them.
"""

from __future__ import annotations

from datetime import datetime

from suqiu.services.dispatcher.domain import closing, handling, learning
from suqiu.services.dispatcher.domain.handling import Outcome, Step
from suqiu.services.dispatcher.domain.rules import KEEP_APPLIED, TABLE, Policy, Refused, Rule, lifecycle_of
from suqiu.shared.contracts import Command, LifecycleState, WorkOrder

__all__ = ["STEPS", "follow_commands", "is_applied", "transition"]

STEPS: dict[str, Step] = {
    "assign": handling.assign, "transfer": handling.assign, "reassign": handling.assign,
    "sign": handling.sign, "return": handling.return_order, "resume": handling.resume,
    "suspend": handling.suspend, "request_extension": handling.request_extension,
    "approve_extension": handling.decide_extension,
    "reject_extension": handling.decide_extension, "escalate": closing.escalate,
    "reply": closing.reply, "revisit": closing.revisit, "reopen": closing.reopen,
    "urge": closing.urge_or_note, "note": closing.urge_or_note,
    "recategorise": learning.recategorise,
}


def _check(order: WorkOrder, cmd: Command, lc: LifecycleState) -> Rule:
    rule = TABLE.get(cmd.action)
    if rule is None:
        raise Refused("unknown_action", f"no command {cmd.action!r}")
    if cmd.role not in rule.roles:
        raise Refused("role_not_allowed", f"{cmd.role} may not {cmd.action}")
    if cmd.role == "department":
        if cmd.department is None or cmd.department not in {lc.lead, *lc.co}:
            raise Refused("not_your_order", "the order is not assigned to this department")
        if rule.lead_only and cmd.department != lc.lead:
            raise Refused("not_lead", f"only the lead department may {cmd.action}")
    if order.status not in rule.sources:
        raise Refused("illegal_state", f"cannot {cmd.action} in status {order.status.value}")
    if rule.reason_required and not cmd.reason:
        raise Refused("reason_required", f"{cmd.action} needs a reason")
    return rule


def is_applied(order: WorkOrder, cmd: Command) -> bool:
    """Whether this command id was applied to the order already (a redelivery)."""
    return order.lifecycle is not None and cmd.command_id in order.lifecycle.applied


def transition(order: WorkOrder, cmd: Command, now: datetime, policy: Policy) -> Outcome:
    """Apply one command: the new order and the events to publish, or `Refused`."""
    if cmd.expected_version is not None and cmd.expected_version != order.version:
        raise Refused("version_conflict",
                      f"the order is at version {order.version}, not {cmd.expected_version}")
    lc = lifecycle_of(order)
    if cmd.command_id in lc.applied:
        raise Refused("duplicate_command", f"command {cmd.command_id} was applied already")
    if cmd.follows_master is not None:
        if lc.master != cmd.follows_master:
            raise Refused("not_a_member", f"the order is not merged under {cmd.follows_master}")
        if cmd.role == "department":  # the member's own lead does what the master's did
            cmd = cmd.model_copy(update={"department": lc.lead})
    rule = _check(order, cmd, lc)
    out, events = STEPS.get(cmd.action, handling.simple)(order, cmd, now, policy, lc, rule)
    done = lifecycle_of(out)
    done.applied = [*done.applied, cmd.command_id][-KEEP_APPLIED:]
    return policy.stamp(out.model_copy(update={"lifecycle": done})), events


def follow_commands(master: WorkOrder, cmd: Command) -> list[Command]:
    """The copies of a command on a mass-incident master that its members follow."""
    if cmd.follows_master is not None or master.lifecycle is None:
        return []
    return [cmd.model_copy(update={"ticket_no": no, "command_id": f"{cmd.command_id}@{no}",
                                   "expected_version": None,
                                   "follows_master": master.ticket_no})
            for no in master.lifecycle.members if no != master.ticket_no]
