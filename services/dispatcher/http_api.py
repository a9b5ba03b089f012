"""The department / supervisor API: inbox, triage queue, order view (masked) and commands.

Every request authenticates with `Authorization: Bearer <token>`; a department sees and acts
on only the orders it leads or assists (others answer 404, so their existence does not leak);
supervisors (督办) and the centre's operators see every order.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from suqiu.services.dispatcher.auth import Credentials, Principal
from suqiu.services.dispatcher.domain import Refused, lifecycle_of
from suqiu.services.dispatcher.metrics import DispatcherMetrics
from suqiu.services.dispatcher.service import LifecycleService, UnknownTicket
from suqiu.shared.contracts import Command, TicketStatus, WorkOrder
from suqiu.shared.errors import field_errors_from_pydantic
from suqiu.shared.privacy import mask_name, mask_phone, scrub_text
from suqiu.shared.store import StoreUnavailable, VersionConflict

__all__ = ["DispatcherHttpApi", "order_view"]

_CLOSED = {TicketStatus.CLOSED.value, TicketStatus.ARCHIVED.value}
_FORBIDDEN_CODES = {"role_not_allowed", "not_lead"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def can_see(principal: Principal, order: WorkOrder) -> bool:
    """Supervisors and operators see everything; a department its own (lead or assisting)."""
    if principal.role != "department":
        return True
    lc = lifecycle_of(order)
    own = {lc.lead, *lc.co}
    if order.dispatch is not None:
        own |= {order.dispatch.department, *order.dispatch.co_departments}
    return principal.department in own


def order_view(order: WorkOrder, principal: Principal) -> dict[str, Any]:
    """The order as the caller may see it: complainant data masked unless the role allows."""
    c, lc = order.complainant, lifecycle_of(order)
    unmask = principal.unmask
    text = order.content.text
    return {
        "ticket_no": order.ticket_no,
        "version": order.version,
        "status": order.status.value,
        "channel": order.channel.value,
        "received_at": _iso(order.received_at),
        "complainant": {
            "name": c.name if unmask else mask_name(c.name),
            "phone": c.phone if unmask else mask_phone(c.phone),
            "masked": not unmask,
        },
        "content": text if unmask else scrub_text(text),
        "address": order.location.address,
        "category": order.classification.category if order.classification else None,
        "severity": order.classification.severity.value if order.classification else None,
        "lead": lc.lead,
        "co": lc.co,
        "signed": sorted(lc.signed),
        "replied": sorted(lc.replies),
        "sign_for_due": _iso(order.sla.sign_for_due) if order.sla else None,
        "resolution_due": _iso(order.sla.resolution_due) if order.sla else None,
        "revisit_due": _iso(order.sla.due("revisit") if order.sla else lc.revisit_due),
        "deadlines": _deadlines(order),
        "escalation_level": lc.escalation_level,
        "master": lc.master,
        "members": lc.members,
        "history": [{"at": _iso(h.at), "actor": h.actor, "role": h.role, "action": h.action,
                     "from": h.from_status.value if h.from_status else None,
                     "to": h.to_status.value, "reason": h.reason, "note": h.note}
                    for h in order.history],
    }


def _summary(order: WorkOrder) -> dict[str, Any]:
    lc = lifecycle_of(order)
    return {"ticket_no": order.ticket_no, "status": order.status.value, "version": order.version,
            "lead": lc.lead, "co": lc.co,
            "category": order.classification.category if order.classification else None,
            "sign_for_due": _iso(order.sla.sign_for_due) if order.sla else None,
            "resolution_due": _iso(order.sla.resolution_due) if order.sla else None,
            "deadlines": _deadlines(order)}


def _deadlines(order: WorkOrder) -> dict[str, Any]:
    """Every running step's stored deadline (shared.sla) and the policy version behind them."""
    if order.sla is None:
        return {}
    return {"policy_version": order.sla.policy_version, "rule": order.sla.rule,
            "suspended": order.sla.suspended,
            "steps": {k: _iso(v.due_at) for k, v in order.sla.steps.items()}}


