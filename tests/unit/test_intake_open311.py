"""Open311 views of a work order and the XML shapes: pure functions."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from suqiu.services.intake.formats import to_xml
from suqiu.services.intake.http_api import progress_view
from suqiu.services.intake.open311 import Catalog, request_view
from suqiu.shared.contracts import Location, TicketStatus
from tests.factories import make_order, small_catalogue

pytestmark = pytest.mark.unit

CATALOG = Catalog(small_catalogue())


def test_services_come_from_the_catalogue_subcategories() -> None:
    assert set(CATALOG.services) == {"construction_noise", "illegal_building", "noise", "water", "wages"}
    assert CATALOG.services["noise"]["group"] == "环境保护"


def test_dispatched_order_is_open_with_agency_and_sla_deadline() -> None:
    order = make_order(TicketStatus.DISPATCHED, content={"text": "夜间施工，电话13800138000"})
    view = request_view(order, CATALOG)
    assert view["status"] == "open" and view["service_code"] == "construction_noise"
    assert view["agency_responsible"] == "测试部门"
    assert order.sla is not None and view["expected_datetime"].startswith(
        order.sla.resolution_due.isoformat()[:16])
    assert "13800138000" not in view["description"]
    assert view["address"] is None and view["lat"] is None  # not an Open311 report: no location


def test_invalid_order_is_closed_and_open311_reports_show_their_location() -> None:
    order = make_order(TicketStatus.INVALID, channel_details={"open311": True, "service_code": "noise"},
                       location=Location(address="文新街道", lat=30.1, lon=120.1))
    view = request_view(order, CATALOG)
    assert view["status"] == "closed" and "回访" in view["status_notes"]
    assert (view["service_code"], view["address"], view["lat"], view["long"]) == (
        "noise", "文新街道", 30.1, 120.1)


def test_progress_view_has_no_personal_data() -> None:
    order = make_order(TicketStatus.DISPATCHED)
    view = progress_view(order, CATALOG)
    text = str(view)
    assert view["status_zh"] == "已派单办理"
    assert [p["action"] for p in view["progress"]] == ["receive", "classify", "dispatch"]
    for secret in ("13800138000", "张三", "文新街道某小区", "噪音"):
        assert secret not in text


def test_xml_uses_the_georeport_element_names() -> None:
    root = ET.fromstring(to_xml("service_requests", [{"service_request_id": "SQ-1", "lat": None}]))
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == "SQ-1" and root.findtext("request/lat") == ""
    errors = ET.fromstring(to_xml("errors", [{"code": 403, "description": "api_key"}]))
    assert errors.findtext("error/code") == "403"
