"""The classifier's verdict for a work order and the received -> classified transition."""

from __future__ import annotations

from datetime import timedelta

import pytest

from suqiu.services.classifier.domain.classify import apply_classification, classified_event, classify
from suqiu.shared.contracts import Content, Severity, TicketStatus
from tests.factories import T0, make_order, small_catalogue

pytestmark = pytest.mark.unit

CAT = small_catalogue()
NOW = T0 + timedelta(minutes=5)


def test_classify_combines_category_region_and_severity() -> None:
    order = make_order(analysis_text="整栋楼都被夜间施工吵醒", location={"address": "长河街道"})
    c = classify(order, CAT, NOW)
    assert (c.category, c.subcategory, c.department) == ("城乡建设", "施工扰民", "construction")
    assert (c.region.district, c.region.street) == ("滨江区", "长河街道")
    assert c.severity is Severity.MAJOR
    assert c.severity_reasons == ["涉及多户: 整栋楼"]
    assert c.classified_at == NOW


def test_classify_reads_the_title_too() -> None:
    order = make_order(content=Content(text="如题", title="公司欠薪"), analysis_text="如题")
    assert classify(order, CAT, NOW).subcategory == "拖欠工资"


def test_apply_classification_moves_received_to_classified() -> None:
    order = make_order()
    result = classify(order, CAT, NOW)
    after = apply_classification(order, result, NOW)
    assert after.status is TicketStatus.CLASSIFIED
    assert after.classification == result
    assert after.version == order.version + 1
    assert after.updated_at == NOW
    assert after.history[:-1] == order.history
    assert (after.history[-1].from_status, after.history[-1].to_status) == (
        TicketStatus.RECEIVED, TicketStatus.CLASSIFIED)


def test_apply_classification_refuses_other_states() -> None:
    order = make_order(TicketStatus.CLASSIFIED)
    assert order.classification is not None
    with pytest.raises(ValueError, match="cannot classify"):
        apply_classification(order, order.classification, NOW)


def test_classified_event_id_is_deterministic() -> None:
    order = make_order(TicketStatus.CLASSIFIED)
    event = classified_event(order)
    assert event.event_id == "SQ-20261123-000001:classified"
    assert event == classified_event(order)
    assert event.department == "construction"