class DispatcherHttpApi:
    def __init__(self, lifecycle: LifecycleService, credentials: Credentials,
                 metrics: DispatcherMetrics, inbox_limit: int = 200) -> None:
        self._life = lifecycle
        self._creds = credentials
        self._metrics = metrics
        self._limit = inbox_limit

    def routes(self) -> list[Route]:
        return [
            Route("/dispatcher/v1/inbox", self._wrap("inbox", self.inbox), methods=["GET"]),
            Route("/dispatcher/v1/triage", self._wrap("triage", self.triage), methods=["GET"]),
            Route("/dispatcher/v1/tickets/{ticket_no}", self._wrap("ticket", self.ticket),
                  methods=["GET"]),
            Route("/dispatcher/v1/tickets/{ticket_no}/commands",
                  self._wrap("command", self.command), methods=["POST"]),
        ]

    def _wrap(self, name: str, endpoint: Any) -> Any:
        async def run(request: Request) -> Response:
            principal = self._creds.authenticate(request.headers.get("authorization"))
            if principal is None:
                response: Response = _error(401, "unauthenticated", "a valid bearer token is required")
            else:
                try:
                    response = await endpoint(request, principal)
                except StoreUnavailable:
                    response = _error(503, "store_unavailable", "try again later")
            self._metrics.http.labels(name, str(response.status_code)).inc()
            return response
        return run

    async def inbox(self, request: Request, principal: Principal) -> Response:
        """The caller's orders (lead or assisting), by status, soonest deadline first."""
        status = request.query_params.get("status")
        dept = principal.department
        if principal.role != "department":
            dept = request.query_params.get("department") or ""
        found = await self._life.repo.department_orders(dept or None, status, self._limit)
        orders = [o for o in found  # the orders as stored, whatever their inbox entry said
                  if (o.status.value == status if status else o.status.value not in _CLOSED)
                  and (not dept or can_see(Principal(department=dept), o))]
        orders.sort(key=lambda o: (_iso(o.sla.resolution_due if o.sla else None) or "~",
                                   o.ticket_no))
        return JSONResponse({"department": dept or None,
                             "orders": [_summary(o) for o in orders[: self._limit]]})

    async def triage(self, request: Request, principal: Principal) -> Response:
        """The triage queue (人工分拨): orders no rule or department took, for an operator."""
        if principal.role == "department":
            return _error(403, "forbidden", "the triage queue is for operators and supervisors")
        orders = await self._life.repo.triage_queue(self._limit)
        orders.sort(key=lambda o: (o.received_at, o.ticket_no))
        return JSONResponse({"orders": [_summary(o) for o in orders]})

    async def ticket(self, request: Request, principal: Principal) -> Response:
        try:
            order = await self._life.load(request.path_params["ticket_no"])
        except UnknownTicket:
            order = None
        if order is None or not can_see(principal, order):
            return _error(404, "not_found", "no such order among yours")
        return JSONResponse(order_view(order, principal))

    async def command(self, request: Request, principal: Principal) -> Response:
        ticket_no = request.path_params["ticket_no"]
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, "invalid_request", "a JSON object body is required")
        if_match = request.headers.get("if-match", "").strip('"W/ ')
        if if_match.isdigit() and "expected_version" not in body:
            body["expected_version"] = int(if_match)
        try:
            order = await self._life.load(ticket_no)
        except UnknownTicket:
            order = None
        if order is None or not can_see(principal, order):
            return _error(404, "not_found", "no such order among yours")
        try:
            cmd = Command.model_validate({
                **{k: v for k, v in body.items() if k not in {"actor", "role", "department",
                                                               "ticket_no", "type"}},
                "command_id": str(body.get("command_id") or uuid.uuid4()),
                "ticket_no": ticket_no, "actor": principal.department, "role": principal.role,
                "department": principal.department if principal.role == "department" else None,
            })
        except ValidationError as exc:
            return JSONResponse({"error": {"code": "invalid_request", "fields": [
                e.as_dict() for e in field_errors_from_pydantic(exc)]}}, status_code=400)
        try:
            result = await self._life.command(cmd, order=order)
        except UnknownTicket:
            return _error(404, "not_found", "no such order among yours")
        except Refused as exc:
            if exc.code == "version_conflict":
                return _error(409, "version_conflict", exc.message)
            return _error(403 if exc.code in _FORBIDDEN_CODES else 409, exc.code, exc.message)
        except VersionConflict:
            return _error(409, "version_conflict", "the order changed meanwhile; reload and retry")
        saved = result.order
        return JSONResponse({"ticket_no": saved.ticket_no, "status": saved.status.value,
                             "version": saved.version, "outcome": result.outcome,
                             "events": result.events},
                            headers={"ETag": f'"{saved.version}"'})
