"""The real notifier service in-process, on a real RabbitMQ and a real MongoDB-protocol server,
talking to real servers on the loopback: an SMTP server (aiosmtpd), an HTTP server acting as
the SMS and WeChat providers (with outages, 5xx and 4xx on demand) and as a department system
that verifies webhook signatures. Time is injected: quiet hours and backoff need no sleeping.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from suqiu.services.notifier.app import Notifier, build_notifier
from suqiu.services.notifier.rules import verify_webhook
from suqiu.services.notifier.settings import NotifierSettings
from suqiu.shared.contracts import (
    EVENT_ADAPTER,
    Complainant,
    Severity,
    SlaBreached,
    TicketDispatched,
    TicketReceived,
    TicketStatus,
)
from suqiu.shared.messaging import ERROR_REASON_HEADER
from suqiu.shared.settings import CommonSettings
from suqiu.shared.store import Store
from suqiu.stack import free_port
from tests.factories import make_classification, make_order
from tests.integration.helpers import get_message, wait_for

pytestmark = pytest.mark.integration

DAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 Asia/Shanghai
NIGHT = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)  # 23:30 Asia/Shanghai
MORNING = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # 08:00 Asia/Shanghai
HOOK_SECRET = "hook-secret-for-tests"
SUPERVISOR = "oSupervisor0001"


# --- loopback servers -----------------------------------------------------------------------
@dataclass
class Providers:
    """SMS provider, WeChat API and a department system, with switchable failure modes."""

    port: int = 0
    sms_mode: str = "ok"  # ok | 503 | 400
    wechat_errcode: int = 0
    sms: list[dict[str, Any]] = field(default_factory=list)
    wechat: list[dict[str, Any]] = field(default_factory=list)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    _refs: dict[str, str] = field(default_factory=dict)

    def app(self) -> Starlette:
        async def sms(request: Request) -> JSONResponse:
            if self.sms_mode == "503":
                return JSONResponse({"error": "maintenance"}, status_code=503)
            if self.sms_mode == "400":
                return JSONResponse({"error": "invalid number"}, status_code=400)
            body = await request.json()
            if body["ref"] not in self._refs:  # providers de-duplicate on the reference
                self._refs[body["ref"]] = uuid.uuid4().hex
                self.sms.append(body | {"auth": request.headers.get("authorization")})
            return JSONResponse({"id": self._refs[body["ref"]]})

        async def wechat(request: Request) -> JSONResponse:
            body = await request.json()
            if self.wechat_errcode:
                return JSONResponse({"errcode": self.wechat_errcode, "errmsg": "invalid openid"})
            self.wechat.append(body | {"token": request.query_params.get("access_token")})
            return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": len(self.wechat)})

        async def hook(request: Request) -> JSONResponse:
            raw = await request.body()
            ok = verify_webhook(HOOK_SECRET, int(request.headers["x-suqiu-timestamp"]), raw,
                                request.headers["x-suqiu-signature"], datetime.now(UTC))
            if not ok:
                return JSONResponse({"error": "bad signature"}, status_code=401)
            self.hooks.append(json.loads(raw))
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/sms", sms, methods=["POST"]),
                                 Route("/wechat", wechat, methods=["POST"]),
                                 Route("/hook", hook, methods=["POST"])])


@pytest.fixture
async def providers() -> AsyncIterator[Providers]:
    p = Providers(port=free_port())
    server = uvicorn.Server(uvicorn.Config(p.app(), host="127.0.0.1", port=p.port,
                                           log_config=None, access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve())
    assert await wait_for(lambda: _true(server.started)), "provider server did not start"
    try:
        yield p
    finally:
        server.should_exit = True
        await task


async def _true(value: bool) -> bool:
    return value


class Mailbox:
    """aiosmtpd handler: keeps every accepted message; refuses one address with 550."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


