"""Precomputed key fields: one indexed string that stands for several fields.

nx-27017 serves a compound index (equality + range) by scanning the table, while a range on
one indexed field with sort and limit is an index walk on it and on MongoDB alike. So a
lookup such as "this person's tickets since T" stores `person_at = "<person>|<UTC time>"`
and asks for the range `[<person>|<since>, <person>|9999]`. The time part always starts
with a digit, so another prefix that merely begins with "<person>|" never falls inside.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["TIME_KEY", "at_key", "key_range"]

# The prefix of a key that is a time alone (`received_key`, `fire_key`, ...).
TIME_KEY = "at"

_END = "9999-12-31T23:59:59.999999~"


def _time(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("key times must be timezone-aware")
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def at_key(prefix: str, at: datetime) -> str:
    """`<prefix>|<UTC time, fixed width>`: sorts by prefix, then time."""
    return f"{prefix}|{_time(at)}"


def key_range(prefix: str, since: datetime | None = None,
              until: datetime | None = None) -> dict[str, str]:
    """The filter value selecting `prefix`'s keys with since <= time <= until."""
    low = at_key(prefix, since) if since is not None else f"{prefix}|0"
    high = at_key(prefix, until) if until is not None else f"{prefix}|{_END}"
    return {"$gte": low, "$lte": high}
