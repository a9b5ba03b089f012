"""Publishing events and consuming messages under one acknowledgement policy.

Policy (decided here once, for every subscriber):
- success: ack after the handler's writes and downstream publishes completed;
- bad input or PermanentError: store the raw message with machine-readable errors in
  `rejected_messages`, republish it to the queue's DLQ with error headers, then ack;
- anything else is transient: a copy goes to a retry delay queue (`<ns>.retry.<ms>`, TTL +
  dead-letter back to the work queue, with jitter) and the original is acked once the copy is
  confirmed, so a waiting retry holds no consumer slot. The copy carries an attempt counter
  (`x-suqiu-attempt`); after `retry_limit` failures the message is rejected as poison
  (`retries_exhausted`). StoreUnavailable, an infrastructure failure, does not count: the
  message keeps coming back at the longest delay until the store answers again. Without
  delay tiers (unit tests) a transient failure is nacked with requeue after a capped
  backoff; the quorum queue's delivery limit stays the backstop for crashes mid-handler.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import structlog
from faststream.middlewares import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage
from pydantic import BaseModel, SkipValidation, TypeAdapter, ValidationError

from suqiu.shared.errors import FieldError, PermanentError, field_errors_from_pydantic
from suqiu.shared.keys import TIME_KEY, at_key
from suqiu.shared.metrics import ConsumerMetrics
from suqiu.shared.publisher import EventPublisher
from suqiu.shared.store import DuplicateKey, Store, StoreUnavailable

__all__ = ["EventPublisher", "ReliableConsumer", "decode_json", "original_routing_key"]

T = TypeVar("T")
log = structlog.get_logger(__name__)

ERROR_REASON_HEADER = "x-suqiu-error-reason"
ERROR_DETAIL_HEADER = "x-suqiu-error-detail"
ORIGINAL_QUEUE_HEADER = "x-suqiu-original-queue"
# Where the message was first published: `suqiu dlq replay` republishes it there.
ORIGINAL_EXCHANGE_HEADER = "x-suqiu-original-exchange"
ORIGINAL_ROUTING_KEY_HEADER = "x-suqiu-original-routing-key"
# The retry path: failures that counted against the poison limit, and every retry.
ATTEMPT_HEADER = "x-suqiu-attempt"
RETRIES_HEADER = "x-suqiu-retries"
_BROKER_HEADERS = ("x-death", "x-first-death-exchange", "x-first-death-queue",
                   "x-first-death-reason", "x-last-death-exchange", "x-last-death-queue",
                   "x-last-death-reason", "x-delivery-count")


def decode_json(body: bytes) -> Any:
    """Parse a JSON body; PermanentError with a field-level reason when it is not JSON."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PermanentError("invalid_encoding", [FieldError(
            "$", "invalid_encoding", f"body is not UTF-8: {exc.reason}")]) from exc
    except json.JSONDecodeError as exc:
        raise PermanentError("invalid_json", [FieldError(
            "$", "invalid_json", f"{exc.msg} at position {exc.pos}")]) from exc


