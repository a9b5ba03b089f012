"""What the console's screens do: scoped order reads, commands through the dispatcher, calls
through intake, unmask audit and triage labels."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from suqiu.services.console.domain.readmodel import departments_of
from suqiu.services.console.domain.roles import User, can_see_order, dispatcher_credential
from suqiu.services.console.gateways import DispatcherGateway, IntakeGateway
from suqiu.services.console.metrics import ConsoleMetrics
from suqiu.services.console.projector import Projector
from suqiu.services.console.repository import ConsoleRepository
from suqiu.shared.contracts import WorkOrder

__all__ = ["ActResult", "ConsoleService", "command_body"]

_TEXT_FIELDS = ("reason", "summary", "target", "satisfaction")


@dataclass(frozen=True)
class ActResult:
    ok: bool
    code: str | None
    order: WorkOrder | None


def command_body(action: str, form: dict[str, str], tz: ZoneInfo) -> dict[str, Any]:
    """The dispatcher command for a console form (empty fields left out)."""
    body: dict[str, Any] = {"action": action}
    for name in _TEXT_FIELDS:
        value = (form.get(name) or "").strip()
        if value:
            body[name] = value
    co = [c for c in (form.get("co") or "").split(",") if c.strip()]
    if co:
        body["co"] = [c.strip() for c in co]
    if form.get("new_due"):
        try:
            body["new_due"] = datetime.fromisoformat(form["new_due"]).replace(tzinfo=tz).isoformat()
        except ValueError:
            body["new_due"] = form["new_due"]
    if form.get("override") == "1":
        body["override"] = True
    return body


class ConsoleService:
    def __init__(self, repo: ConsoleRepository, projector: Projector, dispatcher: DispatcherGateway,
                 intake: IntakeGateway, metrics: ConsoleMetrics, tz: str,
                 clock: Callable[[], datetime]) -> None:
        self.repo = repo
        self._projector = projector
        self._dispatcher = dispatcher
        self._intake = intake
        self._metrics = metrics
        self.tz = ZoneInfo(tz)
        self.now = clock

    async def order_for(self, user: User, ticket_no: str) -> WorkOrder | None:
        """The order if this user may see it (another department's order: None, like absent)."""
        order = await self.repo.order(ticket_no.strip())
        if order is None or not can_see_order(user, departments_of(order)):
            return None
        return order

    async def record_unmask(self, user: User, order: WorkOrder) -> None:
        await self.repo.audit(self.now(), user.username, user.role, order.ticket_no, "unmask")
        self._metrics.unmasked.inc()

    async def act(self, user: User, ticket_no: str, version: int, action: str,
                  form: dict[str, str]) -> ActResult:
        body = command_body(action, form, self.tz)
        body["command_id"] = f"console-{user.username}-{uuid.uuid4().hex}"
        result = await self._dispatcher.command(dispatcher_credential(user), ticket_no, version, body)
        self._metrics.commands.labels(action, "ok" if result.ok else (result.code or "error")).inc()
        order = await self._projector.project(ticket_no)  # the fresh order, list rows follow at once
        if result.ok:
            await self.repo.audit(self.now(), user.username, user.role, ticket_no, action,
                                  f"version {version} -> {result.version}")
        return ActResult(result.ok, result.code, order)

    async def triage(self, user: User, order: WorkOrder, version: int, category: str,
                     department: str, co: str) -> ActResult:
        """Dispatch from the triage queue; the decision is kept as a correction label."""
        result = await self.act(user, order.ticket_no, version, "assign",
                                {"target": department, "co": co, "reason": f"人工分拨：{category}"})
        if result.ok:
            c = order.classification
            await self.repo.label({
                "_id": f"{order.ticket_no}|{version}", "at": self.now(), "ticket_no": order.ticket_no,
                "by": user.username, "source": "triage",
                "predicted_category": c.category if c else None,
                "predicted_department": c.department if c else None,
                "confidence": c.confidence if c else None,
                "category": category, "department": department, "text": order.analysis_text})
        return result

    async def submit_call(self, user: User, form: dict[str, str]) -> str:
        """Publish the call as the hotline channel does; returns the intake key to wait for."""
        now = self.now()
        call_id = f"{now.astimezone(self.tz):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
        envelope = {
            "type": "intake.submitted", "schema_version": 1, "channel": "hotline",
            "channel_message_id": f"CONSOLE-{call_id}", "received_at": now.isoformat(),
            "complainant": {k: v for k, v in {
                "name": form.get("name", "").strip() or None,
                "phone": form.get("phone", "").strip() or None,
                "contact_preference": "sms" if form.get("phone") else None,
                "consent_to_contact": form.get("consent") == "1",
                "anonymous": form.get("anonymous") == "1"}.items() if v is not None},
            "content": {"text": form.get("text", "").strip()},
            "location": {"address": form.get("address", "").strip() or None},
            "channel_details": {"line": "12345", "call_id": call_id, "agent_id": user.username,
                                "call_ended_at": now.isoformat(), "entered_via": "console"},
        }
        await self._intake.publish_call(envelope)
        self._metrics.calls.inc()
        return f"hotline:{envelope['channel_message_id']}"

    async def wait_for_intake(self, intake_key: str, seconds: float = 8.0) -> WorkOrder | None:
        import asyncio

        deadline = self.now() + timedelta(seconds=seconds)
        while self.now() < deadline:
            order = await self.repo.order_by_intake_key(intake_key)
            if order is not None:
                return order
            await asyncio.sleep(0.25)
        return None
