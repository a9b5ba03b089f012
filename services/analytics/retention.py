"""Archive (归档) closed orders after a while; mask personal data after the retention period;
erase one person's data on request, with an audit-log entry."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from faststream.rabbit import RabbitBroker

from suqiu.services.analytics.domain.retention import erase_order, mask_order
from suqiu.services.analytics.metrics import AnalyticsMetrics
from suqiu.services.analytics.repository import AnalyticsRepository
from suqiu.shared.background import repeat
from suqiu.shared.contracts import TicketStatus, WorkOrder
from suqiu.shared.topology import Topology

__all__ = ["CommandSender", "RetentionJob", "erase_person", "purge_raw_payload"]

log = structlog.get_logger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CommandSender:
    """Sends dispatcher commands over AMQP: the dispatcher stays the only writer of states."""

    def __init__(self, broker: RabbitBroker, topology: Topology) -> None:
        self._broker = broker
        self._topology = topology

    async def archive(self, order: WorkOrder) -> None:
        command_id = f"archive:{order.ticket_no}:{order.version}"
        body = {"type": "dispatcher.command", "command_id": command_id,
                "ticket_no": order.ticket_no, "action": "archive", "actor": "analytics",
                "role": "system", "expected_version": order.version}
        await self._broker.publish(
            json.dumps(body).encode(), exchange=self._topology.exchange(self._topology.intake_exchange),
            routing_key="command.dispatcher", message_id=command_id,
            content_type="application/json", persist=True)


def purge_raw_payload(order: WorkOrder) -> WorkOrder:
    """Orders stored before the raw payload moved to `intake_payloads` carry it themselves
    (mask_order empties it there); newer ones are purged by `drop_payload`."""
    return order


class RetentionJob:
    def __init__(self, repo: AnalyticsRepository, commands: CommandSender,
                 metrics: AnalyticsMetrics, *, archive_after: timedelta, retention: timedelta,
                 batch: int) -> None:
        self._repo = repo
        self._commands = commands
        self._metrics = metrics
        self.archive_after = archive_after
        self._retention = retention
        self._batch = batch

    async def archive(self, now: datetime) -> int:
        """Ask the dispatcher to archive every closed order whose time has come."""
        sent = 0
        for entry in await self._repo.archive_due(now, self._batch):
            order = await self._repo.order(entry["_id"])
            if order is not None and order.status is TicketStatus.CLOSED:
                await self._commands.archive(order)
                self._metrics.retention.labels("archive_requested").inc()
                sent += 1
            await self._repo.drop_archive_entry(entry["_id"])
        return sent

    async def purge(self, now: datetime) -> int:
        """Mask orders and purge rejected-message bodies older than the retention period."""
        cutoff = now - self._retention
        state = await self._repo.state("retention")
        cursor = state.get("orders_cursor") or EPOCH
        masked = seen = 0
        async for order in self._repo.orders_received(cursor, cutoff):
            seen += 1
            out = purge_raw_payload(mask_order(order))
            if out is not order and await self._repo.save_order(out, order.version):
                masked += 1
            await self._repo.drop_payload(order.intake_key)
            state["orders_cursor"] = order.received_at
            if seen >= self._batch:
                break
        rejected, nxt = await self._repo.purge_rejected(
            state.get("rejected_cursor") or EPOCH, cutoff, self._batch)
        if nxt is not None:
            state["rejected_cursor"] = nxt
        await self._repo.save_state(state)
        self._metrics.retention.labels("order_masked").inc(masked)
        self._metrics.retention.labels("rejected_purged").inc(rejected)
        return masked + rejected

    async def run_once(self, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        await self.archive(now)
        while await self.purge(now) >= self._batch:
            pass

    async def forever(self, interval_s: float) -> None:
        await repeat(self.run_once, interval_s=interval_s, failure_event="retention_run_failed")


async def erase_person(repo: AnalyticsRepository, person_key: str, *, requested_by: str,
                       reason: str, now: datetime | None = None) -> dict[str, Any]:
    """Erase one person's data from every order of theirs; the audit entry is returned too."""
    now = now or datetime.now(UTC)
    erased: list[str] = []
    for order in await repo.orders_of_person(person_key):
        out = erase_order(order)
        if out is not order and await repo.save_order(out, order.version):
            erased.append(order.ticket_no)
        await repo.drop_payload(order.intake_key)
    entry = {"_id": f"erase:{uuid.uuid4().hex}", "at": now, "action": "erase_person",
             "subject": person_key, "requested_by": requested_by, "reason": reason,
             "tickets": erased}
    await repo.audit(entry)
    return entry
