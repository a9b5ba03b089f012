"""Lifecycle events on `<ns>.events`; the routing key is the event's `type`.

Events carry ids and the facts a consumer routes on, not whole documents: a consumer that
needs the work order reads it from the store. `event_id` is deterministic per fact, so a
re-emitted event has the same id and consumers deduplicate on it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from suqiu.shared.contracts.common import Channel, Contract, Severity

__all__ = [
    "EVENT_ADAPTER",
    "SlaBreached",
    "SlaEscalated",
    "SlaWarning",
    "TicketClassified",
    "TicketDispatched",
    "TicketEscalated",
    "TicketEvent",
    "TicketExtensionApproved",
    "TicketInvalid",
    "TicketLinked",
    "TicketMassIncident",
    "TicketReceived",
    "TicketReplied",
    "TicketRevisitRequested",
    "TicketTriageRequired",
    "TicketUrged",
]


class _Event(Contract):
    schema_version: Literal[1] = 1
    event_id: str = Field(min_length=1, max_length=200)
    ticket_no: str = Field(min_length=1, max_length=64)
    occurred_at: AwareDatetime
    intake_at: AwareDatetime = Field(description="When the channel received the complaint.")


class TicketReceived(_Event):
    """A new ticket was accepted by intake; the notifier sends the receipt."""

    type: Literal["ticket.received"] = "ticket.received"
    channel: Channel
    promised_by: AwareDatetime | None = Field(
        default=None, description="The time limit the receipt promises (e.g. 24 h after intake).")


class TicketInvalid(_Event):
    """Intake's validity check found the order invalid: a call-back task (回访核实) for the centre."""

    type: Literal["ticket.invalid"] = "ticket.invalid"
    channel: Channel
    reasons: list[str] = Field(min_length=1, description="Reason codes, e.g. too_short, test.")
    callback_due: AwareDatetime | None = None


class TicketLinked(_Event):
    """A repeat submission of the same person was linked to this existing ticket (no new order)."""

    type: Literal["ticket.linked"] = "ticket.linked"
    channel: Channel
    submission_key: str = Field(description="(channel):(channel message id) of the repeat.")
    similarity: float = Field(ge=0, le=1)


class TicketClassified(_Event):
    """The classifier decided category, region, department and severity."""

    type: Literal["ticket.classified"] = "ticket.classified"
    category: str
    department: str
    severity: Severity
    confidence: float = Field(ge=0, le=1)


class TicketTriageRequired(_Event):
    """The classifier is not confident enough: the order waits for a person (人工分拨)."""

    type: Literal["ticket.triage_required"] = "ticket.triage_required"
    category: str
    department: str
    confidence: float = Field(ge=0, le=1)
    threshold: float = Field(ge=0, le=1)
    candidates: list[str] = Field(default_factory=list, description="Best categories, best first.")


class TicketMassIncident(_Event):
    """A near-duplicate cluster reached the mass-incident size (群体性诉求): merge under a master.

    `ticket_no` is the order that completed or grew the cluster; `master_ticket_no` is its first
    order; `members` lists every order of the cluster known when the event was emitted.
    """

    type: Literal["ticket.mass_incident"] = "ticket.mass_incident"
    cluster_id: str
    master_ticket_no: str
    members: list[str] = Field(min_length=1)
    households: int = Field(ge=1)
    category: str
    district: str | None = None


class TicketDispatched(_Event):
    """The order was sent to its responsible department with its deadlines."""

    type: Literal["ticket.dispatched"] = "ticket.dispatched"
    department: str
    severity: Severity
    sign_for_due: AwareDatetime
    resolution_due: AwareDatetime


SlaStep = Literal["triage", "callback", "sign_for", "first_response", "resolution", "feedback",
                  "revisit"]


class _SlaEvent(_Event):
    step: SlaStep
    department: str
    due_at: AwareDatetime
    lateness_seconds: float = Field(description="Negative before the deadline (warnings).")


class SlaWarning(_SlaEvent):
    """A step reached the warning share of its time limit (预警)."""

    type: Literal["sla.warning"] = "sla.warning"


class SlaBreached(_SlaEvent):
    """A step passed its time limit (超时)."""

    type: Literal["sla.breached"] = "sla.breached"


class SlaEscalated(_Event):
    """A late step was escalated to the next level (市 -> 省 -> 总部); its supervisor is told."""

    type: Literal["sla.escalated"] = "sla.escalated"
    step: SlaStep
    department: str
    escalated_to: str = Field(description="Department id of the level that now supervises.")
    level: int = Field(ge=1, description="1 for the first escalation, 2 for the next, ...")
    due_at: AwareDatetime
    lateness_seconds: float | None = Field(default=None, description="Time past the deadline.")


class TicketUrged(_Event):
    """A supervisor urged (督办 / 催办) the responsible department to act."""

    type: Literal["ticket.urged"] = "ticket.urged"
    department: str
    urged_by: str = Field(min_length=1, max_length=64, description="Role or unit, never a name.")
    note: str | None = Field(default=None, max_length=200)


