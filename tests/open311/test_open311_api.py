"""Open311 GeoReport v2 with a real HTTP client against the running intake service (all five
services run as processes, so the request's status, agency and expected time come from the
live work order): every method, both formats, each error code; the citizen status lookup and
the operator's revalidation."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from suqiu.stack import StackInfo
from tests.e2e.helpers import mongo, running_stack

pytestmark = pytest.mark.e2e

API_KEY = "open311-test-key"
OPERATOR_KEY = "operator-test-key"
PHONE = "13955556789"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str, mongo_url: str) -> Iterator[StackInfo]:
    with running_stack(tmp_path_factory.mktemp("open311"), amqp_url, mongo_url, "o", extra_env={
                       "SUQIU_INTAKE_OPEN311_API_KEYS": f"other-key,{API_KEY}",
                       "SUQIU_INTAKE_OPERATOR_KEYS": OPERATOR_KEY,
                       "SUQIU_INTAKE_OPEN311_WAIT_S": "10"}) as info:
        yield info


@pytest.fixture(scope="module")
def http(stack: StackInfo) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{stack.ports('intake')[0]}", timeout=20) as client:
        yield client


def _form(**overrides: Any) -> dict[str, Any]:
    form = {"api_key": API_KEY, "service_code": "municipal_facilities",
            "description": "拱墅区大关街道东新路小区门口的路灯已经坏了两个星期，晚上很黑，老人出行不安全。",
            "address_string": "拱墅区大关街道东新路", "lat": "30.3035", "long": "120.1552",
            "first_name": "女士", "last_name": "王", "phone": PHONE, "email": "wang@example.com",
            "media_url": "https://portal.example.cn/u/1.jpg",
            "attribute[demand]": "尽快修复路灯", "attribute[contact_preference]": "sms"}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def _errors(resp: httpx.Response, fmt: str = "json") -> list[dict[str, Any]]:
    if fmt == "xml":
        root = ET.fromstring(resp.content)
        assert root.tag == "errors"
        return [{"code": int(e.findtext("code") or 0), "description": e.findtext("description")}
                for e in root.findall("error")]
    return resp.json()


def _post(http: httpx.Client, fmt: str = "json", **overrides: Any) -> httpx.Response:
    return http.post(f"/open311/v2/requests.{fmt}", data=_form(**overrides))


def _wait(http: httpx.Client, request_id: str, accept: Any, timeout: float = 60) -> dict[str, Any]:
    """Poll the request until `accept(item)` (the pipeline runs in other processes)."""
    deadline = time.monotonic() + timeout
    while True:
        [item] = http.get(f"/open311/v2/requests/{request_id}.json").json()
        if accept(item) or time.monotonic() > deadline:
            return item
        time.sleep(0.3)


def test_discovery_in_both_formats(http: httpx.Client) -> None:
    doc = http.get("/open311/discovery.json").json()
    [endpoint] = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2/") and "text/xml" in endpoint["formats"]
    root = ET.fromstring(http.get("/open311/discovery.xml").content)
    assert root.tag == "discovery" and root.find("endpoints/endpoint/specification") is not None


def test_service_list_and_definition_from_the_catalogue(http: httpx.Client) -> None:
    services = http.get("/open311/v2/services.json").json()
    by_code = {s["service_code"]: s for s in services}
    assert by_code["municipal_facilities"]["service_name"] == "市政设施"
    assert by_code["municipal_facilities"]["group"] == "城乡建设"
    assert all(s["metadata"] is True and s["type"] == "realtime" for s in services)
    resp = http.get("/open311/v2/services.xml")
    assert resp.headers["content-type"].startswith("text/xml")
    codes = [e.findtext("service_code") for e in ET.fromstring(resp.content).findall("service")]
    assert sorted(codes) == sorted(by_code)

    definition = http.get("/open311/v2/services/municipal_facilities.json").json()
    assert definition["service_code"] == "municipal_facilities"
    assert {a["code"] for a in definition["attributes"]} >= {"demand", "contact_preference"}
    root = ET.fromstring(http.get("/open311/v2/services/municipal_facilities.xml").content)
    assert root.tag == "service_definition" and root.findall("attributes/attribute/values/value")

    for fmt in ("json", "xml"):
        resp = http.get(f"/open311/v2/services/no_such_service.{fmt}")
        assert resp.status_code == 404 and _errors(resp, fmt)[0]["code"] == 404


def test_post_errors_403_and_400_name_the_problem(http: httpx.Client, stack: StackInfo) -> None:
    for fmt in ("json", "xml"):
        resp = _post(http, fmt, api_key="wrong")
        assert resp.status_code == 403 and _errors(resp, fmt)[0]["code"] == 403
    assert _post(http, api_key=None).status_code == 403
    cases = {
        "service_code": {"service_code": None},
        "not found": {"service_code": "no_such_service"},
        "location": {"lat": None, "long": None, "address_string": None},
        "description": {"description": "长" * 4001},
        "lat/long": {"lat": "north", "address_string": None},
        "email": {"email": "not-an-address"},
    }
    for needle, overrides in cases.items():
        for fmt in ("json", "xml"):
            resp = _post(http, fmt, **overrides)
            [error] = _errors(resp, fmt)
            assert resp.status_code == 400 and error["code"] == 400, (needle, resp.text)
            assert needle in error["description"], (needle, error)

    async def archived() -> list[dict[str, Any]]:  # every 400 is kept with field and reason
        client = mongo(stack.mongo_url)
        try:
            return await client[stack.mongo_db]["rejected_messages"].find(
                {"queue": "http.open311"}).to_list(None)
        finally:
            await client.close()
    records = asyncio.run(archived())
    assert len(records) == 2 * len(cases)
    fields = {(r["errors"][0]["field"], r["errors"][0]["reason"]) for r in records}
    assert {("location", "missing"), ("description", "string_too_long"),
            ("service_code", "not_found"), ("email", "invalid_email")} <= fields
    assert all(r["errors"][0]["message_zh"] and "api_key" not in r["body_form"] for r in records)


def test_post_creates_the_work_order_through_the_intake_queue(http: httpx.Client, stack: StackInfo) -> None:
    resp = _post(http)
    assert resp.status_code == 201, resp.text
    [created] = resp.json()
    token, request_id = created["token"], created["service_request_id"]
    assert token.startswith("o311-") and request_id.startswith("SQ-")

    assert http.get(f"/open311/v2/tokens/{token}.json").json() == [
        {"service_request_id": request_id, "token": token}]
    root = ET.fromstring(http.get(f"/open311/v2/tokens/{token}.xml").content)
    assert root.findtext("request/service_request_id") == request_id
    for fmt in ("json", "xml"):
        resp = http.get(f"/open311/v2/tokens/o311-unknown.{fmt}")
        assert resp.status_code == 404 and _errors(resp, fmt)[0]["code"] == 404

    item = _wait(http, request_id, lambda i: i["agency_responsible"] is not None)
    assert item["status"] == "open" and item["service_code"] == "municipal_facilities"
    assert item["agency_responsible"] == "市城市管理局"
    assert item["expected_datetime"] and item["requested_datetime"]
    assert item["address"] == "拱墅区大关街道东新路" and item["lat"] == 30.3035
    assert PHONE not in str(item) and "wang@example.com" not in str(item)
    root = ET.fromstring(http.get(f"/open311/v2/requests/{request_id}.xml").content)
    assert root.tag == "service_requests" and root.findtext("request/status") == "open"

    # the same path as AMQP intake: the ticket is a web-channel work order in the store
    async def stored() -> dict[str, Any] | None:
        client = mongo(stack.mongo_url)
        try:
            return await client[stack.mongo_db]["tickets"].find_one({"_id": request_id})
        finally:
            await client.close()
    doc = asyncio.run(stored())
    assert doc is not None and doc["intake_key"] == f"web:{token}" and doc["channel"] == "web"
    assert doc["content"]["demand"] == "尽快修复路灯" and doc["complainant"]["name"] == "王女士"


def test_get_requests_filters_and_errors(http: httpx.Client) -> None:
    [created] = _post(http, description="西湖区文新街道某路段井盖缺失，晚上很危险，请尽快补上。",
                       service_code="municipal_facilities").json()
    rid = created["service_request_id"]
    listed = http.get("/open311/v2/requests.json").json()
    assert rid in [r["service_request_id"] for r in listed]
    by_id = http.get(f"/open311/v2/requests.json?service_request_id={rid},SQ-20000101-000001").json()
    assert [r["service_request_id"] for r in by_id] == [rid]
    assert rid in [r["service_request_id"] for r in http.get(
        "/open311/v2/requests.json?status=open&service_code=municipal_facilities").json()]
    assert rid not in [r["service_request_id"] for r in http.get(
        "/open311/v2/requests.json?status=closed").json()]
    assert http.get("/open311/v2/requests.json?start_date=2000-01-01T00:00:00Z"
                    "&end_date=2000-01-02T00:00:00Z").json() == []
    root = ET.fromstring(http.get("/open311/v2/requests.xml").content)
    assert rid in [r.findtext("service_request_id") for r in root.findall("request")]
    for query in ("start_date=yesterday", "status=pending",
                  "start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z"):
        for fmt in ("json", "xml"):
            resp = http.get(f"/open311/v2/requests.{fmt}?{query}")
            assert resp.status_code == 400 and _errors(resp, fmt)[0]["code"] == 400, query
    for fmt in ("json", "xml"):
        resp = http.get(f"/open311/v2/requests/SQ-20000101-000001.{fmt}")
        assert resp.status_code == 404 and _errors(resp, fmt)[0]["code"] == 404
    assert http.get("/open311/v2/services.csv").status_code == 404


def test_citizen_status_lookup_needs_the_last_four_digits(http: httpx.Client) -> None:
    [created] = _post(http).json()
    rid = created["service_request_id"]
    resp = http.post("/intake/v1/status", json={"ticket_no": rid, "phone_last4": PHONE[-4:]})
    assert resp.status_code == 200
    view = resp.json()
    assert view["ticket_no"] == rid and view["progress"][0]["action"] == "receive"
    assert PHONE not in resp.text and "王" not in resp.text and "路灯" not in resp.text
    assert http.post("/intake/v1/status", json={"ticket_no": rid, "phone_last4": "0000"}).status_code == 404
    assert http.post("/intake/v1/status", json={"ticket_no": rid}).status_code == 400


def test_invalid_order_is_closed_until_an_operator_revalidates_it(http: httpx.Client) -> None:
    [created] = _post(http, description="测试").json()
    rid = created["service_request_id"]
    [item] = http.get(f"/open311/v2/requests/{rid}.json").json()
    assert item["status"] == "closed" and "回访" in item["status_notes"]

    url = f"/intake/v1/tickets/{rid}/revalidate"
    assert http.post(url, json={"operator_id": "OP-1"}, headers={"X-Operator-Key": "bad"}).status_code == 403
    resp = http.post(url, json={"operator_id": "OP-1", "note": "回访确认有效"},
                     headers={"X-Operator-Key": OPERATOR_KEY})
    # the live status: the order already flows on, so the classifier may have taken it
    assert resp.status_code == 200 and resp.json()["outcome"] == "ok"
    assert resp.json()["status"] in {"received", "classified", "triage", "dispatched"}
    again = http.post(url, json={"operator_id": "OP-1"}, headers={"X-Operator-Key": OPERATOR_KEY})
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    item = _wait(http, rid, lambda i: i["agency_responsible"] is not None)
    assert item["status"] == "open" and item["agency_responsible"]
    missing = http.post("/intake/v1/tickets/SQ-20000101-000001/revalidate", json={"operator_id": "OP-1"},
                        headers={"X-Operator-Key": OPERATOR_KEY})
    assert missing.status_code == 404
