"""JSON logging through structlog; personal data is scrubbed before anything is written."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from suqiu.shared.privacy import scrub_text

__all__ = ["configure_logging", "get_logger"]

_SAFE_KEYS = frozenset({"ticket_no", "message_id", "event_id", "level", "timestamp"})
# Libraries whose DEBUG output carries message or document bodies (personal data): never
# below WARNING, whatever the service's level.
_QUIET_LIBRARIES = ("pymongo", "aio_pika", "aiormq", "httpx", "httpcore", "asyncio")


def _scrub(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Mask phone numbers, ID numbers and e-mail addresses in every string value."""
    for key, value in list(event_dict.items()):
        if key not in _SAFE_KEYS and isinstance(value, str):
            event_dict[key] = scrub_text(value)
    return event_dict


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send structlog and stdlib logging to stderr as one JSON object per line."""
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _scrub,
    ]
    structlog.configure(
        processors=[
            *shared_processors,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
            foreign_pre_chain=shared_processors,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # FastStream logs every message at INFO; that costs a third of throughput here.
    logging.getLogger("faststream").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


def get_logger(name: str) -> Any:
    """A structlog logger bound to a module name."""
    return structlog.get_logger(name)
