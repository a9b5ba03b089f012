"""Pure SLA rules: which timers a dispatched order needs and what firing one announces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared.contracts import SlaBreached, SlaWarning, TicketDispatched
from shared.sla import warning_time

__all__ = ["Timer", "fired_event", "timers_for"]

Step = Literal["sign_for", "resolution"]
Kind = Literal["warning", "breach"]


@dataclass(frozen=True)
class Timer:
    """One future moment at which a step's warning or breach is announced."""

    ticket_no: str
    step: Step
    kind: Kind
    fire_at: datetime
    due_at: datetime
    department: str
    intake_at: datetime

    @property
    def id(self) -> str:
        return f"{self.ticket_no}:{self.step}:{self.kind}"


def timers_for(event: TicketDispatched, warn_ratio: float) -> list[Timer]:
    """Warning at `warn_ratio` of each step's limit and breach at the limit itself."""
    start = event.occurred_at
    timers: list[Timer] = []
    steps: tuple[tuple[Step, datetime], ...] = (
        ("sign_for", event.sign_for_due), ("resolution", event.resolution_due))
    for step, due in steps:
        warn_at = warning_time(start, due, warn_ratio)
        for kind, fire_at in (("warning", warn_at), ("breach", due)):
            timers.append(Timer(ticket_no=event.ticket_no, step=step, kind=kind,  # type: ignore[arg-type]
                                fire_at=fire_at, due_at=due, department=event.department,
                                intake_at=event.intake_at))
    return timers


def fired_event(timer: Timer, now: datetime) -> SlaWarning | SlaBreached:
    """The event for a timer that fired at `now`; its id is the timer's, so it is unique."""
    cls = SlaWarning if timer.kind == "warning" else SlaBreached
    return cls(event_id=timer.id, ticket_no=timer.ticket_no, occurred_at=now,
               intake_at=timer.intake_at, step=timer.step, department=timer.department,
               due_at=timer.due_at, lateness_seconds=(now - timer.due_at).total_seconds())
