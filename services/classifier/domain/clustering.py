"""Near-duplicates across complainants and mass incidents (群体性诉求), as pure functions.

A complaint's MinHash signature (character 3-shingles of its normalised analysis text) is
compared with the recent signatures of the same region (district, else city) inside the time
window. The most similar one at or above the threshold gives its cluster; otherwise the
complaint starts a cluster named after its own ticket. A cluster whose distinct complainants
(households) reach the configured number is a mass incident.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from datasketch import MinHash

from suqiu.services.classifier.domain.model import normalize
from suqiu.shared.catalogue import ClassifierPolicy
from suqiu.shared.contracts import Region, WorkOrder

__all__ = [
    "ClusterAssignment",
    "Member",
    "assign_cluster",
    "household_key",
    "region_key",
    "signature",
    "similarity",
]

NUM_PERM = 64
SHINGLE = 3


def signature(text: str) -> list[int]:
    """MinHash values (64 x 32-bit) of the text's character 3-shingles."""
    norm = normalize(text).replace(" ", "")
    shingles = {norm[i:i + SHINGLE] for i in range(max(1, len(norm) - SHINGLE + 1))}
    mh = MinHash(num_perm=NUM_PERM, seed=1)
    mh.update_batch([s.encode("utf-8") for s in shingles])
    return [int(v) for v in mh.hashvalues]


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two signatures."""
    if len(a) != len(b) or not a:
        return 0.0
    return float(np.mean(np.asarray(a) == np.asarray(b)))


def region_key(region: Region) -> str:
    """Orders are compared only within one district (or one city when no district is known)."""
    return "/".join(p or "" for p in (region.province, region.city, region.district))


def household_key(order: WorkOrder) -> str:
    """Who complained, pseudonymised: intake's person key, else a hash of phone or e-mail.

    An anonymous complaint counts as its own household.
    """
    if order.person_key:
        return order.person_key
    c = order.complainant
    contact = getattr(c, "phone", None) or getattr(c, "email", None)
    if contact:
        return "h:" + hashlib.sha256(str(contact).encode()).hexdigest()[:16]
    return "t:" + order.ticket_no


@dataclass(frozen=True)
class Member:
    """A recent order of the same region, as stored by the classifier."""

    ticket_no: str
    cluster_id: str
    household: str
    at: datetime
    signature: Sequence[int]


@dataclass(frozen=True)
class ClusterAssignment:
    cluster_id: str
    members: tuple[str, ...]  # ticket numbers, oldest first, this order included
    households: int
    mass_incident: bool
    best_similarity: float


def assign_cluster(ticket_no: str, household: str, at: datetime, sig: Sequence[int],
                   recent: Sequence[Member], policy: ClassifierPolicy) -> ClusterAssignment:
    """The cluster this order joins (or starts) and whether it is now a mass incident."""
    window = policy.duplicate_window_hours * 3600
    best: Member | None = None
    best_sim = 0.0
    for m in recent:
        if m.ticket_no == ticket_no or abs((at - m.at).total_seconds()) > window:
            continue
        sim = similarity(sig, m.signature)
        if sim >= policy.duplicate_similarity and (sim > best_sim or (
                sim == best_sim and best is not None and m.at < best.at)):
            best, best_sim = m, sim
    cluster_id = best.cluster_id if best else ticket_no
    same = sorted((m for m in recent if m.cluster_id == cluster_id and m.ticket_no != ticket_no),
                  key=lambda m: (m.at, m.ticket_no))
    members = (*(m.ticket_no for m in same), ticket_no)
    households = len({m.household for m in same} | {household})
    return ClusterAssignment(cluster_id=cluster_id, members=members, households=households,
                             mass_incident=households >= policy.mass_incident_households,
                             best_similarity=round(best_sim, 3))
