"""The dispatcher's message handlers on a real MongoDB-protocol server: delivered twice, one
effect; bad commands are permanent errors (dead-lettered); a classified order is dispatched
once and its event re-emitted with the same id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from suqiu.services.dispatcher.domain import Policy
from suqiu.services.dispatcher.handlers import INPUT_ADAPTER, DispatcherHandler
from suqiu.services.dispatcher.metrics import DispatcherMetrics
from suqiu.services.dispatcher.repository import DispatcherRepository
from suqiu.services.dispatcher.routing import RoutingRules
from suqiu.services.dispatcher.service import LifecycleService
from suqiu.shared.contracts import Command, TicketClassified, TicketStatus
from suqiu.shared.errors import PermanentError
from suqiu.shared.store import Store
from tests.factories import T0, make_order, small_catalogue
from tests.integration.test_dispatcher_api import Recorder, dispatched

pytestmark = pytest.mark.integration

CAT = small_catalogue()


@pytest.fixture
async def parts(mongo_url: str, namespace: str) -> AsyncIterator[tuple[DispatcherHandler, Store,
                                                                       Recorder]]:
    store = Store(mongo_url, namespace)
    rec = Recorder()
    life = LifecycleService(DispatcherRepository(store), rec, Policy(CAT), RoutingRules(),
                            DispatcherMetrics(CollectorRegistry()),
                            clock=lambda: T0 + timedelta(hours=1))
    yield DispatcherHandler(life), store, rec
    await store.close()


def _sign(ticket_no: str, command_id: str = "cmd-1") -> Command:
    return INPUT_ADAPTER.validate_python({
        "type": "dispatcher.command", "command_id": command_id, "ticket_no": ticket_no,
        "action": "sign", "actor": "construction", "role": "department",
        "department": "construction"})


async def test_a_command_delivered_twice_has_one_effect(parts) -> None:  # type: ignore[no-untyped-def]
    handler, store, rec = parts
    await store.insert_ticket(dispatched("SQ-H-1"))
    assert await handler.on_message(_sign("SQ-H-1")) == "ok"
    assert await handler.on_message(_sign("SQ-H-1")) == "duplicate"
    order = await store.get_ticket("SQ-H-1")
    assert order is not None and order.status is TicketStatus.SIGNED
    assert [e.type for e in rec.events] == ["ticket.signed"]  # type: ignore[attr-defined]


async def test_bad_commands_are_permanent(parts) -> None:  # type: ignore[no-untyped-def]
    handler, store, _ = parts
    with pytest.raises(PermanentError) as exc:
        await handler.on_message(_sign("SQ-H-none"))
    assert exc.value.reason == "unknown_ticket"
    await store.insert_ticket(dispatched("SQ-H-2", lead="labour"))
    with pytest.raises(PermanentError) as exc:
        await handler.on_message(_sign("SQ-H-2"))
    assert exc.value.reason == "not_your_order"


async def test_classified_is_dispatched_once_and_announced_once(parts) -> None:  # type: ignore[no-untyped-def]
    handler, store, rec = parts
    order = make_order(TicketStatus.CLASSIFIED, ticket_no="SQ-H-3")
    await store.insert_ticket(order)
    event = TicketClassified(event_id="SQ-H-3:classified", ticket_no="SQ-H-3", occurred_at=T0,
                             intake_at=T0, category="城乡建设", department="construction",
                             severity=order.classification.severity,  # type: ignore[union-attr]
                             confidence=0.8)
    assert await handler.on_message(event) == "ok"
    assert await handler.on_message(event) == "duplicate"
    assert [e.event_id for e in rec.events] == ["SQ-H-3:dispatched"]  # type: ignore[attr-defined]
    stored = await store.get_ticket("SQ-H-3")
    assert stored is not None and stored.outbox == {}