class ReliableConsumer:
    """Runs a handler for one message and applies the acknowledgement policy."""

    def __init__(
        self, *, service: str, queue: str, store: Store, publisher: EventPublisher,
        metrics: ConsumerMetrics, backoff_base: float = 0.2, backoff_cap: float = 5.0,
        retry_tiers_ms: tuple[int, ...] = (), retry_limit: int = 5,
    ) -> None:
        self.service = service
        self.queue = queue
        self._store = store
        self._publisher = publisher
        self._metrics = metrics
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._retry_tiers = retry_tiers_ms
        self._retry_limit = retry_limit

    def subscribe(
        self,
        broker: RabbitBroker,
        queue: RabbitQueue,
        *,
        prefetch: int,
        parse: Callable[[Any], T],
        handle: Callable[[T, RabbitMessage], Awaitable[str]],
        description: str,
        schema: Any = None,
    ) -> None:
        """Consume `queue` with manual acks under this policy; FastStream does not decode.

        `schema` (default: the model `parse` validates) documents the payload in AsyncAPI only:
        the body parameter is typed with it under `SkipValidation`, so FastStream publishes
        its JSON schema but hands the raw bytes through, and bad input still meets our policy.
        """

        async def _raw_body(msg: Any) -> bytes:
            return bytes(msg.body)

        async def consume(body: Any, message: RabbitMessage) -> None:
            await self.run(message, parse, lambda payload: handle(payload, message))

        consume.__annotations__ = {
            "body": Annotated[schema or _payload_type(parse), SkipValidation],
            "message": RabbitMessage, "return": None,
        }
        broker.subscriber(
            queue,
            channel=Channel(prefetch_count=prefetch),
            ack_policy=AckPolicy.MANUAL,
            decoder=_raw_body,
            title=self.service,
            description=description,
        )(consume)

    async def run(
        self,
        message: RabbitMessage,
        parse: Callable[[Any], T],
        handle: Callable[[T], Awaitable[str]],
    ) -> None:
        """Parse and handle `message`; `handle` returns the outcome label (ok, duplicate...)."""
        started = time.perf_counter()
        # Publishers without a message id (other clients than aio-pika) get a body digest,
        # which is stable across redeliveries.
        message_id = message.raw_message.message_id or _body_digest(message.body)
        structlog.contextvars.bind_contextvars(
            message_id=message_id,
            correlation_id=message.raw_message.correlation_id or message_id)
        try:
            try:
                payload = parse(decode_json(message.body))
            except ValidationError as exc:
                raise PermanentError("validation_failed", field_errors_from_pydantic(exc)) from exc
            outcome = await handle(payload)
        except PermanentError as exc:
            await self._dead_letter(message, message_id, exc)
            return
        except asyncio.CancelledError:
            await message.nack(requeue=True)
            raise
        except Exception as exc:  # transient by policy: retry with backoff
            await self._retry(message, exc)
            return
        finally:
            self._metrics.duration.labels(self.service, self.queue).observe(
                time.perf_counter() - started)
        await message.ack()
        self._metrics.outcome(self.queue, outcome)
        log.debug("message_handled", outcome=outcome)

    async def _retry(self, message: RabbitMessage, exc: Exception) -> None:
        if self._retry_tiers:
            try:
                if await self._delay(message, exc):
                    return
            except Exception as pub_exc:  # the broker refused the copy: back off in place
                log.warning("retry_publish_failed", error=type(pub_exc).__name__)
        attempt = int((message.headers or {}).get("x-delivery-count", 0) or 0)
        delay = min(self._backoff_cap, self._backoff_base * (2**attempt))
        log.warning("handler_failed_will_retry", error=type(exc).__name__, detail=str(exc)[:300],
                    attempt=attempt + 1, backoff_s=delay)
        self._metrics.outcome(self.queue, "retried")
        await asyncio.sleep(delay)
        await message.nack(requeue=True)

    async def _delay(self, message: RabbitMessage, exc: Exception) -> bool:
        """Send the message round a retry delay queue; False when it is poison instead."""
        headers = dict(message.headers or {})
        infrastructure = isinstance(exc, StoreUnavailable)
        attempt = int(headers.get(ATTEMPT_HEADER, 0) or 0) + (0 if infrastructure else 1)
        retries = int(headers.get(RETRIES_HEADER, 0) or 0) + 1
        if not infrastructure and attempt >= self._retry_limit:
            message_id = message.raw_message.message_id or _body_digest(message.body)
            await self._dead_letter(message, message_id, PermanentError(
                "retries_exhausted", [FieldError("$", "retries_exhausted",
                                                 f"{type(exc).__name__}: {str(exc)[:250]}")]))
            return True
        tiers = self._retry_tiers
        delay = tiers[min(retries, len(tiers)) - 1]
        expiration = max(1, int(delay * random.uniform(0.8, 1.0)))
        raw = message.raw_message
        copy = {k: _plain(v) for k, v in headers.items() if k not in _BROKER_HEADERS}
        copy.setdefault(ORIGINAL_EXCHANGE_HEADER, getattr(raw, "exchange", None) or "")
        copy.setdefault(ORIGINAL_ROUTING_KEY_HEADER, getattr(raw, "routing_key", None) or "")
        copy |= {ATTEMPT_HEADER: attempt, RETRIES_HEADER: retries,
                 "x-suqiu-last-error": type(exc).__name__}
        await self._publisher.publish_retry(delay, self.queue, message.body, copy, message,
                                            expiration)
        await message.ack()
        self._metrics.outcome(self.queue, "retried")
        log.warning("handler_failed_will_retry", error=type(exc).__name__,
                    detail=str(exc)[:300], attempt=attempt, retries=retries,
                    infrastructure=infrastructure, delay_s=expiration / 1000)
        return True

    async def _dead_letter(self, message: RabbitMessage, message_id: str,
                           exc: PermanentError) -> None:
        errors = [e.as_dict() for e in exc.errors]
        now = datetime.now(UTC)
        raw = message.raw_message
        original_headers = {k: _plain(v) for k, v in (message.headers or {}).items()}
        record = {
            "_id": f"{self.queue}:{message_id}",
            "queue": self.queue,
            "service": self.service,
            "message_id": message_id,
            "routing_key": original_routing_key(message),
            "received_at": now,
            "received_key": at_key(TIME_KEY, now),
            "reason": exc.reason,
            "errors": errors,
            "headers": original_headers,
            "body_text": _as_text(message.body),
            "body_base64": base64.b64encode(message.body).decode("ascii"),
        }
        try:
            await self._store.insert("rejected_messages", record)
        except DuplicateKey:
            pass  # redelivered after a crash between store and ack: already recorded
        except Exception as store_exc:
            await self._retry(message, store_exc)
            return
        headers = {
            **original_headers,
            ERROR_REASON_HEADER: exc.reason,
            ERROR_DETAIL_HEADER: json.dumps(errors, ensure_ascii=False),
            ORIGINAL_QUEUE_HEADER: self.queue,
            # a retried copy keeps where it was first published (see _delay)
            ORIGINAL_EXCHANGE_HEADER: original_headers.get(ORIGINAL_EXCHANGE_HEADER)
            or getattr(raw, "exchange", None) or "",
            ORIGINAL_ROUTING_KEY_HEADER: original_routing_key(message) or "",
            "x-suqiu-rejected-by": self.service,
            "x-suqiu-rejected-at": now.isoformat(),
        }
        try:
            await self._publisher.publish_dead_letter(self.queue, message.body, headers, message_id)
        except Exception as pub_exc:
            await self._retry(message, pub_exc)
            return
        log.warning("message_rejected", reason=exc.reason,
                    fields=[e["field"] for e in errors][:10])
        await message.ack()
        self._metrics.outcome(self.queue, "rejected")


def original_routing_key(message: RabbitMessage) -> str | None:
    """The routing key the message was first published with (a retried copy comes back
    from its delay queue with the work queue's name as key; the header keeps the first)."""
    header = (message.headers or {}).get(ORIGINAL_ROUTING_KEY_HEADER)
    if isinstance(header, bytes):
        header = header.decode("utf-8", "replace")
    return header or getattr(message.raw_message, "routing_key", None)


def _payload_type(parse: Callable[[Any], Any]) -> Any:
    """The type behind `Model.model_validate` or `TypeAdapter(T).validate_python` (else Any)."""
    owner = getattr(parse, "__self__", None)
    if isinstance(owner, type) and issubclass(owner, BaseModel):
        return owner
    if isinstance(owner, TypeAdapter):
        return owner._type
    return Any


def _body_digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()[:32]


def _as_text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _plain(value: Any) -> Any:
    """Headers as JSON-friendly values (AMQP may carry bytes and decimals)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