# --- the service ------------------------------------------------------------------------------
class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Running:
    notifier: Notifier
    clock: FakeClock
    providers: Providers
    mailbox: Mailbox
    store: Store
    exchange: aio_pika.abc.AbstractExchange
    channel: aio_pika.abc.AbstractChannel

    @property
    def namespace(self) -> str:
        return self.notifier.runtime.topology.namespace

    async def ticket(self, **overrides: Any) -> str:
        ticket_no = f"SQ-20261123-{uuid.uuid4().int % 1_000_000:06d}"
        overrides.setdefault("classification", make_classification(
            department="construction_bureau"))
        order = make_order(TicketStatus.DISPATCHED, ticket_no=ticket_no, now=DAY,
                           intake_key=f"hotline:{ticket_no}", **overrides)
        await self.store.insert_ticket(order)
        return ticket_no

    async def publish(self, event: Any) -> None:
        await self.exchange.publish(aio_pika.Message(
            EVENT_ADAPTER.dump_json(event), message_id=event.event_id,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=event.type)

    async def log(self, ticket_no: str, n: int = 1, *, states: set[str] | None = None,
                  ) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]]:
            docs = await self.store.collection("notifications").find(
                {"ticket_no": ticket_no}).to_list(None)
            ok = len(docs) >= n and (states is None or all(d["state"] in states for d in docs))
            return docs if ok else []
        docs = await wait_for(probe)
        assert docs, f"no {n} notification(s) in {states} for {ticket_no}"
        return docs

    def counter(self, **labels: str) -> float:
        return self.notifier.runtime.registry.get_sample_value(
            "suqiu_notifier_notifications_total", labels) or 0.0


def _config(tmp_path: Path, providers: Providers) -> Path:
    path = tmp_path / "notifier.yaml"
    path.write_text(json.dumps({
        "wechat_templates": {"sla.breached": "TPL-BREACH"},
        "escalation_levels": [{"name": "市级督办", "departments": ["city_gov"]}],
        "extension_approvers": {"default": ["hotline_centre"]},
        "departments": {
            "construction_bureau": {
                "email": ["gongdan@jianshe.example.gov.cn"],
                "webhook": {"url": f"http://127.0.0.1:{providers.port}/hook",
                            "secret_env": "TEST_HOOK_SECRET"},
                "supervisor_wechat_openid": SUPERVISOR},
            "urban_management_bureau": {"email": ["gongdan@cgj.example.gov.cn"],
                                        "digest_minutes": 30},
            "transport_bureau": {"email": ["nobody@jt.example.gov.cn"]},
        }}, ensure_ascii=False), "utf-8")
    return path


@pytest.fixture
async def svc(amqp_url: str, mongo_url: str, namespace: str, providers: Providers,
              smtp: tuple[Mailbox, int], tmp_path: Path) -> AsyncIterator[Running]:
    common = CommonSettings(AMQP_URL=amqp_url, MONGO_URL=mongo_url,  # type: ignore[call-arg]
                            mongo_db=namespace, namespace=namespace)
    settings = NotifierSettings(
        http_port=0, config_path=_config(tmp_path, providers),
        sms_url=f"http://127.0.0.1:{providers.port}/sms", sms_api_key=SecretStr("k-123"),
        wechat_url=f"http://127.0.0.1:{providers.port}/wechat",
        wechat_access_token=SecretStr("wx-token"),
        smtp_host="127.0.0.1", smtp_port=smtp[1], retry_base_s=10, retry_cap_s=60,
        max_attempts=3, release_interval_s=3600, report_token=SecretStr("report-token"))
    clock = FakeClock(DAY)
    notifier = build_notifier(common, settings, clock=clock,
                              env={"TEST_HOOK_SECRET": HOOK_SECRET})
    store = Store(mongo_url, namespace)
    conn = await aio_pika.connect(amqp_url)
    try:
        async with notifier.runtime.lifespan():
            channel = await conn.channel()
            exchange = await channel.get_exchange(f"{namespace}.events")
            yield Running(notifier, clock, providers, smtp[0], store, exchange, channel)
    finally:
        await conn.close()
        await store.db.client.drop_database(namespace)
        await store.close()


def _received(ticket_no: str) -> TicketReceived:
    return TicketReceived(event_id=f"{ticket_no}:received", ticket_no=ticket_no,
                          occurred_at=DAY, intake_at=DAY, channel="hotline")


def _dispatched(ticket_no: str, department: str = "construction_bureau",
                severity: Severity = Severity.GENERAL) -> TicketDispatched:
    return TicketDispatched(event_id=f"{ticket_no}:dispatched", ticket_no=ticket_no,
                            occurred_at=DAY, intake_at=DAY, department=department,
                            severity=severity, sign_for_due=DAY + timedelta(hours=4),
                            resolution_due=DAY + timedelta(days=5))


# --- tests -------------------------------------------------------------------------------------
async def test_receipt_sms_is_sent_once_even_when_the_event_is_redelivered(svc: Running) -> None:
    ticket_no = await svc.ticket()
    await svc.publish(_received(ticket_no))
    await svc.publish(_received(ticket_no))
    [doc] = await svc.log(ticket_no, states={"sent"})
    assert await wait_for(lambda: _true(svc.counter(
        channel="sms", event="ticket.received", outcome="deduplicated") >= 1))
    assert len(svc.providers.sms) == 1
    sms = svc.providers.sms[0]
    assert sms["to"] == "13800138000" and ticket_no in sms["text"]
    assert sms["auth"] == "Bearer k-123" and sms["ref"] == doc["_id"]
    assert doc["recipient_masked"] == "138****8000" and doc["attempts"] == 1
    assert doc["provider_id"] and "13800138000" not in json.dumps(doc, default=str)
    assert svc.counter(channel="sms", event="ticket.received", outcome="sent") == 1


