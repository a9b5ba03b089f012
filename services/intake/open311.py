"""The web channel's HTTP face: Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2).

POST requests publishes an `intake.web_form` message to the intake exchange exactly as any
channel system does, so a posted request takes the same path as AMQP intake (normalisation,
idempotency, triage, ticket number, receipt). The response carries the token (the channel
message id) and, when the work order exists within `open311_wait_s`, its service_request_id.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from suqiu.services.intake.contracts import WebForm
from suqiu.services.intake.formats import render
from suqiu.services.intake.metrics import IntakeMetrics
from suqiu.services.intake.repository import IntakeRepository
from suqiu.services.intake.settings import IntakeSettings
from suqiu.shared.catalogue import Catalogue
from suqiu.shared.contracts import WorkOrder
from suqiu.shared.privacy import scrub_text

__all__ = ["Open311Api", "request_view"]

Publish = Callable[[WebForm], Awaitable[None]]
SPEC = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-23T00:00:00Z"
MAX_DESCRIPTION = 4000
DEFAULT_DAYS = 90
_CLOSED = {"invalid", "closed", "archived", "resolved", "cancelled"}
_NOTES = {
    "received": "已受理，正在分类派单 (received, being routed)",
    "classified": "已分类，等待派单 (classified, awaiting dispatch)",
    "triage": "人工分拨中 (manual triage)",
    "dispatched": "已派单至承办单位办理 (dispatched to the responsible department)",
    "invalid": "经审核暂未受理，将电话回访核实 (not accepted after review; we will call back)",
}
_FORMATS = ("json", "xml")


class ApiError(Exception):
    """An Open311 error: HTTP status, the spec's description, and for 400s the field and reason."""

    def __init__(self, status: int, description: str, field: str = "$", reason: str = "invalid",
                 message_zh: str = "请求参数不合法") -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.field = field
        self.reason = reason
        self.message_zh = message_zh


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _parse_date(raw: str | None, field: str) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError as exc:
        raise ApiError(400, f"{field}: not a w3 date-time (e.g. 2026-11-23T10:00:00+08:00)", field,
                       "datetime_parsing", "日期时间格式不正确") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Catalog:
    """Open311 services from the catalogue's subcategories."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.services: dict[str, dict[str, Any]] = {}
        self._by_names: dict[tuple[str, str], str] = {}
        for cat in catalogue.categories:
            for sub in cat.subcategories:
                self.services[sub.code] = {
                    "service_code": sub.code, "service_name": sub.name,
                    "description": f"{cat.name} / {sub.name}", "metadata": True,
                    "type": "realtime", "keywords": ",".join(sub.keywords[:12]), "group": cat.name,
                }
                self._by_names[(cat.name, sub.name)] = sub.code

    def definition(self, code: str) -> dict[str, Any]:
        return {"service_code": code, "attributes": [
            {"variable": True, "code": "demand", "datatype": "text", "required": False,
             "datatype_description": "您希望如何处理 (what you want done)", "order": 1,
             "description": "诉求 (your demand)"},
            {"variable": True, "code": "contact_preference", "datatype": "singlevaluelist",
             "required": False, "datatype_description": "", "order": 2,
             "description": "联系方式偏好 (how we may contact you)",
             "values": [{"key": k, "name": n} for k, n in (
                 ("sms", "短信"), ("phone", "电话"), ("email", "电子邮件"), ("none", "不联系"))]},
            {"variable": True, "code": "consent_to_contact", "datatype": "singlevaluelist",
             "required": False, "datatype_description": "", "order": 3,
             "description": "同意回访联系 (consent to be contacted)",
             "values": [{"key": "true", "name": "同意"}, {"key": "false", "name": "不同意"}]},
        ]}

    def code_of(self, order: WorkOrder) -> str | None:
        posted = order.channel_details.get("service_code")
        if isinstance(posted, str) and posted in self.services:
            return posted
        c = order.classification
        return self._by_names.get((c.category, c.subcategory or "")) if c else None

    def department_name(self, order: WorkOrder) -> str | None:
        if order.dispatch:
            return order.dispatch.department_name
        if order.classification:
            try:
                return self.catalogue.department(order.classification.department).name
            except KeyError:
                return None
        return None


def request_view(order: WorkOrder, catalog: Catalog) -> dict[str, Any]:
    """A work order as an Open311 service request: no contact data, free text masked; the
    location only when the citizen gave it through Open311 (a public report)."""
    code = catalog.code_of(order)
    public = bool(order.channel_details.get("open311"))
    status = order.status.value
    expected = _expected(order)
    return {
        "service_request_id": order.ticket_no,
        "status": "closed" if status in _CLOSED else "open",
        "status_notes": _NOTES.get(status, status),
        "service_name": catalog.services[code]["service_name"] if code else None,
        "service_code": code,
        "description": scrub_text(order.content.text)[:MAX_DESCRIPTION],
        "agency_responsible": catalog.department_name(order),
        "service_notice": None,
        "requested_datetime": _iso(order.received_at),
        "updated_datetime": _iso(order.updated_at),
        "expected_datetime": _iso(expected),
        "address": order.location.address if public else None,
        "address_id": order.channel_details.get("address_id") if public else None,
        "zipcode": None,
        "lat": order.location.lat if public else None,
        "long": order.location.lon if public else None,
        "media_url": next((a.uri for a in order.attachments if a.kind == "photo"), None)
        if public else None,
    }


class Open311Api:
    """Starlette routes of the Open311 endpoints."""

    def __init__(self, repo: IntakeRepository, publish: Publish, catalogue: Catalogue,
                 settings: IntakeSettings, metrics: IntakeMetrics) -> None:
        self._repo = repo
        self._publish = publish
        self._catalog = Catalog(catalogue)
        self._settings = settings
        self._metrics = metrics

    def routes(self) -> list[Route]:
        p = "/open311"
        return [
            Route(p + "/discovery.{fmt}", self._wrap("discovery", self.discovery)),
            Route(p + "/v2/services.{fmt}", self._wrap("services", self.services)),
            Route(p + "/v2/services/{code}.{fmt}", self._wrap("service_definition", self.definition)),
            Route(p + "/v2/requests.{fmt}", self._wrap("requests", self.requests), methods=["GET", "POST"]),
            Route(p + "/v2/requests/{request_id}.{fmt}", self._wrap("request", self.request)),
            Route(p + "/v2/tokens/{token}.{fmt}", self._wrap("token", self.token)),
        ]

    def _wrap(self, name: str, fn: Callable[[Request, str], Awaitable[Response]]
              ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            fmt = request.path_params.get("fmt", "json")
            if fmt not in _FORMATS:
                response = render("json", "errors", [{"code": 404, "description":
                                  f"format {fmt!r} not supported; use json or xml"}], 404)
            else:
                try:
                    response = await fn(request, fmt)
                except ApiError as exc:
                    response = render(fmt, "errors", [{"code": exc.status,
                                                       "description": exc.description}], exc.status)
            self._metrics.http.labels(f"open311.{name}", str(response.status_code)).inc()
            return response
        return endpoint

    async def discovery(self, request: Request, fmt: str) -> Response:
        base = str(request.base_url).rstrip("/") + "/open311/v2/"
        return render(fmt, "discovery", {
            "changeset": CHANGESET, "contact": self._settings.open311_contact,
            "key_service": "api_key: ask the hotline centre's operator",
            "endpoints": [{"specification": SPEC, "url": base, "changeset": CHANGESET,
                           "type": "production", "formats": ["application/json", "text/xml"]}],
        })

    async def services(self, request: Request, fmt: str) -> Response:
        return render(fmt, "services", list(self._catalog.services.values()))

    async def definition(self, request: Request, fmt: str) -> Response:
        code = request.path_params["code"]
        if code not in self._catalog.services:
            raise ApiError(404, f"service_code {code!r} not found")
        return render(fmt, "service_definition", self._catalog.definition(code))

    async def requests(self, request: Request, fmt: str) -> Response:
        if request.method == "POST":
            return await self._post(request, fmt)
        q = request.query_params
        if q.get("service_request_id"):
            orders = [o for rid in q["service_request_id"].split(",")[:100]
                      if (o := await self._repo.get(rid.strip()))]
            return render(fmt, "service_requests", [request_view(o, self._catalog) for o in orders])
        end = _parse_date(q.get("end_date"), "end_date") or datetime.now(UTC)
        start = _parse_date(q.get("start_date"), "start_date") or end - timedelta(days=DEFAULT_DAYS)
        if start > end:
            raise ApiError(400, "start_date must not be after end_date")
        statuses = {s.strip() for s in q.get("status", "").split(",") if s.strip()}
        if statuses - {"open", "closed"}:
            raise ApiError(400, "status: use open and/or closed")
        codes = {c.strip() for c in q.get("service_code", "").split(",") if c.strip()}
        views = [request_view(o, self._catalog) for o in await self._repo.tickets_between(
            start, end, self._settings.open311_max_results)]
        views = [v for v in views if (not statuses or v["status"] in statuses)
                 and (not codes or v["service_code"] in codes)]
        return render(fmt, "service_requests", views)

    async def request(self, request: Request, fmt: str) -> Response:
        order = await self._repo.get(request.path_params["request_id"])
        if order is None:
            raise ApiError(404, "service_request_id not found")
        return render(fmt, "service_requests", [request_view(order, self._catalog)])

    async def token(self, request: Request, fmt: str) -> Response:
        token = request.path_params["token"]
        ticket_no = await self._resolve(token)
        if ticket_no is None:
            raise ApiError(404, "token not found (or not processed yet)")
        return render(fmt, "service_requests", [{"service_request_id": ticket_no, "token": token}])

    async def _resolve(self, token: str) -> str | None:
        key = f"web:{token}"
        order = await self._repo.existing(key)
        if order:
            return order.ticket_no
        link = await self._repo.linked(key)
        return str(link["ticket_no"]) if link else None

    async def _post(self, request: Request, fmt: str) -> Response:
        form = await request.form()
        if not self._settings.api_keys or form.get("api_key") not in self._settings.api_keys:
            raise ApiError(403, "api_key missing or invalid")
        try:
            message = self._web_form(form)
        except ApiError as exc:
            await self._archive(request, form, exc)
            raise
        await self._publish(message)
        token = message.message_id
        ticket_no = await self._wait(token)
        item: dict[str, Any] = {"token": token, "service_notice": (
            "已受理，工单号见 service_request_id；也可凭 token 查询 (accepted)"), "account_id": None}
        if ticket_no:
            item = {"service_request_id": ticket_no, **item}
        return render(fmt, "service_requests", [item], 201)

    async def _wait(self, token: str) -> str | None:
        deadline = time.monotonic() + self._settings.open311_wait_s
        while True:
            ticket_no = await self._resolve(token)
            if ticket_no or time.monotonic() >= deadline:
                return ticket_no
            await asyncio.sleep(0.1)

    def _web_form(self, form: FormData) -> WebForm:
        def field(name: str, limit: int) -> str | None:
            value = str(form.get(name) or "").strip()
            if len(value) > limit:
                raise ApiError(400, f"{name}: longer than {limit} characters", name, "string_too_long",
                               "内容超过长度上限")
            return value or None

        code = field("service_code", 64)
        if not code:
            raise ApiError(400, "service_code: required", "service_code", "missing", "缺少服务类别")
        if code not in self._catalog.services:
            raise ApiError(400, f"service_code {code!r} not found", "service_code", "not_found",
                           "服务类别不存在")
        description = field("description", MAX_DESCRIPTION)
        lat, lon = field("lat", 32), field("long", 32)
        address, address_id = field("address_string", 500), field("address_id", 128)
        coords: tuple[float, float] | None = None
        if lat or lon:
            try:
                coords = (float(lat or ""), float(lon or ""))
            except ValueError as exc:
                raise ApiError(400, "lat/long: both must be decimal degrees", "lat", "float_parsing",
                               "经纬度应为十进制数字") from exc
            if not (-90 <= coords[0] <= 90 and -180 <= coords[1] <= 180):
                raise ApiError(400, "lat/long: out of range", "lat", "out_of_range", "经纬度超出范围")
        if not (coords or address or address_id):
            raise ApiError(400, "location: one of lat+long, address_string or address_id is required",
                           "location", "missing", "请提供经纬度、地址或地址编号")
        email, phone = field("email", 254), field("phone", 32)
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise ApiError(400, "email: not an e-mail address", "email", "invalid_email",
                           "电子邮件地址格式不正确")
        name = "".join(n for n in (field("last_name", 32), field("first_name", 32)) if n) or None
        attributes: dict[str, Any] = {}
        for key, value in form.multi_items():
            m = re.fullmatch(r"attribute\[([A-Za-z0-9_]{1,64})\](\[\])?", key)
            if m and isinstance(value, str):
                if m.group(2):
                    attributes.setdefault(m.group(1), []).append(value[:500])
                else:
                    attributes[m.group(1)] = value[:500]
        preference = attributes.get("contact_preference")
        if preference is not None and preference not in ("sms", "phone", "email", "none"):
            raise ApiError(400, "attribute[contact_preference]: use sms, phone, email or none",
                           "attribute[contact_preference]", "enum", "取值不在允许范围内")
        consent = attributes.get("consent_to_contact")
        media = field("media_url", 2048)
        try:
            return WebForm(
                message_id=f"o311-{uuid.uuid4().hex[:24]}", received_at=datetime.now(UTC),
                form_id="open311", description=description or "",
                demand=str(attributes["demand"])[:2000] if attributes.get("demand") else None,
                name=name, phone=phone, email=email, anonymous=not (name or phone or email),
                contact_preference=preference, consent_to_contact=None if consent is None
                else str(consent).lower() == "true",
                address=address, address_id=address_id, service_code=code, attributes=attributes,
                lat=coords[0] if coords else None, lon=coords[1] if coords else None,
                media_urls=[media] if media else [], account_id=field("account_id", 128),
                device_id=field("device_id", 128),
            )
        except ValueError as exc:
            raise ApiError(400, f"invalid request: {str(exc).splitlines()[0][:200]}", "$", "value_error",
                           "请求参数不合法") from exc

    async def _archive(self, request: Request, form: FormData, exc: ApiError) -> None:
        body = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != "api_key"}
        await self._repo.archive_rejection({
            "_id": f"http.open311:{uuid.uuid4().hex}", "queue": "http.open311", "service": "intake",
            "message_id": None, "routing_key": None, "received_at": datetime.now(UTC),
            "reason": "validation_failed",
            "errors": [{"field": exc.field, "reason": exc.reason, "message": exc.description,
                        "message_zh": exc.message_zh}],
            "headers": {}, "body_form": body, "path": request.url.path,
        })


def _expected(order: WorkOrder) -> datetime | None:
    """The stored deadline the complainant waits for: resolution, else the first answer."""
    sla = order.sla
    if sla is not None:
        return sla.resolution_due or sla.due("first_response") or order.promised_by
    return order.promised_by
