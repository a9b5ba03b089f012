"""The work order (工单) as stored in MongoDB, one document per ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from suqiu.shared.contracts.common import Channel, Severity, TicketStatus
from suqiu.shared.contracts.intake import AttachmentRef, Complainant, Content, Location
from suqiu.shared.contracts.lifecycle import LifecycleState
from suqiu.shared.keys import at_key

__all__ = [
    "HANDED_ON",
    "OUTBOX_PENDING",
    "Classification",
    "Dispatch",
    "HistoryEntry",
    "PendingEvent",
    "RecordedContent",
    "Region",
    "SlaDeadlines",
    "StepDeadline",
    "Validity",
    "ValidityReason",
    "WorkOrder",
]

WORK_ORDER_SCHEMA_VERSION = 1
# Events whose consumer writes the same order next (the classifier for ticket.received, the
# dispatcher for ticket.classified): that write removes the entry it consumed (shared/outbox.py).
HANDED_ON = frozenset({"ticket.received", "ticket.classified"})
OUTBOX_PENDING = "pending"  # prefix of the `outbox_since` key (shared/keys.py)


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Region(_Doc):
    """Administrative place the complaint is about, with the text span that matched."""

    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    community: str | None = None
    matched: str | None = None


class Classification(_Doc):
    """The classifier's verdict with its reasons."""

    category: str
    subcategory: str | None = None
    department: str
    region: Region
    severity: Severity
    severity_reasons: list[str] = Field(default_factory=list)
    confidence: float = Field(ge=0, le=1)
    matched_keywords: list[str] = Field(default_factory=list)
    classified_at: datetime
    # Added by the trained classifier (optional, so older documents still load).
    decided_by: str | None = Field(default=None, description="rule | model | none")
    model_version: str | None = None
    category_scores: list[tuple[str, float]] = Field(default_factory=list)
    department_top: list[tuple[str, float]] = Field(default_factory=list)
    needs_triage: bool = False
    cluster_id: str | None = Field(default=None, description="Near-duplicate cluster (first ticket).")
    cluster_households: int = 0
    mass_incident: bool = False


class Dispatch(_Doc):
    """To whom the order went."""

    department: str
    department_name: str
    co_departments: list[str] = Field(default_factory=list)
    dispatched_at: datetime


class StepDeadline(_Doc):
    """One running SLA clock: when it started, its warning moment and its deadline."""

    started_at: datetime
    due_at: datetime | None = Field(
        default=None, description="None while the order is suspended (the clock is paused).")
    warn_at: datetime | None = None


class SlaDeadlines(_Doc):
    """Every running step's deadline and the policy version that produced them.

    Written by shared.sla (the one deadline computation) whenever the order changes; the
    dispatched event, receipts, the department list, Open311, the status lookup and the SLA
    monitor all read these. Steps whose clock is stopped are absent.
    """

    policy_version: str
    rule: str
    severity: str | None = None
    steps: dict[str, StepDeadline] = Field(default_factory=dict)
    suspended: bool = False

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        """Orders stamped before the one deadline truth: {policy, sign_for_due, resolution_due}."""
        if isinstance(data, dict) and "sign_for_due" in data:
            at = data.get("sign_for_due")
            return {"policy_version": "legacy", "rule": str(data.get("policy", "")),
                    "steps": {"sign_for": {"started_at": at, "due_at": at},
                              "resolution": {"started_at": at,
                                             "due_at": data.get("resolution_due")}}}
        return data

    def due(self, step: str) -> datetime | None:
        s = self.steps.get(step)
        return s.due_at if s is not None else None

    def required(self, step: str) -> datetime:
        """A deadline that must be running (e.g. sign-for and resolution at a dispatch)."""
        due = self.due(step)
        if due is None:
            raise ValueError(f"no running {step} deadline (policy {self.policy_version})")
        return due

    @property
    def sign_for_due(self) -> datetime | None:
        return self.due("sign_for")

    @property
    def resolution_due(self) -> datetime | None:
        return self.due("resolution")


