"""Topology names and queue arguments (the pure parts; declaring needs a broker)."""

from __future__ import annotations

import pytest
from faststream.rabbit import ExchangeType
from faststream.rabbit.schemas.queue import QueueType

from suqiu.shared.topology import EVENT_BINDINGS, SERVICES, Topology

pytestmark = pytest.mark.unit


def test_exchange_names_carry_the_namespace() -> None:
    t = Topology(namespace="t42")
    assert (t.intake_exchange, t.events_exchange, t.dead_letter_exchange) == (
        "t42.intake", "t42.events", "t42.dlx")


def test_intake_routing_key() -> None:
    assert Topology.intake_routing_key("wechat") == "intake.wechat"


def test_intake_work_queue_binds_every_channel() -> None:
    wq = Topology(namespace="ns").work_queue("intake")
    assert wq.name == "ns.intake.work"
    assert wq.dlq == "ns.intake.dlq"
    assert wq.exchange == "ns.intake"
    assert wq.binding_keys == ("intake.*",)


@pytest.mark.parametrize("service", [s for s in SERVICES if s != "intake"])
def test_service_queues_bind_their_event_types_on_the_events_exchange(service: str) -> None:
    wq = Topology(namespace="ns").work_queue(service)
    assert wq.name == f"ns.{service}.work"
    assert wq.dlq == f"ns.{service}.dlq"
    assert wq.exchange == "ns.events"
    assert wq.binding_keys == EVENT_BINDINGS[service]


def test_notifier_hears_receipts_dispatches_and_sla_events() -> None:
    keys = Topology().work_queue("notifier").binding_keys
    assert set(keys) == {"ticket.received", "ticket.dispatched", "sla.warning", "sla.breached",
                         "sla.escalated", "ticket.urged", "ticket.replied",
                         "ticket.revisit_requested", "ticket.extension_approved",
                         "ticket.invalid", "ticket.linked", "ticket.escalated",
                         "ticket.extension_requested", "ticket.triage_required"}


def test_dispatcher_hears_classified_mass_incidents_and_department_commands() -> None:
    wq = Topology(namespace="ns").work_queue("dispatcher")
    assert set(wq.binding_keys) == {"ticket.classified", "ticket.mass_incident"}
    assert wq.command_keys == ("command.dispatcher",)
    assert Topology(namespace="ns").work_queue("intake").command_keys == ()
    # the intake queue's own binding cannot catch commands
    assert not any(k.startswith("command") for k in Topology().work_queue("intake").binding_keys)


def test_unknown_service_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown service"):
        Topology().work_queue("billing")


def test_work_queues_lists_one_queue_per_service() -> None:
    names = [wq.name for wq in Topology(namespace="x").work_queues()]
    assert names == [f"x.{s}.work" for s in SERVICES]
    assert len(set(names)) == len(SERVICES)


def test_quorum_queue_spec_dead_letters_with_a_delivery_limit() -> None:
    t = Topology(namespace="ns", delivery_limit=7)
    spec = t.queue_spec(t.work_queue("classifier"))
    assert spec.name == "ns.classifier.work"
    assert spec.durable is True
    assert spec.arguments["x-queue-type"] == QueueType.QUORUM.value
    assert spec.arguments["x-dead-letter-exchange"] == "ns.dlx"
    assert spec.arguments["x-dead-letter-routing-key"] == "ns.classifier.work"
    assert spec.arguments["x-delivery-limit"] == 7


def test_classic_queue_spec_has_no_delivery_limit() -> None:
    t = Topology(namespace="ns", queue_type="classic")
    spec = t.queue_spec(t.work_queue("notifier"))
    assert spec.arguments["x-queue-type"] == QueueType.CLASSIC.value
    assert "x-delivery-limit" not in spec.arguments
    assert spec.arguments["x-dead-letter-exchange"] == "ns.dlx"


def test_consume_spec_does_not_declare() -> None:
    spec = Topology(namespace="ns").consume_spec("dispatcher")
    assert spec.name == "ns.dispatcher.work"
    assert spec.declare is False


def test_dead_letter_exchange_is_direct_and_others_topic() -> None:
    t = Topology(namespace="ns")
    assert t.exchange(t.dead_letter_exchange).type == ExchangeType.DIRECT
    assert t.exchange(t.events_exchange).type == ExchangeType.TOPIC
    assert t.exchange(t.intake_exchange).type == ExchangeType.TOPIC
    assert t.exchange(t.events_exchange).declare is False
