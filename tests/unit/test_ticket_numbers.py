"""Ticket number format and parse."""

from __future__ import annotations

from datetime import date

import pytest

from suqiu.shared.ticket_numbers import format_ticket_no, parse_ticket_no

pytestmark = pytest.mark.unit


def test_format_pads_the_sequence_to_six_digits() -> None:
    assert format_ticket_no("SQ", date(2026, 11, 23), 42) == "SQ-20261123-000042"


def test_format_keeps_sequences_longer_than_six_digits() -> None:
    assert format_ticket_no("SQ", date(2026, 1, 2), 1234567) == "SQ-20260102-1234567"


@pytest.mark.parametrize("seq", [0, -1])
def test_format_rejects_sequences_below_one(seq: int) -> None:
    with pytest.raises(ValueError, match="sequence starts at 1"):
        format_ticket_no("SQ", date(2026, 11, 23), seq)


def test_parse_splits_the_parts() -> None:
    assert parse_ticket_no("HZ-20261123-000042") == ("HZ", date(2026, 11, 23), 42)


@pytest.mark.parametrize(("prefix", "day", "seq"), [
    ("SQ", date(2026, 11, 23), 1),
    ("A", date(2024, 2, 29), 999_999),
    ("ABCDEF", date(1999, 12, 31), 1_000_000),
])
def test_round_trip(prefix: str, day: date, seq: int) -> None:
    assert parse_ticket_no(format_ticket_no(prefix, day, seq)) == (prefix, day, seq)


@pytest.mark.parametrize("bad", [
    "",
    "SQ-20261123-42",          # sequence too short
    "sq-20261123-000042",      # lower-case prefix
    "SQ20261123000042",        # no separators
    "SQ-2026112-000042",       # seven-digit date
    "SQ-20261123-000042 ",     # trailing space
    "TOOLONG-20261123-000042", # prefix over six letters
    "SQ-20261323-000042",      # month 13
    "SQ-20230229-000001",      # not a leap year
])
def test_parse_rejects_malformed_numbers(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_ticket_no(bad)
