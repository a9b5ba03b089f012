"""Intake's own HTTP endpoints: the citizen status lookup and the operator's revalidation."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from suqiu.services.intake.handlers import IntakeHandler
from suqiu.services.intake.metrics import IntakeMetrics
from suqiu.services.intake.open311 import Catalog, _iso
from suqiu.services.intake.repository import IntakeRepository
from suqiu.services.intake.settings import IntakeSettings
from suqiu.shared.contracts import WorkOrder
from suqiu.shared.errors import PermanentError

__all__ = ["IntakeHttpApi", "progress_view"]

_STATUS_ZH = {
    "received": "已受理", "classified": "已分类", "triage": "人工分拨中", "dispatched": "已派单办理",
    "invalid": "待回访核实",
}
_ACTION_ZH = {
    "receive": "受理", "revalidate": "核实后受理", "classify": "分类", "dispatch": "派单",
}
_FAILURE_WINDOW_S = 900.0
_MAX_TRACKED = 10_000


def progress_view(order: WorkOrder, catalog: Catalog) -> dict[str, Any]:
    """What a citizen may see of their order: progress, no personal data, no free text."""
    return {
        "ticket_no": order.ticket_no,
        "status": order.status.value,
        "status_zh": _STATUS_ZH.get(order.status.value, order.status.value),
        "channel": order.channel.value,
        "received_at": _iso(order.received_at),
        "promised_by": _iso(order.promised_by),
        "category": order.classification.category if order.classification else None,
        "department": catalog.department_name(order),
        "expected_datetime": _iso(_expected(order)),
        "progress": [{"at": _iso(h.at), "action": h.action,
                      "action_zh": _ACTION_ZH.get(h.action, h.action), "status": h.to_status.value}
                     for h in order.history],
    }


def _error(status: int, code: str, en: str, zh: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": en, "message_zh": zh}}, status_code=status)


class IntakeHttpApi:
    def __init__(self, repo: IntakeRepository, handler: IntakeHandler, catalog: Catalog,
                 settings: IntakeSettings, metrics: IntakeMetrics) -> None:
        self._repo = repo
        self._handler = handler
        self._catalog = catalog
        self._settings = settings
        self._metrics = metrics
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def routes(self) -> list[Route]:
        return [
            Route("/intake/v1/status", self.status, methods=["POST"]),
            Route("/intake/v1/tickets/{ticket_no}/revalidate", self.revalidate, methods=["POST"]),
        ]

    async def _body(self, request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                data = await request.json()
            except ValueError:
                return {}
            return data if isinstance(data, dict) else {}
        return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}

    async def status(self, request: Request) -> Response:
        """Ticket number + last 4 digits of the phone -> progress. Wrong digits look like an
        unknown ticket, and repeated failures per ticket are throttled."""
        response = await self._status(request)
        self._metrics.http.labels("status", str(response.status_code)).inc()
        return response

    async def _status(self, request: Request) -> Response:
        body = await self._body(request)
        ticket_no = str(body.get("ticket_no") or "").strip()[:64]
        last4 = str(body.get("phone_last4") or "").strip()
        if not ticket_no or not (len(last4) == 4 and last4.isdigit()):
            return _error(400, "invalid_request", "ticket_no and phone_last4 (4 digits) are required",
                          "请提供工单号和手机号后四位")
        now = time.monotonic()
        if len(self._failures) > _MAX_TRACKED:  # bounded memory: forget stale counters
            for key in [k for k, q in self._failures.items() if not q or now - q[-1] > _FAILURE_WINDOW_S]:
                del self._failures[key]
        failures = self._failures[ticket_no]
        while failures and now - failures[0] > _FAILURE_WINDOW_S:
            failures.popleft()
        if len(failures) >= self._settings.status_max_failures:
            return _error(429, "too_many_attempts", "too many failed attempts; try later",
                          "尝试次数过多，请稍后再试")
        order = await self._repo.get(ticket_no)
        phone = order.complainant.phone if order else None
        if order is None or not phone or not phone.endswith(last4):
            failures.append(now)
            return _error(404, "not_found", "no order matches this ticket number and phone",
                          "未找到匹配的工单")
        return JSONResponse(progress_view(order, self._catalog))

    async def revalidate(self, request: Request) -> Response:
        """Operator: the call-back confirmed the complaint; invalid -> received, flows on."""
        key = request.headers.get("x-operator-key", "")
        if not self._settings.operator_key_set or key not in self._settings.operator_key_set:
            return _error(403, "forbidden", "operator key missing or invalid", "操作员密钥无效")
        body = await self._body(request)
        operator = str(body.get("operator_id") or "").strip()
        if not operator or len(operator) > 64:
            return _error(400, "invalid_request", "operator_id is required", "请提供操作员编号")
        note = str(body.get("note") or "")[:500] or None
        ticket_no = request.path_params["ticket_no"]
        try:
            outcome = await self._handler.revalidate(ticket_no, operator, note)
        except PermanentError as exc:
            status = 404 if exc.reason == "unknown_ticket" else 409
            err = exc.errors[0] if exc.errors else None
            return _error(status, exc.reason, err.message if err else exc.reason,
                          getattr(err, "message_zh", "") or "操作失败")
        order = await self._repo.get(ticket_no)
        return JSONResponse({"ticket_no": ticket_no, "outcome": outcome,
                             "status": order.status.value if order else None})


def _expected(order: WorkOrder) -> datetime | None:
    """The stored deadline the complainant waits for: resolution, else the first answer."""
    sla = order.sla
    if sla is not None:
        return sla.resolution_due or sla.due("first_response") or order.promised_by
    return order.promised_by
