"""Composition root of the web console."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from suqiu.services.console.accounts import Accounts
from suqiu.services.console.gateways import DispatcherGateway, IntakeGateway
from suqiu.services.console.handlers.answers import answer_routes
from suqiu.services.console.handlers.auth import auth_routes
from suqiu.services.console.handlers.calls import call_routes
from suqiu.services.console.handlers.lists import list_routes
from suqiu.services.console.handlers.orders import order_routes
from suqiu.services.console.handlers.users import user_routes
from suqiu.services.console.metrics import ConsoleMetrics
from suqiu.services.console.projector import Projector, register_projector
from suqiu.services.console.repository import ConsoleRepository
from suqiu.services.console.service import ConsoleService
from suqiu.services.console.settings import ConsoleSettings
from suqiu.services.console.web import SecurityHeaders, Web
from suqiu.shared.catalogue import load_catalogue
from suqiu.shared.metrics import new_registry
from suqiu.shared.runtime import ServiceRuntime, build_broker
from suqiu.shared.settings import CommonSettings
from suqiu.shared.store import Store, StoreUnavailable
from suqiu.shared.topology import Topology

__all__ = ["create_runtime"]


def create_runtime(common: CommonSettings | None = None,
                   settings: ConsoleSettings | None = None) -> ServiceRuntime:
    common = common or CommonSettings()
    settings = settings or ConsoleSettings()
    secret, tokens = settings.secret(), settings.tokens()  # ConfigError on a bad setting
    catalogue = load_catalogue(common.catalogue_path)
    registry = new_registry()
    topology = Topology(common.namespace, common.queue_type, common.delivery_limit)
    broker = build_broker(common, registry, "console")
    store = Store(common.mongo_url, common.mongo_db)
    metrics = ConsoleMetrics(registry)
    repo = ConsoleRepository(store)
    projector = Projector(repo, settings.index_salt, metrics)
    register_projector(broker, topology, projector)
    svc = ConsoleService(repo, projector, DispatcherGateway(settings.dispatcher_url, tokens),
                         IntakeGateway(broker, topology), metrics, common.timezone,
                         lambda: datetime.now(UTC))
    web = Web(common.timezone, {d.id: d.name for d in catalogue.departments}, metrics)
    categories = [c.name for c in catalogue.categories]
    accounts = Accounts(repo, settings.lockout_failures, settings.lockout_minutes * 60)
    ui = Starlette(
        routes=[
            *auth_routes(web, accounts, metrics),
            *order_routes(web, svc),
            *list_routes(web, svc, settings.index_salt, settings.list_limit, categories),
            *call_routes(web, svc, settings.index_salt),
            *answer_routes(web, svc, categories),
            *user_routes(web, repo, accounts),
            Mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static"))),
        ],
        exception_handlers={StoreUnavailable: web.unavailable},
        middleware=[Middleware(SecurityHeaders),
                    Middleware(SessionMiddleware, secret_key=secret,
                               session_cookie="suqiu_console",
                               max_age=int(settings.session_hours * 3600),
                               same_site="strict", https_only=settings.cookie_secure)])
    return ServiceRuntime("console", common, broker, store, topology, registry, settings.http_port,
                          routes=[Mount("/", app=ui)], background=[projector.backfill])
