"""Intake's pure domain: per-channel normalisers, text, validity triage, linking, work orders.

Nothing here imports FastStream, PyMongo or Prometheus; time is passed in.
"""

from suqiu.services.intake.domain.channels import normalise
from suqiu.services.intake.domain.linking import Candidate, Link, find_link
from suqiu.services.intake.domain.orders import (
    invalid_event,
    linked_event,
    new_work_order,
    received_event,
    revalidate,
    was_revalidated,
)
from suqiu.services.intake.domain.submission import Submission, from_envelope, person_key, unknown_fields
from suqiu.services.intake.domain.text import analysis_text, masked_text, similarity, to_simplified
from suqiu.services.intake.domain.triage import TriageRules, triage

__all__ = [
    "Candidate",
    "Link",
    "Submission",
    "TriageRules",
    "analysis_text",
    "find_link",
    "from_envelope",
    "invalid_event",
    "linked_event",
    "masked_text",
    "new_work_order",
    "normalise",
    "person_key",
    "received_event",
    "revalidate",
    "similarity",
    "to_simplified",
    "triage",
    "unknown_fields",
    "was_revalidated",
]
