"""Who among the staff hears about an event (pure): the departments, in which role, and whose
supervisor is told on WeChat.

- dispatch: the lead and each co-handling department;
- escalation (`sla.escalated`, `ticket.escalated`): the late department, and the recipients the
  operator configured for that escalation level (`escalation_levels` in notifier.yaml, e.g.
  district -> city -> province), plus the escalation target when it is a real department;
- extension request: the approver configured for the order's severity (`extension_approvers`),
  else the lead's parent department in the catalogue;
- triage required and invalid orders: the centre's triage desk (the catalogue's
  `triage_department`);
- everything else: the responsible department.
"""

from __future__ import annotations

from suqiu.services.notifier.config import NotifierConfig
from suqiu.shared.catalogue import Catalogue
from suqiu.shared.contracts import (
    SlaBreached,
    SlaEscalated,
    TicketDispatched,
    TicketEscalated,
    TicketEvent,
    TicketExtensionRequested,
    TicketInvalid,
    TicketTriageRequired,
    WorkOrder,
)

__all__ = ["Recipients"]

Role = str  # lead | co | supervisor | approver | desk


class Recipients:
    def __init__(self, catalogue: Catalogue, config: NotifierConfig) -> None:
        self.catalogue = catalogue
        self.config = config
        self._known = {d.id for d in catalogue.departments}

    def departments(self, event: TicketEvent, order: WorkOrder) -> list[tuple[str, Role]]:
        """(department, role) pairs to tell, each department once, in a stable order."""
        pairs: list[tuple[str, Role]]
        if isinstance(event, TicketInvalid | TicketTriageRequired):
            pairs = [(self.catalogue.triage_department, "desk")]
        elif isinstance(event, TicketDispatched):
            co = order.dispatch.co_departments if order.dispatch else []
            pairs = [(event.department, "lead")] + [(d, "co") for d in co]
        elif isinstance(event, SlaEscalated | TicketEscalated):
            pairs = [(event.department, "lead")] + [
                (d, "supervisor") for d in self.escalation(event.level, event.escalated_to)]
        elif isinstance(event, TicketExtensionRequested):
            pairs = [(d, "approver") for d in self.approvers(order, event.department)]
        else:
            pairs = [(event.department, "lead")]  # type: ignore[union-attr]
        seen: set[str] = set()
        out = []
        for dept, role in pairs:
            if dept and dept not in seen:
                seen.add(dept)
                out.append((dept, role))
        return out

    def escalation(self, level: int, escalated_to: str | None) -> list[str]:
        """The recipients of escalation `level` (1-based); the target only if it exists."""
        levels = self.config.escalation_levels
        out = list(levels[min(level, len(levels)) - 1].departments) if levels else []
        if escalated_to in self._known:
            out.append(escalated_to)  # type: ignore[arg-type]
        if not out:  # nothing configured and no real target: the top of the catalogue
            out = [d.id for d in self.catalogue.departments if not d.parent][:1]
        return out

    def approvers(self, order: WorkOrder, department: str) -> list[str]:
        """Who approves an extension for this order's severity."""
        c = order.classification
        table = self.config.extension_approvers
        chosen = table.get(c.severity.value if c else "", table.get("default", []))
        if chosen:
            return list(chosen)
        try:
            parent = self.catalogue.department(department).parent
        except KeyError:
            parent = None
        return [parent or self.catalogue.triage_department]

    def supervised(self, event: TicketEvent, order: WorkOrder) -> list[str]:
        """Whose supervisor is told on WeChat: breaches of a department, escalation levels."""
        if isinstance(event, SlaBreached):
            return [event.department]
        if isinstance(event, SlaEscalated | TicketEscalated):
            return self.escalation(event.level, event.escalated_to)
        return []