class TicketReplied(_Event):
    """The department replied (回单); the result is fed back to the complainant (反馈)."""

    type: Literal["ticket.replied"] = "ticket.replied"
    department: str
    summary: str | None = Field(default=None, max_length=500,
                                description="The result as the complainant may read it.")


class TicketRevisitRequested(_Event):
    """The revisit survey (回访 / 满意度) is due; the complainant is invited to answer."""

    type: Literal["ticket.revisit_requested"] = "ticket.revisit_requested"
    survey_url: str | None = Field(default=None, max_length=500)
    answer_by: AwareDatetime


class TicketExtensionApproved(_Event):
    """An extension (延期) was approved; the complainant is told the new promise."""

    type: Literal["ticket.extension_approved"] = "ticket.extension_approved"
    department: str
    new_resolution_due: AwareDatetime
    reason: str | None = Field(default=None, max_length=200)


class _LifecycleEvent(_Event):
    """A state change of the work order made by the dispatcher (DOMAIN.md steps 5-11).

    `version` is the order's version after the change: event ids are
    `<ticket_no>:<type>:<version>`, so a step that happens twice (a second dispatch after a
    return, a second reply after a reopen) has two ids, and a re-emitted one the same id.
    """

    version: int = Field(ge=1)
    actor: str = Field(min_length=1, max_length=64, description="Role or unit, never a name.")
    from_status: str
    to_status: str


class TicketSigned(_LifecycleEvent):
    """The responsible department signed for the order (签收): the sign-for clock stops."""

    type: Literal["ticket.signed"] = "ticket.signed"
    department: str


class TicketRecategorised(_LifecycleEvent):
    """A person (triage desk or supervisor) set the order's category; with a department given,
    the order was dispatched there again (a `ticket.dispatched` follows)."""

    type: Literal["ticket.recategorised"] = "ticket.recategorised"
    category: str
    subcategory: str | None = None
    previous_category: str | None = None
    target: str | None = Field(default=None, description="The new lead, when re-dispatched.")
    reason: str | None = Field(default=None, max_length=500)


class TicketReturned(_LifecycleEvent):
    """The department returned the order as not theirs (退单); it waits for re-dispatch."""

    type: Literal["ticket.returned"] = "ticket.returned"
    department: str
    reason: str = Field(min_length=1, max_length=500)


class TicketTransferred(_LifecycleEvent):
    """The order moved to another department (转派); its sign-for clock restarts."""

    type: Literal["ticket.transferred"] = "ticket.transferred"
    from_department: str
    department: str
    reason: str | None = Field(default=None, max_length=500)


class TicketSuspended(_LifecycleEvent):
    """Waiting for the complainant (挂起): the SLA clocks pause."""

    type: Literal["ticket.suspended"] = "ticket.suspended"
    department: str
    reason: str = Field(min_length=1, max_length=500)


class TicketResumed(_LifecycleEvent):
    """Handling resumed after a suspension: the SLA clocks run again."""

    type: Literal["ticket.resumed"] = "ticket.resumed"
    department: str


class TicketExtensionRequested(_LifecycleEvent):
    """The department asked for more time (延期申请); a supervisor approves or rejects it."""

    type: Literal["ticket.extension_requested"] = "ticket.extension_requested"
    department: str
    requested_resolution_due: AwareDatetime
    reason: str = Field(min_length=1, max_length=500)


class TicketClosed(_LifecycleEvent):
    """Closed after a satisfied revisit (or by a supervisor); all clocks stop."""

    type: Literal["ticket.closed"] = "ticket.closed"
    satisfaction: Literal["非常满意", "满意", "基本满意", "不满意"] | None = None


class TicketReopened(_LifecycleEvent):
    """Reopened after a dissatisfied revisit (重办) and dispatched again."""

    type: Literal["ticket.reopened"] = "ticket.reopened"
    round: int = Field(ge=1, description="1 for the first reopening.")
    reason: str | None = Field(default=None, max_length=500)


class TicketEscalated(_LifecycleEvent):
    """The order was escalated up the ladder (升级: 市 -> 省 -> 总部), e.g. after two
    dissatisfied revisits or by a supervisor; the supervising level is told."""

    type: Literal["ticket.escalated"] = "ticket.escalated"
    department: str
    escalated_to: str = Field(description="Department id of the level that now supervises.")
    level: int = Field(ge=1)
    reason: str | None = Field(default=None, max_length=500)


TicketEvent = Annotated[
    TicketReceived | TicketClassified | TicketDispatched | SlaWarning | SlaBreached
    | SlaEscalated | TicketUrged | TicketReplied | TicketRevisitRequested
    | TicketExtensionApproved | TicketInvalid | TicketLinked | TicketTriageRequired
    | TicketMassIncident | TicketSigned | TicketReturned | TicketTransferred | TicketSuspended
    | TicketRecategorised | TicketResumed | TicketExtensionRequested | TicketClosed | TicketReopened
    | TicketEscalated,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[TicketEvent] = TypeAdapter(TicketEvent)