class HistoryEntry(_Doc):
    """One audit-trail line: who moved the order from which state to which, and why."""

    at: datetime
    actor: str
    action: str
    from_status: TicketStatus | None = None
    to_status: TicketStatus
    note: str | None = None
    # Added by the dispatcher's lifecycle (optional, so older documents still load).
    role: str | None = Field(default=None, description="department | supervisor | operator | system")
    reason: str | None = None


class RecordedContent(Content):
    """Content as recorded on a work order: the text may be empty (an empty call is kept, as invalid)."""

    text: str = Field(default="", max_length=8000)


class ValidityReason(_Doc):
    """Why intake's validity check (审核) found an order invalid."""

    code: str = Field(description="empty, too_short, test, abusive, out_of_scope, duplicate")
    detail: str | None = None


class Validity(_Doc):
    """The outcome of intake's validity check; an operator may turn an invalid order valid."""

    valid: bool
    reasons: list[ValidityReason] = Field(default_factory=list)
    checked_at: datetime
    revalidated_by: str | None = None


class PendingEvent(_Doc):
    """An event (or a command) of a stored state change, not yet published (the outbox).

    The body is the serialized message, so the order document holds no nested datetimes for
    it; `exchange` is the logical exchange (`events` or `intake`)."""

    event_id: str
    exchange: str = "events"
    routing_key: str
    body: str


class WorkOrder(_Doc):
    """The ticket document; `ticket_no` is stored as Mongo's `_id`."""

    schema_version: int = WORK_ORDER_SCHEMA_VERSION
    ticket_no: str
    version: int = 1
    status: TicketStatus
    channel: Channel
    channel_message_id: str
    intake_key: str
    received_at: datetime
    created_at: datetime
    updated_at: datetime
    complainant: Complainant
    content: Content | RecordedContent
    analysis_text: str
    location: Location
    attachments: list[AttachmentRef] = Field(default_factory=list)
    channel_details: dict[str, Any] = Field(default_factory=dict)
    raw_payload: str | None = Field(
        default=None, description="The intake message body exactly as received (UTF-8). Set on "
        "the order intake builds; stored apart, in `intake_payloads` (one document per intake "
        "key), so the document every stage rewrites stays small.")
    classification: Classification | None = None
    dispatch: Dispatch | None = None
    sla: SlaDeadlines | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    # Added by the intake normalisers (all optional, so older documents still load).
    validity: Validity | None = None
    unknown_fields: list[str] = Field(
        default_factory=list, description="What the channel could not supply (never invented).")
    person_key: str | None = Field(
        default=None, description="Pseudonymous key of the complainant (hash of phone or account).")
    promised_by: datetime | None = Field(
        default=None, description="The receipt's promised time limit for the first answer.")
    lifecycle: LifecycleState | None = Field(
        default=None, description="The dispatcher's lifecycle state (services/dispatcher/domain).")
    outbox: dict[str, PendingEvent] = Field(
        default_factory=dict,
        description="Events of stored changes not yet published, keyed by a digest of the "
                    "event id (shared/outbox.py); emptied once the broker confirmed them.")
    outbox_rev: int = Field(
        default=0, description="Incremented by each mark-sent: a writer that read pending "
                               "entries writes only if none was marked sent meanwhile.")

    def to_document(self) -> dict[str, Any]:
        """The Mongo document: `_id` is the ticket number."""
        doc = self.model_dump(mode="python")
        # Entries waiting for a publish that nobody else will make: the dispatcher's sweeper
        # walks this key (docs/events.md); HANDED_ON entries wait for their consumer's write.
        if any(e.routing_key not in HANDED_ON for e in self.outbox.values()):
            doc["outbox_since"] = at_key(OUTBOX_PENDING, self.updated_at)
        doc["_id"] = doc.pop("ticket_no")
        if doc.get("raw_payload") is None:
            doc.pop("raw_payload", None)
        # Time ranges walk string keys (see shared/keys.py): the receipt time, and the
        # person's tickets by time.
        doc["received_key"] = at_key("at", self.received_at)
        if self.person_key:
            doc["person_at"] = at_key(self.person_key, self.received_at)
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> WorkOrder:
        """Inverse of to_document."""
        data = dict(doc)
        data.pop("outbox_since", None)
        data["ticket_no"] = data.pop("_id")
        data.pop("person_at", None)
        data.pop("received_key", None)
        return cls.model_validate(data)