async def test_delivery_report_and_the_per_ticket_log_over_http(svc: Running) -> None:
    ticket_no = await svc.ticket()
    await svc.publish(_received(ticket_no))
    [doc] = await svc.log(ticket_no, states={"sent"})
    transport = httpx.ASGITransport(app=svc.notifier.runtime.asgi())
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as http:
        report = {"provider_id": doc["provider_id"], "status": "delivered"}
        denied = await http.post("/notifier/delivery-reports/sms", json=report)
        assert denied.status_code == 401
        auth = {"Authorization": "Bearer report-token"}
        resp = await http.post("/notifier/delivery-reports/sms", json=[report], headers=auth)
        assert resp.json()["results"] == [{"provider_id": doc["provider_id"],
                                           "result": "updated"}]
        again = await http.post("/notifier/delivery-reports/sms", json=report, headers=auth)
        assert again.json()["results"][0]["result"] == "duplicate"
        unknown = await http.post("/notifier/delivery-reports/sms", headers=auth,
                                  json={"provider_id": "nope", "status": "delivered"})
        assert unknown.json()["results"][0]["result"] == "unknown"
        logged = (await http.get(f"/notifier/tickets/{ticket_no}/notifications")).json()
    [entry] = logged["notifications"]
    assert entry["state"] == "delivered" and entry["delivered_at"]
    assert [h["state"] for h in entry["history"]] == ["queued", "sent", "delivered"]
    assert entry["recipient_masked"] == "138****8000" and "event" not in entry


async def test_dispatch_reaches_inbox_email_and_signed_webhook(svc: Running) -> None:
    ticket_no = await svc.ticket()
    await svc.publish(_dispatched(ticket_no))
    docs = await svc.log(ticket_no, 3, states={"sent"})
    assert {d["channel"] for d in docs} == {"inbox", "email", "webhook"}
    [mail] = svc.mailbox.messages
    assert mail["To"] == "gongdan@jianshe.example.gov.cn"
    assert mail["Subject"] == f"新工单{ticket_no}（一般）"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert f"新工单{ticket_no}：城乡建设/施工扰民" in text and "<p>新工单" in html
    [hook] = svc.providers.hooks
    assert hook["ticket_no"] == ticket_no and hook["event_type"] == "ticket.dispatched"
    inbox = await svc.store.find_one("inbox", {"ticket_no": ticket_no})
    assert inbox is not None and inbox["event_type"] == "ticket.dispatched"


async def test_breach_tells_the_supervisor_on_wechat(svc: Running) -> None:
    ticket_no = await svc.ticket()
    breach = SlaBreached(event_id=f"{ticket_no}:sign_for:breach", ticket_no=ticket_no,
                         occurred_at=DAY, intake_at=DAY, step="sign_for",
                         department="construction_bureau", due_at=DAY - timedelta(minutes=30),
                         lateness_seconds=1800)
    await svc.publish(breach)
    docs = await svc.log(ticket_no, 4, states={"sent"})
    [wx] = [d for d in docs if d["channel"] == "wechat"]
    assert wx["audience"] == "supervisor" and wx["recipient_masked"] == "oSup***"
    [msg] = svc.providers.wechat
    assert (msg["touser"], msg["template_id"], msg["token"]) == (SUPERVISOR, "TPL-BREACH",
                                                                 "wx-token")
    assert msg["data"]["keyword1"]["value"] == ticket_no


