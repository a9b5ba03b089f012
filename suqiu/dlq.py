"""`suqiu dlq`: inspect, replay and purge dead letters, one service's queue at a time.

A message reaches `<ns>.<service>.dlq` in one of two ways:
- the service refused it as bad input and republished it with `x-suqiu-error-reason`,
  `x-suqiu-error-detail`, `x-suqiu-original-queue` (and the original exchange and routing
  key in `x-suqiu-original-exchange` / `x-suqiu-original-routing-key`);
- it failed `SUQIU_DELIVERY_LIMIT` times and the broker dead-lettered it: the reason and the
  original exchange and routing keys are in the `x-death` header.

Replay republishes each message to its original exchange with its original routing key, body
and message id, waits for the broker's confirm (mandatory: an unroutable message stays in the
DLQ), and only then removes it from the DLQ. Consumers deduplicate on message id, so a replay
that is interrupted and run again never creates a second effect.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import aio_pika
import typer
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from suqiu.shared.messaging import (
    ERROR_DETAIL_HEADER,
    ERROR_REASON_HEADER,
    ORIGINAL_EXCHANGE_HEADER,
    ORIGINAL_QUEUE_HEADER,
    ORIGINAL_ROUTING_KEY_HEADER,
)
from suqiu.shared.privacy import scrub_text
from suqiu.shared.topology import SERVICES, Topology

__all__ = ["DeadLetter", "DeadLetterQueues", "dlq_app", "replay_headers"]

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
# Headers that describe the dead-lettering, not the message: dropped on replay.
_DEATH_HEADERS = ("x-death", "x-first-death-", "x-last-death-", "x-delivery-count",
                  "x-suqiu-error-", "x-suqiu-rejected-", "x-suqiu-original-")


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message and where it came from."""

    message_id: str | None
    reason: str
    detail: str | None
    original_queue: str | None
    exchange: str
    routing_key: str
    headers: dict[str, Any]
    body: bytes
    dead_lettered_at: str | None

    @classmethod
    def from_message(cls, msg: AbstractIncomingMessage) -> DeadLetter:
        headers = {k: _plain(v) for k, v in (msg.headers or {}).items()}
        death = _first_death(headers)
        if ERROR_REASON_HEADER in headers:  # refused by the service
            reason = str(headers[ERROR_REASON_HEADER])
            detail = headers.get(ERROR_DETAIL_HEADER)
            queue = headers.get(ORIGINAL_QUEUE_HEADER)
            exchange = headers.get(ORIGINAL_EXCHANGE_HEADER)
            routing_key = headers.get(ORIGINAL_ROUTING_KEY_HEADER)
            at = headers.get("x-suqiu-rejected-at")
        else:  # dead-lettered by the broker (delivery_limit, expired, rejected)
            reason = str(death.get("reason") or headers.get("x-first-death-reason") or "unknown")
            detail = None
            queue = death.get("queue") or headers.get("x-first-death-queue")
            exchange = death.get("exchange")
            keys = death.get("routing-keys") or []
            routing_key = keys[0] if keys else None
            at = death.get("time")
        if exchange is None:
            exchange = headers.get("x-first-death-exchange", "")
        return cls(msg.message_id, reason, detail if detail is None else str(detail),
                   str(queue) if queue else None, str(exchange or ""), str(routing_key or ""),
                   headers, msg.body, str(at) if at else None)

    def original_headers(self) -> dict[str, Any]:
        return replay_headers(self.headers)


def replay_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """The message's own headers, without the ones dead-lettering added."""
    return {k: v for k, v in headers.items() if not k.startswith(_DEATH_HEADERS)}


