"""Contracts: strict models, tagged event union, idempotency key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from suqiu.shared.contracts import (
    EVENT_ADAPTER,
    Channel,
    Location,
    Severity,
    SlaBreached,
    SlaWarning,
    TicketClassified,
    TicketDispatched,
    TicketReceived,
    TicketStatus,
    WorkOrder,
)
from tests.factories import T0, envelope_payload, make_envelope, make_order

pytestmark = pytest.mark.unit


def _error_locs(exc: ValidationError) -> set[tuple[str | int, ...]]:
    return {tuple(e["loc"]) for e in exc.errors()}


def test_valid_envelope_parses_with_defaults() -> None:
    env = make_envelope()
    assert env.type == "intake.submitted"
    assert env.channel is Channel.HOTLINE
    assert env.received_at == T0
    assert env.attachments == []
    assert env.complainant.anonymous is False


def test_envelope_rejects_unknown_top_level_field() -> None:
    with pytest.raises(ValidationError) as info:
        make_envelope(priority="high")
    assert ("priority",) in _error_locs(info.value)
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_envelope_rejects_unknown_nested_field() -> None:
    with pytest.raises(ValidationError) as info:
        make_envelope(complainant={"name": "李四", "idcard": "x"})
    assert ("complainant", "idcard") in _error_locs(info.value)


def test_envelope_is_frozen() -> None:
    env = make_envelope()
    with pytest.raises(ValidationError):
        env.channel_message_id = "other"  # type: ignore[misc]


def test_lat_without_lon_is_rejected() -> None:
    with pytest.raises(ValidationError, match="lat and lon must be given together"):
        Location(lat=30.27)


def test_lon_without_lat_is_rejected_inside_envelope() -> None:
    with pytest.raises(ValidationError) as info:
        make_envelope(location={"lon": 120.15})
    assert ("location",) in _error_locs(info.value)


def test_coordinates_in_pairs_are_accepted() -> None:
    loc = Location(lat=30.27, lon=120.15)
    assert (loc.lat, loc.lon) == (30.27, 120.15)


@pytest.mark.parametrize("lat", [-90.1, 90.5])
def test_latitude_out_of_range_is_rejected(lat: float) -> None:
    with pytest.raises(ValidationError):
        Location(lat=lat, lon=120.0)


@pytest.mark.parametrize("channel", [c.value for c in Channel])
def test_every_channel_value_is_accepted(channel: str) -> None:
    assert make_envelope(channel=channel).channel.value == channel


@pytest.mark.parametrize("channel", ["telegram", "HOTLINE", ""])
def test_unknown_channel_is_rejected(channel: str) -> None:
    with pytest.raises(ValidationError) as info:
        make_envelope(channel=channel)
    assert ("channel",) in _error_locs(info.value)


def test_naive_received_at_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        make_envelope(received_at="2026-11-23T10:00:00")
    assert ("received_at",) in _error_locs(info.value)


@pytest.mark.parametrize("mid", ["has space", "中文id", ""])
def test_channel_message_id_must_be_printable_ascii(mid: str) -> None:
    with pytest.raises(ValidationError):
        make_envelope(channel_message_id=mid)


def test_wrong_schema_version_is_rejected() -> None:
    with pytest.raises(ValidationError):
        make_envelope(schema_version=2)


def test_empty_text_is_rejected() -> None:
    with pytest.raises(ValidationError):
        make_envelope(content={"text": "   "})  # stripped to empty


def test_intake_key_combines_channel_and_message_id() -> None:
    env = make_envelope(channel="wechat", channel_message_id="wx-42")
    assert env.intake_key == "wechat:wx-42"


def test_intake_key_differs_per_channel_for_same_message_id() -> None:
    a = make_envelope(channel="web", channel_message_id="m1")
    b = make_envelope(channel="app", channel_message_id="m1")
    assert a.intake_key != b.intake_key


def test_envelope_json_round_trip() -> None:
    env = make_envelope(attachments=[{"kind": "photo", "uri": "s3://bucket/a.jpg"}])
    again = type(env).model_validate_json(env.model_dump_json())
    assert again == env
    assert envelope_payload()["channel"] == "hotline"


_AT = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
_EVENTS = [
    TicketReceived(event_id="e1", ticket_no="SQ-20261123-000001", occurred_at=_AT,
                   intake_at=T0, channel=Channel.WEB),
    TicketClassified(event_id="e2", ticket_no="SQ-20261123-000001", occurred_at=_AT,
                     intake_at=T0, category="城乡建设", department="construction",
                     severity=Severity.MAJOR, confidence=0.7),
    TicketDispatched(event_id="e3", ticket_no="SQ-20261123-000001", occurred_at=_AT,
                     intake_at=T0, department="construction", severity=Severity.MAJOR,
                     sign_for_due=_AT, resolution_due=_AT),
    SlaWarning(event_id="e4", ticket_no="SQ-20261123-000001", occurred_at=_AT, intake_at=T0,
               step="sign_for", department="construction", due_at=_AT, lateness_seconds=-60),
    SlaBreached(event_id="e5", ticket_no="SQ-20261123-000001", occurred_at=_AT, intake_at=T0,
                step="resolution", department="construction", due_at=_AT,
                lateness_seconds=120),
]


@pytest.mark.parametrize("event", _EVENTS, ids=lambda e: e.type)
def test_event_adapter_round_trip_restores_the_concrete_type(event: object) -> None:
    raw = EVENT_ADAPTER.dump_json(event)  # type: ignore[arg-type]
    back = EVENT_ADAPTER.validate_json(raw)
    assert type(back) is type(event)
    assert back == event


def test_event_adapter_rejects_unknown_type() -> None:
    with pytest.raises(ValidationError) as info:
        EVENT_ADAPTER.validate_python({"type": "ticket.deleted", "event_id": "x"})
    assert info.value.errors()[0]["type"] == "union_tag_invalid"


def test_event_adapter_rejects_extra_field() -> None:
    data = _EVENTS[0].model_dump(mode="json") | {"secret": 1}
    with pytest.raises(ValidationError):
        EVENT_ADAPTER.validate_python(data)


def test_classified_confidence_must_be_within_unit_interval() -> None:
    with pytest.raises(ValidationError):
        TicketClassified(event_id="e", ticket_no="t", occurred_at=_AT, intake_at=T0,
                         category="c", department="d", severity=Severity.GENERAL,
                         confidence=1.5)


def test_work_order_document_round_trip_uses_ticket_no_as_id() -> None:
    order = make_order(TicketStatus.DISPATCHED)
    doc = order.to_document()
    assert doc["_id"] == "SQ-20261123-000001"
    assert "ticket_no" not in doc
    assert WorkOrder.from_document(doc) == order