async def test_escalation_extension_request_and_triage_reach_their_people(
        svc: Running) -> None:
    """The events the dispatcher and classifier publish that once reached nobody."""
    from suqiu.shared.contracts import TicketEscalated, TicketExtensionRequested, TicketTriageRequired

    ticket_no = await svc.ticket()
    life = {"ticket_no": ticket_no, "occurred_at": DAY, "intake_at": DAY, "version": 9,
            "actor": "supervisor", "from_status": "in_progress", "to_status": "in_progress"}
    await svc.publish(TicketEscalated(event_id=f"{ticket_no}:escalated:9", **life,
                                      department="construction_bureau",
                                      escalated_to="leadership", level=2, reason="两次不满意"))
    await svc.publish(TicketExtensionRequested(
        event_id=f"{ticket_no}:extension_requested:9", **life, department="construction_bureau",
        requested_resolution_due=DAY + timedelta(days=9), reason="需现场勘验"))
    await svc.publish(TicketTriageRequired(
        event_id=f"{ticket_no}:triage_required", ticket_no=ticket_no, occurred_at=DAY,
        intake_at=DAY, category="城乡建设", department="construction_bureau", confidence=0.2,
        threshold=0.35))

    async def inboxes() -> set[tuple[str, str]]:
        docs = await svc.store.collection("notifications").find(
            {"ticket_no": ticket_no}).to_list(None)
        return {(d["event_type"], d["department"]) for d in docs if d["channel"] == "inbox"}

    want = {("ticket.escalated", "construction_bureau"), ("ticket.escalated", "city_gov"),
            ("ticket.extension_requested", "hotline_centre"),
            ("ticket.triage_required", "hotline_triage")}
    got = await wait_for(lambda: _superset(inboxes, want))
    assert got == want  # and no "leadership" recipient


async def _superset(probe: Any, want: set[tuple[str, str]]) -> set[tuple[str, str]]:
    got = await probe()
    return got if got >= want else set()


async def test_quiet_hours_hold_the_receipt_until_the_morning(svc: Running) -> None:
    svc.clock.now = NIGHT
    ticket_no = await svc.ticket()
    await svc.publish(_received(ticket_no))
    [doc] = await svc.log(ticket_no, states={"held"})
    assert doc["hold_reason"] == "quiet_hours" and doc["due_at"] == MORNING
    assert svc.providers.sms == []
    assert await svc.notifier.deliverer.release_due(MORNING - timedelta(minutes=1)) == 0
    assert svc.providers.sms == []
    gauge = svc.notifier.runtime.registry.get_sample_value(
        "suqiu_notifier_waiting_notifications", {"state": "held"})
    assert gauge == 1
    svc.clock.now = MORNING
    assert await svc.notifier.deliverer.release_due(MORNING) == 1
    [doc] = await svc.log(ticket_no, states={"sent"})
    assert len(svc.providers.sms) == 1 and ticket_no in svc.providers.sms[0]["text"]


async def test_urgent_safety_case_is_not_held_at_night(svc: Running) -> None:
    svc.clock.now = NIGHT
    ticket_no = await svc.ticket(classification=make_classification(
        department="construction_bureau", severity=Severity.URGENT))
    await svc.publish(_received(ticket_no))
    await svc.log(ticket_no, states={"sent"})
    assert len(svc.providers.sms) == 1


async def test_provider_outage_retries_with_backoff_and_drains_when_back(svc: Running) -> None:
    svc.providers.sms_mode = "503"
    ticket_no = await svc.ticket()
    await svc.publish(_received(ticket_no))
    [doc] = await svc.log(ticket_no, states={"retrying"})
    assert doc["attempts"] == 1 and doc["due_at"] == DAY + timedelta(seconds=10)
    d = svc.notifier.deliverer
    assert await d.release_due(DAY + timedelta(seconds=9)) == 0
    assert await d.release_due(DAY + timedelta(seconds=10)) == 1  # still down: backoff doubles
    [doc] = await svc.log(ticket_no, states={"retrying"})
    assert doc["attempts"] == 2 and doc["due_at"] == DAY + timedelta(seconds=30)
    svc.providers.sms_mode = "ok"
    assert await d.release_due(DAY + timedelta(seconds=30)) == 1
    [doc] = await svc.log(ticket_no, states={"sent"})
    assert doc["attempts"] == 3 and len(svc.providers.sms) == 1
    assert svc.counter(channel="sms", event="ticket.received", outcome="retried") == 2


async def test_permanent_refusals_are_recorded_and_not_retried(svc: Running) -> None:
    svc.providers.sms_mode = "400"
    ticket_no = await svc.ticket()
    await svc.publish(_received(ticket_no))
    [doc] = await svc.log(ticket_no, states={"failed"})
    assert doc["attempts"] == 1 and "HTTP 400" in doc["detail"] and not doc["retryable"]
    # An SMTP 550 for a department address is permanent too.
    other = await svc.ticket(classification=make_classification(department="transport_bureau"))
    await svc.publish(_dispatched(other, "transport_bureau"))
    docs = await svc.log(other, 2, states={"sent", "failed"})
    [mail] = [d for d in docs if d["channel"] == "email"]
    assert mail["state"] == "failed" and "550" in mail["detail"]
    assert await svc.notifier.deliverer.release_due(DAY + timedelta(days=1)) == 0


