"""FastStream apps of the five services for AsyncAPI generation (`make asyncapi`).

Each factory builds the service's composition root without connecting anything, so
`faststream docs gen --app-dir docs/asyncapi --factory apps:<service>` documents exactly the
subscribers the running service has.
"""

from __future__ import annotations

from importlib import import_module

from faststream import FastStream


def _app(service: str) -> FastStream:
    runtime = import_module(f"suqiu.services.{service}.app").create_runtime()
    return runtime.faststream_app()  # type: ignore[no-any-return]


def intake() -> FastStream:
    return _app("intake")


def classifier() -> FastStream:
    return _app("classifier")


def dispatcher() -> FastStream:
    return _app("dispatcher")


def sla_monitor() -> FastStream:
    return _app("sla_monitor")


def notifier() -> FastStream:
    return _app("notifier")


def analytics() -> FastStream:
    return _app("analytics")