def _first_death(headers: dict[str, Any]) -> dict[str, Any]:
    deaths = headers.get("x-death") or []
    return deaths[0] if deaths and isinstance(deaths[0], dict) else {}


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class DeadLetterQueues:
    """The DLQs of one namespace on one broker."""

    def __init__(self, amqp_url: str, namespace: str) -> None:
        self.amqp_url = amqp_url
        self.topology = Topology(namespace)

    def dlq(self, service: str) -> str:
        return self.topology.work_queue(service).dlq

    async def counts(self) -> dict[str, int]:
        """Messages waiting in every service's DLQ (passive declare: nothing is created)."""
        conn = await aio_pika.connect(self.amqp_url)
        try:
            result: dict[str, int] = {}
            for service in SERVICES:
                channel = await conn.channel()
                try:
                    queue = await channel.declare_queue(self.dlq(service), passive=True)
                    result[service] = queue.declaration_result.message_count or 0
                except aio_pika.exceptions.ChannelClosed:
                    result[service] = -1  # not declared on this broker
            return result
        finally:
            await conn.close()

    async def peek(self, service: str, limit: int) -> list[DeadLetter]:
        """Up to `limit` dead letters, left in place (fetched unacked, then requeued)."""
        conn = await aio_pika.connect(self.amqp_url)
        try:
            channel = await conn.channel()
            messages = await _fetch(channel, self.dlq(service), limit)
            letters = [DeadLetter.from_message(m) for m in messages]
            for m in messages:
                await m.nack(requeue=True)
            return letters
        finally:
            await conn.close()

    async def replay(self, service: str, *, limit: int | None = None, reason: str | None = None,
                     message_id: str | None = None, to_queue: bool = False,
                     progress: Any = None) -> tuple[int, int, list[str]]:
        """Republish matching dead letters, confirmed, then remove them from the DLQ.

        Returns (replayed, left in place, errors). Messages that do not match the filters or
        cannot be republished are returned to the DLQ untouched.
        """
        conn = await aio_pika.connect(self.amqp_url)
        replayed, kept, errors = 0, 0, []
        try:
            consume = await conn.channel()
            publish = await conn.channel(publisher_confirms=True, on_return_raises=True)
            queue = await consume.declare_queue(self.dlq(service), passive=True)
            total = queue.declaration_result.message_count or 0
            if limit is not None:
                total = min(total, limit)
            if progress is not None:
                progress(total=total, advance=0)
            held: list[AbstractIncomingMessage] = []
            while limit is None or replayed < limit:
                msg = await queue.get(no_ack=False, fail=False)
                if msg is None:
                    break
                letter = DeadLetter.from_message(msg)
                if (reason and letter.reason != reason) or (
                        message_id and letter.message_id != message_id):
                    held.append(msg)
                    continue
                try:
                    await self._republish(publish, letter, to_queue, self.dlq(service))
                except Exception as exc:  # unroutable or refused: it stays in the DLQ
                    errors.append(f"{letter.message_id}: {type(exc).__name__}: {exc}"[:300])
                    held.append(msg)
                    continue
                await msg.ack()  # only after the broker confirmed the republish
                replayed += 1
                if progress is not None:
                    progress(advance=1)
            for msg in held:
                await msg.nack(requeue=True)
            kept = len(held)
        finally:
            await conn.close()
        return replayed, kept, errors

    @staticmethod
    async def _republish(channel: AbstractChannel, letter: DeadLetter, to_queue: bool,
                         dlq: str) -> None:
        if to_queue or not letter.routing_key:
            if not letter.original_queue:
                raise ValueError("neither the original routing key nor the original queue is known")
            exchange, routing_key = channel.default_exchange, letter.original_queue
        else:
            exchange = await channel.get_exchange(letter.exchange, ensure=False) \
                if letter.exchange else channel.default_exchange
            routing_key = letter.routing_key
        headers = letter.original_headers() | {"x-suqiu-replayed-from": dlq}
        await exchange.publish(
            aio_pika.Message(letter.body, headers=headers, message_id=letter.message_id,
                             content_type="application/json",
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=routing_key, mandatory=True, timeout=30)

    async def purge(self, service: str) -> int:
        """Delete every message of the service's DLQ; returns how many."""
        conn = await aio_pika.connect(self.amqp_url)
        try:
            channel = await conn.channel()
            queue = await channel.declare_queue(self.dlq(service), passive=True)
            result = await queue.purge()
            return int(result.message_count or 0)
        finally:
            await conn.close()


async def _fetch(channel: AbstractChannel, name: str, limit: int) -> list[AbstractIncomingMessage]:
    queue = await channel.declare_queue(name, passive=True)
    messages: list[AbstractIncomingMessage] = []
    while len(messages) < limit:
        msg = await queue.get(no_ack=False, fail=False)
        if msg is None:
            break
        messages.append(msg)
    return messages


# --- command line ---------------------------------------------------------------------------
dlq_app = typer.Typer(no_args_is_help=True, help="Dead letters: list, show, replay, purge.")
console = Console()

AmqpOpt = Annotated[str, typer.Option(envvar="AMQP_URL", help="RabbitMQ URL")]
NsOpt = Annotated[str, typer.Option(envvar="SUQIU_NAMESPACE", help="queue/exchange prefix")]
ServiceArg = Annotated[str, typer.Argument(help=" | ".join(SERVICES))]


def _queues(amqp_url: str, namespace: str, service: str | None = None) -> DeadLetterQueues:
    if service is not None and service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    return DeadLetterQueues(amqp_url, namespace)


@dlq_app.command("list")
def list_(amqp_url: AmqpOpt = DEFAULT_AMQP_URL, namespace: NsOpt = "suqiu") -> None:
    """Messages waiting in each service's dead-letter queue."""
    q = _queues(amqp_url, namespace)
    counts = asyncio.run(q.counts())
    table = Table("service", "dead-letter queue", "messages")
    for service, n in counts.items():
        table.add_row(service, q.dlq(service), "not declared" if n < 0 else str(n))
    console.print(table)


@dlq_app.command()
def show(service: ServiceArg, limit: Annotated[int, typer.Option(min=1)] = 20,
         raw: Annotated[bool, typer.Option(help="show bodies unmasked (personal data!)")] = False,
         as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
         amqp_url: AmqpOpt = DEFAULT_AMQP_URL, namespace: NsOpt = "suqiu") -> None:
    """Show dead letters with reason, origin and original headers; they stay in the DLQ."""
    letters = asyncio.run(_queues(amqp_url, namespace, service).peek(service, limit))
    for letter in letters:
        body = letter.body.decode("utf-8", "replace")
        record = {
            "message_id": letter.message_id, "reason": letter.reason, "detail": letter.detail,
            "original_queue": letter.original_queue, "exchange": letter.exchange,
            "routing_key": letter.routing_key, "dead_lettered_at": letter.dead_lettered_at,
            "headers": letter.original_headers(),
            "body": body if raw else scrub_text(body[:2000]),
        }
        if as_json:
            typer.echo(json.dumps(record, ensure_ascii=False, default=str))
        else:
            console.rule(f"{letter.message_id}  [bold]{letter.reason}[/bold]")
            for key, value in record.items():
                if key != "message_id" and value not in (None, "", {}):
                    console.print(f"[cyan]{key}[/cyan]: {value}", markup=True, highlight=False)
    if not as_json:
        console.print(f"{len(letters)} message(s) shown from {namespace}.{service}.dlq")


@dlq_app.command()
def replay(service: ServiceArg,
           limit: Annotated[int | None, typer.Option(min=1, help="at most this many")] = None,
           reason: Annotated[str | None, typer.Option(help="only this reason")] = None,
           message_id: Annotated[str | None, typer.Option(help="only this message")] = None,
           to_queue: Annotated[bool, typer.Option(
               "--to-queue", help="publish straight to the original queue instead of the "
                                  "original exchange (no other consumer sees it again)")] = False,
           amqp_url: AmqpOpt = DEFAULT_AMQP_URL, namespace: NsOpt = "suqiu") -> None:
    """Republish dead letters to where they came from; each leaves the DLQ once confirmed."""
    q = _queues(amqp_url, namespace, service)
    with Progress(TextColumn("replaying {task.description}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(q.dlq(service), total=None)

        def progress(*, advance: int, total: int | None = None) -> None:
            if total is not None:
                bar.update(task, total=total)
            bar.advance(task, advance)

        done, kept, errors = asyncio.run(q.replay(service, limit=limit, reason=reason,
                                                  message_id=message_id, to_queue=to_queue,
                                                  progress=progress))
    for err in errors:
        console.print(f"[red]not replayed[/red] {err}")
    console.print(f"replayed {done}; left in the DLQ {kept}")
    raise typer.Exit(1 if errors else 0)


@dlq_app.command()
def purge(service: ServiceArg,
          yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
          amqp_url: AmqpOpt = DEFAULT_AMQP_URL, namespace: NsOpt = "suqiu") -> None:
    """Delete every dead letter of one service (bad input stays in `rejected_messages`)."""
    q = _queues(amqp_url, namespace, service)
    if not yes:
        typer.confirm(f"Delete every message in {q.dlq(service)}?", abort=True)
    console.print(f"purged {asyncio.run(q.purge(service))} message(s) from {q.dlq(service)}")