async def test_exhausted_retries_are_dead_lettered_and_a_replay_sends(svc: Running) -> None:
    svc.providers.sms_mode = "503"
    ticket_no = await svc.ticket()
    await svc.publish(_received(ticket_no))
    await svc.log(ticket_no, states={"retrying"})
    d = svc.notifier.deliverer
    await d.release_due(DAY + timedelta(minutes=1))
    await d.release_due(DAY + timedelta(minutes=2))
    [doc] = await svc.log(ticket_no, states={"failed"})
    assert doc["attempts"] == 3 and doc["retryable"]
    assert doc["detail"].startswith("retries_exhausted")
    dlq = await svc.channel.declare_queue(f"{svc.namespace}.notifier.dlq", passive=True)
    msg = await get_message(dlq)
    assert msg is not None and msg.headers[ERROR_REASON_HEADER] == "retries_exhausted"
    assert msg.message_id == f"{ticket_no}:received"
    assert msg.headers["x-suqiu-original-routing-key"] == "ticket.received"
    # After the outage, an operator replays the dead letter: it is sent exactly once.
    svc.providers.sms_mode = "ok"
    await svc.exchange.publish(aio_pika.Message(msg.body, message_id=msg.message_id),
                               routing_key="ticket.received")
    [doc] = await svc.log(ticket_no, states={"sent"})
    assert len(svc.providers.sms) == 1


async def test_department_digest_batches_e_mail_per_interval(svc: Running) -> None:
    dept = "urban_management_bureau"
    tickets = [await svc.ticket(classification=make_classification(department=dept))
               for _ in range(2)]
    for t in tickets:
        await svc.publish(_dispatched(t, dept))
    for t in tickets:
        docs = await svc.log(t, 2)
        [mail] = [x for x in docs if x["channel"] == "email"]
        assert mail["state"] == "held" and mail["hold_reason"] == "digest"
    assert svc.mailbox.messages == []
    await svc.notifier.deliverer.release_due(DAY + timedelta(minutes=30))
    [digest] = svc.mailbox.messages
    assert digest["Subject"] == "工单通知汇总（2条）"
    body = digest.get_body(preferencelist=("plain",)).get_content()
    assert all(t in body for t in tickets)
    for t in tickets:
        await svc.log(t, 2, states={"sent"})


async def test_complainant_preferring_email_gets_the_receipt_by_email(svc: Running) -> None:
    ticket_no = await svc.ticket(complainant=Complainant(
        email="zhang@example.com", contact_preference="email", consent_to_contact=True))
    await svc.publish(_received(ticket_no))
    [doc] = await svc.log(ticket_no, states={"sent"})
    assert doc["channel"] == "email" and doc["recipient_masked"] == "z***@example.com"
    [mail] = svc.mailbox.messages
    assert mail["To"] == "zhang@example.com" and ticket_no in mail["Subject"]


async def test_wechat_error_code_is_a_permanent_failure(svc: Running) -> None:
    svc.providers.wechat_errcode = 40003  # invalid openid
    ticket_no = await svc.ticket()
    await svc.publish(SlaBreached(
        event_id=f"{ticket_no}:resolution:breach", ticket_no=ticket_no, occurred_at=DAY,
        intake_at=DAY, step="resolution", department="construction_bureau", due_at=DAY,
        lateness_seconds=60))
    docs = await svc.log(ticket_no, 4, states={"sent", "failed"})
    [wx] = [d for d in docs if d["channel"] == "wechat"]
    assert wx["state"] == "failed" and wx["detail"] == "WeChat errcode 40003"
    assert svc.counter(channel="wechat", event="sla.breached", outcome="failed") == 1


async def test_a_send_whose_sender_crashed_is_taken_over_after_its_lease(svc: Running) -> None:
    ticket_no = await svc.ticket()
    event = _received(ticket_no)
    d = svc.notifier.deliverer
    order = await svc.store.get_ticket(ticket_no)
    assert order is not None
    [n] = d.planner.plan(event, order)
    # A replica claimed the notification, then died before the provider call.
    await d.log.begin(n, json.loads(EVENT_ADAPTER.dump_json(event)), DAY, state="queued",
                      due_at=DAY + timedelta(seconds=60))
    await svc.publish(event)  # the redelivered event finds it claimed: no second send
    assert await wait_for(lambda: _true(svc.counter(
        channel="sms", event="ticket.received", outcome="deduplicated") >= 1))
    assert svc.providers.sms == []
    assert await d.release_due(DAY + timedelta(seconds=59)) == 0
    assert await d.release_due(DAY + timedelta(seconds=60)) == 1
    [doc] = await svc.log(ticket_no, states={"sent"})
    assert len(svc.providers.sms) == 1 and doc["attempts"] == 1
