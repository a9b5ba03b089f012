"""Retention rules on one order: masking after the retention period, erasure on request."""

from __future__ import annotations

from datetime import timedelta

import pytest

from suqiu.services.analytics.domain.retention import archive_due, erase_order, mask_order
from suqiu.shared.contracts import Content, TicketStatus
from tests.factories import T0, make_order

pytestmark = pytest.mark.unit


def _order():
    return make_order(TicketStatus.DISPATCHED, content=Content(
        text="我的电话13800138000，身份证330106199001011234，邮箱zhang@example.com"),
        channel_details={"call_id": "c-1", "caller": "13800138000"}, raw_payload='{"phone": "13800138000"}')


def test_masking_keeps_the_order_and_its_statistics_but_not_the_personal_data() -> None:
    o = _order()
    m = mask_order(o)
    assert m.complainant.name == "张*" and m.complainant.phone == "138****8000"
    assert "13800138000" not in m.model_dump_json() and "330106199001011234" not in m.model_dump_json()
    assert m.raw_payload == "" and m.channel_details == {} and m.location.address is None
    assert m.classification == o.classification and m.history == o.history
    assert m.dispatch == o.dispatch and m.received_at == o.received_at
    assert m.version == o.version + 1


def test_masking_twice_changes_nothing() -> None:
    m = mask_order(_order())
    assert mask_order(m) is m


def test_erasure_removes_every_identifier_and_the_pseudonym() -> None:
    o = _order().model_copy(update={"person_key": "abc"})
    e = erase_order(o)
    assert e.complainant.name is None and e.complainant.phone is None and e.complainant.anonymous
    assert e.person_key is None and "13800138000" not in e.model_dump_json()
    assert e.classification == o.classification and e.history == o.history
    assert erase_order(e) is e


def test_archive_is_due_a_configurable_time_after_closing() -> None:
    assert archive_due(T0, timedelta(days=30)) == T0 + timedelta(days=30)
