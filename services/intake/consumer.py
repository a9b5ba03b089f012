"""The shared acknowledgement policy, plus intake's view of rejections: Chinese messages
next to the English ones, and rejections counted per channel and reason."""

from __future__ import annotations

from faststream.rabbit.annotations import RabbitMessage

from suqiu.services.intake.errors import localize_exception
from suqiu.services.intake.metrics import IntakeMetrics
from suqiu.shared.contracts import Channel
from suqiu.shared.errors import PermanentError
from suqiu.shared.messaging import ReliableConsumer, original_routing_key

__all__ = ["IntakeConsumer", "channel_of_routing_key"]

_CHANNELS = frozenset(c.value for c in Channel)


def channel_of_routing_key(routing_key: str | None) -> str:
    """`intake.<channel>` -> channel; anything else is `unknown` (bounded label values)."""
    _, _, tail = (routing_key or "").partition(".")
    return tail if tail in _CHANNELS or tail == "command" else "unknown"


class IntakeConsumer(ReliableConsumer):
    """Built from the service's ReliableConsumer (same store, publisher and metrics)."""

    def __init__(self, base: ReliableConsumer, metrics: IntakeMetrics) -> None:
        self.__dict__.update(vars(base))
        self._intake_metrics = metrics

    async def _dead_letter(self, message: RabbitMessage, message_id: str,
                           exc: PermanentError) -> None:
        channel = channel_of_routing_key(original_routing_key(message))
        self._intake_metrics.rejected.labels(channel, exc.reason).inc()
        await super()._dead_letter(message, message_id, localize_exception(exc))
