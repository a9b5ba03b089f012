"""Runs one service process: the FastStream broker plus an HTTP port for probes and metrics.

The HTTP side is a Starlette app (so services can add real routes with path parameters, as
the web channel's Open311 API needs); its lifespan starts and stops the broker. uvicorn turns
SIGTERM/SIGINT into a lifespan shutdown: the broker stops consuming, waits up to
`graceful_timeout` for in-flight handlers to finish and ack, then connections close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import structlog
import uvicorn
from faststream import FastStream
from faststream.rabbit import RabbitBroker
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from suqiu.shared.errors import ConfigError
from suqiu.shared.logging import configure_logging
from suqiu.shared.messaging import EventPublisher, ReliableConsumer
from suqiu.shared.metrics import ConsumerMetrics, new_registry, prometheus_middleware
from suqiu.shared.settings import CommonSettings
from suqiu.shared.startup import DropStartupFailed, StartupGuard, one_line, quiet, where
from suqiu.shared.store import Store
from suqiu.shared.topology import Topology

__all__ = ["ServiceParts", "ServiceRuntime", "build_broker", "serve_asgi"]

log = structlog.get_logger(__name__)
BackgroundTask = Callable[[], Coroutine[Any, Any, None]]


@dataclass
class ServiceRuntime:
    """Everything one service process owns, wired by the service's composition root."""

    name: str
    settings: CommonSettings
    broker: RabbitBroker
    store: Store
    topology: Topology
    registry: CollectorRegistry
    http_port: int
    routes: Sequence[BaseRoute] = ()
    background: Sequence[BackgroundTask] = ()
    ready: bool = field(default=False, init=False)

    def faststream_app(self) -> FastStream:
        """The FastStream application object (used for AsyncAPI documentation)."""
        from faststream.specification import AsyncAPI

        return FastStream(self.broker, specification=AsyncAPI(
            title=f"suqiu {self.name}", version="1",
            description=f"The {self.name} service of suqiu: what it consumes, with payload "
                        "schemas. Lifecycle events go to the `<ns>.events` topic exchange "
                        "with routing key = event type; rejected input goes to `<ns>.dlx`."))

    @contextlib.asynccontextmanager
    async def lifespan(self, _: Starlette | None = None) -> AsyncIterator[None]:
        try:
            with quiet("aiormq", "aio_pika"):  # a refused connect is reported once, below
                await self.broker.connect()
            await self.topology.declare(self.settings.amqp_url)
        except Exception as exc:
            raise ConfigError("AMQP_URL", f"broker not reachable or refused the topology at "
                              f"{where(self.settings.amqp_url)}: {type(exc).__name__}: "
                              f"{one_line(str(exc))}") from exc
        try:
            await self._start_store()
        except Exception as exc:
            raise ConfigError("MONGO_URL", f"store not reachable at {where(self.settings.mongo_url)}"
                              f": {type(exc).__name__}") from exc
        await self.broker.start()
        tasks = [asyncio.create_task(job(), name=f"{self.name}-bg") for job in self.background]
        self.ready = True
        log.info("service_started", http_port=self.http_port, namespace=self.topology.namespace)
        try:
            yield
        finally:
            self.ready = False
            log.info("service_stopping")
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.broker.stop()
            await self.store.close()
            log.info("service_stopped")

    async def _start_store(self, attempts: int = 30) -> None:
        """Bounded retries at start-up only: the store may come up a little after us."""
        for attempt in range(1, attempts + 1):
            try:
                await self.store.ensure_indexes()
                return
            except Exception as exc:
                if attempt == attempts:
                    raise
                log.warning("store_not_ready", attempt=attempt, error=type(exc).__name__)
                await asyncio.sleep(1.0)

    def asgi(self) -> Starlette:
        """The HTTP app: /metrics, /healthz, /readyz and the service's own routes."""
        return Starlette(
            routes=[
                Route("/metrics", self._metrics),
                Route("/healthz", self._healthz),
                Route("/readyz", self._readyz),
                *self.routes,
            ],
            lifespan=self.lifespan,
        )

    async def _metrics(self, _: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    async def _healthz(self, _: Request) -> Response:
        return JSONResponse({"status": "alive", "service": self.name})

    async def _readyz(self, _: Request) -> Response:
        broker_ok = self.ready and await self.broker.ping(timeout=2.0)
        store_ok = await self.store.ping()
        ok = bool(broker_ok and store_ok)
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "broker": broker_ok, "store": store_ok},
            status_code=200 if ok else 503,
        )

    def serve(self) -> None:
        """Run until SIGTERM/SIGINT, then shut down gracefully."""
        configure_logging(self.name, self.settings.log_level)
        serve_asgi(self.asgi(), self.settings.http_host, self.http_port,
                   graceful_timeout=self.settings.graceful_timeout)


class _CleanExitServer(uvicorn.Server):
    """uvicorn re-raises SIGTERM after a graceful shutdown (exit -15); a completed, requested
    shutdown is a clean exit here, so orchestrators see 0."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def serve_asgi(app: Any, host: str, port: int, *, graceful_timeout: float = 20.0) -> None:
    """Serve an ASGI app until SIGTERM/SIGINT; exit 3 when start-up failed."""
    logging.getLogger("uvicorn.error").addFilter(DropStartupFailed())
    server = _CleanExitServer(uvicorn.Config(
        StartupGuard(app, log), host=host, port=port, log_config=None, access_log=False, lifespan="on",
        timeout_graceful_shutdown=int(graceful_timeout)))
    server.run()
    if not server.started:
        sys.exit(3)


def build_broker(settings: CommonSettings, registry: CollectorRegistry, service: str) -> RabbitBroker:
    """A broker with publisher confirms, FastStream's Prometheus middleware, graceful stop."""
    return RabbitBroker(
        settings.amqp_url,
        middlewares=[prometheus_middleware(registry, service)],
        graceful_timeout=settings.graceful_timeout,
        logger=logging.getLogger(f"suqiu.{service}.broker"),
        log_level=logging.DEBUG,  # FastStream's per-message logs at DEBUG: they cost a third of throughput
    )


@dataclass
class ServiceParts:
    """The adapters every service builds the same way; its app.py adds its own handlers."""

    name: str
    common: CommonSettings
    registry: CollectorRegistry
    topology: Topology
    broker: RabbitBroker
    store: Store
    publisher: EventPublisher
    consumer: ReliableConsumer

    @classmethod
    def build(cls, name: str, common: CommonSettings | None = None) -> ServiceParts:
        common = common or CommonSettings()
        registry = new_registry()
        tiers = common.retry_tiers_ms()
        topology = Topology(common.namespace, common.queue_type, common.delivery_limit, tiers)
        broker = build_broker(common, registry, name)
        store = Store(common.mongo_url, common.mongo_db,
                      max_in_flight=common.store_max_in_flight, registry=registry,
                      service=name)
        publisher = EventPublisher(broker, topology, registry)
        consumer = ReliableConsumer(service=name, queue=topology.work_queue(name).name,
                                    store=store, publisher=publisher,
                                    metrics=ConsumerMetrics(registry, name),
                                    retry_tiers_ms=tiers, retry_limit=common.retry_limit)
        return cls(name, common, registry, topology, broker, store, publisher, consumer)

    def runtime(self, http_port: int, *, routes: Sequence[BaseRoute] = (),
                background: Sequence[BackgroundTask] = ()) -> ServiceRuntime:
        return ServiceRuntime(self.name, self.common, self.broker, self.store, self.topology,
                              self.registry, http_port, routes=routes, background=background)
