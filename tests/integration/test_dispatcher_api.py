"""The dispatcher's department API on a real MongoDB-protocol server: authorisation (department
A cannot read or act on B's orders), masking, the inbox, concurrent commands (one winner),
and mass-incident merging. Events go to a recording publisher; time is injected."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import BaseModel
from starlette.applications import Starlette

from suqiu.services.dispatcher.auth import load_credentials
from suqiu.services.dispatcher.domain import Policy
from suqiu.services.dispatcher.http_api import DispatcherHttpApi
from suqiu.services.dispatcher.metrics import DispatcherMetrics
from suqiu.services.dispatcher.repository import DispatcherRepository
from suqiu.services.dispatcher.routing import RoutingRules
from suqiu.services.dispatcher.service import LifecycleService
from suqiu.shared.contracts import (
    EVENT_ADAPTER,
    Command,
    PendingEvent,
    TicketMassIncident,
    TicketStatus,
    WorkOrder,
)
from suqiu.shared.contracts import LifecycleState as Life
from suqiu.shared.store import Store
from tests.factories import T0, make_order, small_catalogue

pytestmark = pytest.mark.integration

CAT = small_catalogue()
TOKENS = {
    "tok-construction-0001": {"department": "construction"},
    "tok-environment-0001": {"department": "environment"},
    "tok-labour-00000001": {"department": "labour", "unmask": True},
    "tok-supervisor-0001": {"department": "triage", "role": "supervisor", "unmask": True},
    "tok-operator-000001": {"department": "triage", "role": "operator"},
}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Recorder:
    """Stands in for EventPublisher: keeps published events, and commands (mass-incident
    members following their master) for the test to deliver."""

    events: list[BaseModel] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)

    async def publish_event(self, event: BaseModel) -> None:
        self.events.append(event)

    async def publish_pending(self, entry: PendingEvent, ticket_no: str) -> bool:
        if entry.exchange == "intake":
            self.commands.append(Command.model_validate_json(entry.body))
        else:
            self.events.append(EVENT_ADAPTER.validate_json(entry.body))
        return True


@dataclass
class Api:
    client: httpx.AsyncClient
    store: Store
    life: LifecycleService
    published: Recorder

    async def put(self, order: WorkOrder) -> None:
        await self.store.insert_ticket(order)

    async def get(self, ticket_no: str) -> WorkOrder:
        order = await self.store.get_ticket(ticket_no)
        assert order is not None
        return order


def dispatched(ticket_no: str, lead: str = "construction", co: list[str] | None = None,
               **life: Any) -> WorkOrder:
    order = make_order(TicketStatus.DISPATCHED, ticket_no=ticket_no)
    lc = Life(lead=lead, co=co or [], dispatch_round=1, **life)
    assert order.dispatch is not None
    return order.model_copy(update={
        "lifecycle": lc,
        "dispatch": order.dispatch.model_copy(update={"department": lead,
                                                      "co_departments": co or []})})


@pytest.fixture
async def api(mongo_url: str, namespace: str) -> AsyncIterator[Api]:
    store = Store(mongo_url, namespace)
    recorder = Recorder()
    metrics = DispatcherMetrics(CollectorRegistry())
    life = LifecycleService(DispatcherRepository(store), recorder, Policy(CAT), RoutingRules(),
                            metrics, clock=lambda: T0 + timedelta(hours=1))
    creds = load_credentials(json.dumps(TOKENS), None, {d.id for d in CAT.departments})
    app = Starlette(routes=DispatcherHttpApi(life, creds, metrics).routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://dispatcher") as client:
        yield Api(client, store, life, recorder)
    await store.close()


async def test_no_or_wrong_token_is_unauthenticated(api: Api) -> None:
    await api.put(dispatched("SQ-A-1"))
    for headers in ({}, _auth("nope-nope-nope-nope"), {"Authorization": "Basic abc"}):
        r = await api.client.get("/dispatcher/v1/tickets/SQ-A-1", headers=headers)
        assert r.status_code == 401


async def test_department_cannot_read_or_act_on_another_departments_order(api: Api) -> None:
    await api.put(dispatched("SQ-A-2", lead="construction"))
    r = await api.client.get("/dispatcher/v1/tickets/SQ-A-2", headers=_auth("tok-labour-00000001"))
    assert r.status_code == 404
    r = await api.client.post("/dispatcher/v1/tickets/SQ-A-2/commands", json={"action": "sign"},
                              headers=_auth("tok-labour-00000001"))
    assert r.status_code == 404
    assert (await api.get("SQ-A-2")).status is TicketStatus.DISPATCHED
    inbox = (await api.client.get("/dispatcher/v1/inbox",
                                  headers=_auth("tok-labour-00000001"))).json()
    assert "SQ-A-2" not in [o["ticket_no"] for o in inbox["orders"]]


async def test_complainant_is_masked_unless_the_role_allows(api: Api) -> None:
    order = dispatched("SQ-A-3")
    order = order.model_copy(update={"content": order.content.model_copy(
        update={"text": "噪音扰民，请回电13800138000"})})
    await api.put(order)
    masked = (await api.client.get("/dispatcher/v1/tickets/SQ-A-3",
                                   headers=_auth("tok-construction-0001"))).json()
    assert masked["complainant"] == {"name": "张*", "phone": "138****8000", "masked": True}
    assert "13800138000" not in json.dumps(masked, ensure_ascii=False)
    full = (await api.client.get("/dispatcher/v1/tickets/SQ-A-3",
                                 headers=_auth("tok-supervisor-0001"))).json()
    assert full["complainant"]["phone"] == "13800138000"
    assert "13800138000" in full["content"]


async def test_assisting_department_sees_and_signs_but_cannot_return(api: Api) -> None:
    await api.put(dispatched("SQ-A-4", co=["environment"]))
    env = _auth("tok-environment-0001")
    assert (await api.client.get("/dispatcher/v1/tickets/SQ-A-4", headers=env)).status_code == 200
    r = await api.client.post("/dispatcher/v1/tickets/SQ-A-4/commands",
                              json={"action": "return", "reason": "x"}, headers=env)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_lead")
    r = await api.client.post("/dispatcher/v1/tickets/SQ-A-4/commands", json={"action": "sign"},
                              headers=env)
    assert r.status_code == 200 and r.json()["status"] == "dispatched"
    inbox = (await api.client.get("/dispatcher/v1/inbox", headers=env)).json()
    assert [o["ticket_no"] for o in inbox["orders"]] == ["SQ-A-4"]


async def test_illegal_command_is_refused_with_a_reason_code(api: Api) -> None:
    await api.put(dispatched("SQ-A-5"))
    r = await api.client.post("/dispatcher/v1/tickets/SQ-A-5/commands",
                              json={"action": "reply", "summary": "done"},
                              headers=_auth("tok-construction-0001"))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "illegal_state")
    r = await api.client.post("/dispatcher/v1/tickets/SQ-A-5/commands",
                              json={"action": "fly"}, headers=_auth("tok-construction-0001"))
    assert r.status_code == 400


async def test_supervisor_urges_notes_and_reassigns_any_order(api: Api) -> None:
    await api.put(dispatched("SQ-A-6"))
    sup = _auth("tok-supervisor-0001")
    for body in ({"action": "urge", "reason": "尽快"}, {"action": "note", "reason": "抽查"},
                 {"action": "reassign", "target": "labour", "reason": "改派"}):
        r = await api.client.post("/dispatcher/v1/tickets/SQ-A-6/commands", json=body, headers=sup)
        assert r.status_code == 200, r.text
    order = await api.get("SQ-A-6")
    assert order.dispatch is not None and order.dispatch.department == "labour"
    assert [e.type for e in api.published.events] == [  # type: ignore[attr-defined]
        "ticket.urged", "ticket.transferred", "ticket.dispatched"]
    r = await api.client.get("/dispatcher/v1/tickets/SQ-A-6", headers=_auth("tok-labour-00000001"))
    assert r.status_code == 200


async def test_triage_queue_is_for_operators(api: Api) -> None:
    await api.put(make_order(TicketStatus.CLASSIFIED, ticket_no="SQ-A-7").model_copy(
        update={"status": TicketStatus.TRIAGE}))
    assert (await api.client.get("/dispatcher/v1/triage",
                                 headers=_auth("tok-construction-0001"))).status_code == 403
    queue = (await api.client.get("/dispatcher/v1/triage",
                                  headers=_auth("tok-operator-000001"))).json()
    assert [o["ticket_no"] for o in queue["orders"]] == ["SQ-A-7"]
    r = await api.client.post("/dispatcher/v1/tickets/SQ-A-7/commands",
                              json={"action": "assign", "target": "environment"},
                              headers=_auth("tok-operator-000001"))
    assert r.status_code == 200 and r.json()["status"] == "dispatched"


async def test_concurrent_commands_on_one_version_have_exactly_one_winner(api: Api) -> None:
    await api.put(dispatched("SQ-A-8", co=["environment"]))
    version = (await api.get("SQ-A-8")).version
    for _ in range(3):  # two supervisors act at once, both from the same version
        results = await asyncio.gather(*(
            api.client.post("/dispatcher/v1/tickets/SQ-A-8/commands", json={"action": "note",
                            "reason": f"by {i}"}, headers={**_auth("tok-supervisor-0001"),
                                                            "If-Match": f'"{version}"'})
            for i in range(2)))
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 409]
        loser = next(r for r in results if r.status_code == 409)
        assert loser.json()["error"]["code"] == "version_conflict"
        version += 1
    assert (await api.get("SQ-A-8")).version == version


async def test_mass_incident_merge_and_master_actions_apply_to_all(api: Api) -> None:
    for no in ("SQ-M-1", "SQ-M-2", "SQ-M-3"):
        await api.put(dispatched(no))
    event = TicketMassIncident(event_id="SQ-M-3:mass_incident", ticket_no="SQ-M-3",
                               occurred_at=T0, intake_at=T0, cluster_id="c1",
                               master_ticket_no="SQ-M-1", members=["SQ-M-1", "SQ-M-2", "SQ-M-3"],
                               households=3, category="城乡建设")
    assert await api.life.merge(event) == "ok"
    assert await api.life.merge(event) == "duplicate"
    dept = _auth("tok-construction-0001")
    for body in ({"action": "sign"}, {"action": "reply", "summary": "已统一整改"}):
        r = await api.client.post("/dispatcher/v1/tickets/SQ-M-1/commands", json=body,
                                  headers=dept)
        assert r.status_code == 200, r.text
        # The members' copies travelled in the master's outbox; the dispatcher consumes them.
        follows, api.published.commands = api.published.commands, []
        assert {c.ticket_no for c in follows} == {"SQ-M-2", "SQ-M-3"}
        for c in follows:
            assert (await api.life.command(c)).outcome == "ok"
            assert (await api.life.command(c)).outcome == "duplicate"
    for no in ("SQ-M-1", "SQ-M-2", "SQ-M-3"):
        assert (await api.get(no)).status is TicketStatus.REPLIED
    replied = {e.ticket_no for e in api.published.events  # type: ignore[attr-defined]
               if e.type == "ticket.replied"}  # type: ignore[attr-defined]
    assert replied == {"SQ-M-1", "SQ-M-2", "SQ-M-3"}  # every complainant gets the reply
