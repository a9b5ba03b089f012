"""Near-duplicate linking: the same person submitting nearly the same text within a window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from suqiu.services.intake.domain.text import similarity

__all__ = ["Candidate", "Link", "find_link"]


@dataclass(frozen=True)
class Candidate:
    """An earlier ticket of the same person."""

    ticket_no: str
    analysis_text: str
    received_at: datetime
    invalid: bool


@dataclass(frozen=True)
class Link:
    ticket_no: str
    similarity: float
    target_invalid: bool


def find_link(text: str, received_at: datetime, candidates: list[Candidate], *,
              window: timedelta, threshold: float) -> Link | None:
    """The most similar earlier ticket within `window` whose similarity reaches `threshold`.

    A valid ticket wins over an invalid one; ties go to the earliest ticket.
    """
    if window <= timedelta(0):
        return None
    best: tuple[tuple[int, float, float], Link] | None = None
    for c in candidates:
        if abs(received_at - c.received_at) > window:
            continue
        score = similarity(text, c.analysis_text)
        if score < threshold:
            continue
        rank = (0 if c.invalid else 1, score, -c.received_at.timestamp())
        if best is None or rank > best[0]:
            best = (rank, Link(c.ticket_no, round(score, 3), c.invalid))
    return best[1] if best else None
