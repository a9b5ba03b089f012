"""Permanent errors and their field-level detail."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from suqiu.shared.contracts import IntakeEnvelope
from suqiu.shared.errors import FieldError, PermanentError, field_errors_from_pydantic
from tests.factories import envelope_payload

pytestmark = pytest.mark.unit


def test_permanent_error_carries_reason_and_errors() -> None:
    err = PermanentError("unknown_ticket", [FieldError("ticket_no", "not_found", "no such")])
    assert str(err) == "unknown_ticket"
    assert err.reason == "unknown_ticket"
    assert [e.as_dict() for e in err.errors] == [
        {"field": "ticket_no", "reason": "not_found", "message": "no such"}]
    assert PermanentError("x").errors == []


def test_field_errors_from_pydantic_gives_dotted_paths_and_types() -> None:
    payload = envelope_payload(channel="telegram", location={"lat": 1.0}, extra_field=1)
    payload["content"] = {}
    with pytest.raises(ValidationError) as info:
        IntakeEnvelope.model_validate(payload)
    errors = {e.field: e.reason for e in field_errors_from_pydantic(info.value)}
    assert errors == {
        "channel": "enum",
        "content.text": "missing",
        "location": "value_error",
        "extra_field": "extra_forbidden",
    }


def test_field_errors_never_echo_the_input() -> None:
    payload = envelope_payload(channel_message_id="含空格 13800138000")
    with pytest.raises(ValidationError) as info:
        IntakeEnvelope.model_validate(payload)
    [error] = field_errors_from_pydantic(info.value)
    assert error.field == "channel_message_id"
    assert "13800138000" not in error.message


def test_root_level_error_uses_dollar_as_field() -> None:
    with pytest.raises(ValidationError) as info:
        IntakeEnvelope.model_validate("not a dict")
    [error] = field_errors_from_pydantic(info.value)
    assert error.field == "$"
