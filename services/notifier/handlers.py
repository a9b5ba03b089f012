"""Notifier subscriber and HTTP routes: events in, notifications out; provider delivery
reports in; the per-ticket delivery log out."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

import structlog
from faststream.rabbit import RabbitBroker
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from suqiu.services.notifier.delivery import Deliverer
from suqiu.services.notifier.metrics import NotifierMetrics
from suqiu.shared.contracts import EVENT_ADAPTER, TicketEvent
from suqiu.shared.messaging import ReliableConsumer
from suqiu.shared.topology import Topology

__all__ = ["NotifierHandler", "register", "routes"]

log = structlog.get_logger(__name__)
REPORT_STATUSES = {"delivered": "delivered", "failed": "failed", "undeliverable": "failed"}


class NotifierHandler:
    def __init__(self, deliverer: Deliverer, metrics: NotifierMetrics,
                 report_token: SecretStr | None = None) -> None:
        self.deliverer = deliverer
        self._metrics = metrics
        self._token = report_token.get_secret_value() if report_token else None

    async def on_event(self, event: TicketEvent) -> str:
        structlog.contextvars.bind_contextvars(ticket_no=event.ticket_no)
        return await self.deliverer.notify(event)

    async def delivery_report(self, request: Request) -> JSONResponse:
        """POST /notifier/delivery-reports/{channel}: {"provider_id", "status", "error"?} or a
        list of them; status delivered | failed | undeliverable."""
        if self._token and not hmac.compare_digest(
                request.headers.get("authorization", ""), f"Bearer {self._token}"):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        channel = request.path_params["channel"]
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        reports = body if isinstance(body, list) else [body]
        results = []
        for r in reports:
            if not isinstance(r, dict) or not r.get("provider_id") or \
                    r.get("status") not in REPORT_STATUSES:
                results.append({"provider_id": None, "result": "invalid"})
                continue
            results.append({"provider_id": r["provider_id"],
                            "result": await self._apply_report(channel, r)})
        return JSONResponse({"results": results})

    async def _apply_report(self, channel: str, report: dict[str, Any]) -> str:
        log_ = self.deliverer.log
        doc = await log_.by_provider_id(str(report["provider_id"]))
        if doc is None or doc["channel"] != channel:
            return "unknown"
        status = REPORT_STATUSES[report["status"]]
        self._metrics.reports.labels(channel, status).inc()
        if doc["state"] not in ("sent", "delivered"):
            return "ignored"
        if doc["state"] == status:
            return "duplicate"
        now = self.deliverer.clock()
        detail = str(report.get("error") or "")[:200] or None
        saved = await log_.change(doc, now, state=status, detail=detail,
                                  delivered_at=now if status == "delivered" else None)
        if saved and status != doc["state"]:
            self._metrics.count(channel, doc["event_type"], status)
        return "updated" if saved else "conflict"

    async def ticket_log(self, request: Request) -> JSONResponse:
        """GET /notifier/tickets/{ticket_no}/notifications: the ticket's delivery log."""
        docs = await self.deliverer.log.for_ticket(request.path_params["ticket_no"])
        return JSONResponse({"ticket_no": request.path_params["ticket_no"],
                             "notifications": [_public(d) for d in docs]})


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    out = {("key" if k == "_id" else k): v for k, v in doc.items()}
    return _jsonable(out)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def routes(handler: NotifierHandler) -> list[Route]:
    return [
        Route("/notifier/delivery-reports/{channel}", handler.delivery_report, methods=["POST"]),
        Route("/notifier/tickets/{ticket_no}/notifications", handler.ticket_log,
              methods=["GET"]),
    ]


def register(consumer: ReliableConsumer, broker: RabbitBroker, topology: Topology,
             handler: NotifierHandler, prefetch: int) -> None:
    consumer.subscribe(
        broker, topology.consume_spec("notifier"), prefetch=prefetch,
        parse=EVENT_ADAPTER.validate_python,
        handle=lambda event, _: handler.on_event(event),
        description="Lifecycle events that someone must hear about.",
    )
