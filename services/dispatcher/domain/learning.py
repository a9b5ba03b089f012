"""The dispatcher's side of the classifier's learning loop (docs/classifier.md section 6).

`recategorise`: the triage desk or a supervisor sets the order's category (and subcategory);
with a `target` department the order is dispatched there again. `label_decision` says which
person's decision a stored command is, as a training label (`shared.labels.LabelDecision`):
a re-categorisation, or the lead department accepting (签收) the order. Pure: the repository
writes the label after the order is saved.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from suqiu.services.dispatcher.domain.handling import Outcome
from suqiu.services.dispatcher.domain.orders import dispatch_to, dispatched_event, lifecycle_event, move
from suqiu.services.dispatcher.domain.rules import Policy, Refused, Rule, lifecycle_of
from suqiu.shared.catalogue import Catalogue
from suqiu.shared.contracts import Command, LifecycleState, TicketRecategorised, WorkOrder
from suqiu.shared.labels import LabelDecision

__all__ = ["label_decision", "recategorise"]


def _category(catalogue: Catalogue, cmd: Command) -> tuple[str, str | None]:
    """The category and subcategory names the command sets (by name or code)."""
    if not cmd.category:
        raise Refused("category_required", "recategorise needs a category")
    cat = next((c for c in catalogue.categories if cmd.category in (c.name, c.code)), None)
    if cat is None:
        raise Refused("unknown_category", f"no category {cmd.category!r}")
    if not cmd.subcategory:
        return cat.name, None
    sub = next((s for s in cat.subcategories if cmd.subcategory in (s.name, s.code)), None)
    if sub is None:
        raise Refused("unknown_category", f"{cat.name} has no subcategory {cmd.subcategory!r}")
    return cat.name, sub.name


def recategorise(order: WorkOrder, cmd: Command, now: datetime, policy: Policy,
                 lc: LifecycleState, rule: Rule) -> Outcome:
    """Set the category; with a target, dispatch the order there (a new round)."""
    if order.classification is None:
        raise Refused("illegal_state", "the order has no classification to correct")
    category, subcategory = _category(policy.catalogue, cmd)
    before = order.classification.category
    base = order.model_copy(update={"classification": order.classification.model_copy(
        update={"category": category, "subcategory": subcategory})})
    note = f"{before} -> {category}" + (f" / {subcategory}" if subcategory else "")
    if cmd.target:
        out = dispatch_to(base, lc, cmd.target, list(cmd.co), policy, now, cmd.actor, cmd.role,
                          "recategorise", cmd.reason, extra_note=f"{note}; -> {cmd.target}")
    elif order.status.value == "triage":
        raise Refused("target_required", "an order in triage needs a target department")
    else:
        out = move(base, lc, order.status, now, cmd.actor, cmd.role, "recategorise",
                   cmd.reason, note=note)
    events: list[BaseModel] = [lifecycle_event(
        TicketRecategorised, "recategorised", out, order, cmd.actor, now, category=category,
        subcategory=subcategory, previous_category=before, target=cmd.target,
        reason=cmd.reason)]
    if cmd.target:
        events.append(dispatched_event(out))
    return out, events


def label_decision(stored: WorkOrder, cmd: Command, now: datetime) -> LabelDecision | None:
    """The training label a command applied to `stored` (the order as saved) decides: a
    re-categorisation, or the lead department's sign; None for every other command. The id
    is the command id, so a redelivered command records nothing twice."""
    if cmd.action == "recategorise" and cmd.role in {"operator", "supervisor"}:
        c = stored.classification
        if c is None:
            return None
        return LabelDecision(decision_id=cmd.command_id, kind="recategorise", actor=cmd.actor,
                             role=cmd.role, at=now, category=c.category,
                             subcategory=c.subcategory, department=cmd.target)
    if cmd.action == "sign" and cmd.role == "department":
        lc = lifecycle_of(stored)
        dept = lc.lead
        if dept is None or cmd.department != dept or dept not in lc.signed:
            return None  # an assisting department's sign does not confirm the routing
        return LabelDecision(decision_id=cmd.command_id, kind="accepted", actor=cmd.actor,
                             role="department", at=lc.signed[dept], department=dept)
    return None
