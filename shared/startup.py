"""Start-up failures as one clear line: which setting or file, and what is wrong with it.

Services log it as one JSON line and exit 3; the `suqiu` command prints it on one line of
stderr and exits 2. Library and driver errors are translated here, at the boundary, by the
name of their class (shared does not import the services), into shared.errors.ConfigError.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from suqiu.shared.errors import ConfigError

__all__ = ["DropStartupFailed", "StartupGuard", "as_config_error", "log_startup_failure",
           "one_line", "quiet", "where"]

# Errors the composition roots raise for a bad file, by class name -> the setting naming it.
_SOURCES = {
    "CatalogueError": "SUQIU_CATALOGUE_PATH",
    "RoutingError": "SUQIU_DISPATCHER_ROUTING_PATH",
    "AuthError": "SUQIU_DISPATCHER_CREDENTIALS / SUQIU_DISPATCHER_CREDENTIALS_FILE",
    "NotifierConfigError": "SUQIU_NOTIFIER_CONFIG_PATH",
    "TemplateProblem": "SUQIU_NOTIFIER_TEMPLATES_DIR",
    "ModelError": "SUQIU_CLASSIFIER_MODEL_PATH",
}
_MAX = 600


def one_line(text: str) -> str:
    """Collapse whitespace and bound the length: a problem is one line of a log."""
    text = " ".join(text.split())
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"


def where(url: str) -> str:
    """host:port of a connection URL, never its credentials."""
    try:
        parts = urlsplit(url)
        return f"{parts.hostname or '?'}:{parts.port or '-'}"
    except ValueError:
        return "an unparsable URL"


def _summary(exc: ValidationError, names: dict[str, str] | None = None) -> tuple[list[str], str]:
    """(fields, 'field: message; ...') without echoing input values (they may be secrets)."""
    fields, parts = [], []
    for err in exc.errors(include_input=False, include_url=False):
        loc = [str(p) for p in err.get("loc", ())]
        if names is not None and loc:
            field = names.get(loc[0], loc[0])
        else:
            field = ".".join(loc) or "$"
        fields.append(field)
        parts.append(f"{field}: {err.get('msg', 'invalid')}")
    return fields, "; ".join(parts)


def _settings_class(title: str) -> type[BaseSettings] | None:
    todo: list[type[BaseSettings]] = [BaseSettings]
    while todo:
        cls = todo.pop()
        if cls.__name__ == title and cls is not BaseSettings:
            return cls
        todo.extend(cls.__subclasses__())
    return None


def _env_names(cls: type[BaseSettings]) -> dict[str, str]:
    prefix = str(cls.model_config.get("env_prefix", ""))
    out: dict[str, str] = {}
    for name, info in cls.model_fields.items():
        alias = info.validation_alias
        out[name] = alias if isinstance(alias, str) else f"{prefix}{name}".upper()
    return out


def _from_validation(exc: ValidationError) -> ConfigError:
    cls = _settings_class(exc.title)
    if cls is None:
        _, problem = _summary(exc)
        return ConfigError(exc.title, one_line(problem))
    fields, problem = _summary(exc, _env_names(cls))
    return ConfigError(", ".join(dict.fromkeys(fields)), one_line(problem))


def as_config_error(exc: BaseException) -> ConfigError | None:
    """The ConfigError this start-up failure means, or None when it is not a configuration one."""
    if isinstance(exc, ConfigError):
        return exc
    if isinstance(exc, ValidationError):
        return _from_validation(exc)
    for cls in type(exc).__mro__:
        source = _SOURCES.get(cls.__name__)
        if source is not None:
            return ConfigError(source, _problem(exc))
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
        return ConfigError(str(exc.filename or "file"), one_line(exc.strerror or str(exc)))
    return None


def _problem(exc: BaseException) -> str:
    cause: Any = exc.__cause__
    if isinstance(cause, ValidationError):
        head = str(exc).split(": ", 1)[0]
        return one_line(f"{head}: {_summary(cause)[1]}")
    return one_line(str(exc))


def log_startup_failure(log: Any, exc: BaseException) -> None:
    """One JSON line: the setting or file and the problem; an unexpected error keeps its type."""
    err = as_config_error(exc)
    if err is not None:
        log.error("startup_failed", setting=err.source, problem=err.problem)
    else:
        log.error("startup_failed", error=type(exc).__name__, problem=one_line(str(exc)),
                  exc_info=exc)


@contextlib.contextmanager
def quiet(*loggers: str) -> Iterator[None]:
    """Silence library loggers for a moment (their error is reported once, by us)."""
    saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in loggers]
    for logger, _ in saved:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


class StartupGuard:
    """A failed lifespan start-up is one JSON log line (then exit 3), not a traceback."""

    def __init__(self, app: Any, log: Any) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            return await self.app(scope, receive, send)

        started = False

        async def quiet_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "lifespan.startup.complete"
            if message["type"].endswith(".failed"):
                message = {**message, "message": ""}  # Starlette puts the traceback there
            await send(message)

        try:
            await self.app(scope, receive, quiet_send)
        except Exception as exc:
            if started:
                self.log.error("shutdown_failed", error=type(exc).__name__, exc_info=exc)
            else:
                log_startup_failure(self.log, exc)


class DropStartupFailed(logging.Filter):
    """uvicorn's own "Application startup failed" line: our startup_failed line said it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Application startup failed. Exiting."
