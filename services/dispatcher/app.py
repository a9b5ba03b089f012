"""Composition root of the dispatcher service."""

from __future__ import annotations

from datetime import UTC, datetime

from suqiu.services.dispatcher.auth import load_credentials
from suqiu.services.dispatcher.domain import Policy
from suqiu.services.dispatcher.handlers import DispatcherHandler, register
from suqiu.services.dispatcher.http_api import DispatcherHttpApi
from suqiu.services.dispatcher.metrics import DispatcherMetrics
from suqiu.services.dispatcher.repository import DispatcherRepository
from suqiu.services.dispatcher.routing import load_routing
from suqiu.services.dispatcher.service import LifecycleService
from suqiu.services.dispatcher.settings import DispatcherSettings
from suqiu.shared.catalogue import load_catalogue
from suqiu.shared.runtime import ServiceParts, ServiceRuntime
from suqiu.shared.settings import CommonSettings
from suqiu.shared.sla import load_book

__all__ = ["create_runtime"]


def create_runtime(common: CommonSettings | None = None,
                   settings: DispatcherSettings | None = None) -> ServiceRuntime:
    settings = settings or DispatcherSettings()
    parts = ServiceParts.build("dispatcher", common)
    catalogue = load_catalogue(parts.common.catalogue_path)
    rules = load_routing(settings.routing_path, catalogue)  # validated: a typo stops start-up
    policy = Policy(catalogue, revisit_days=settings.revisit_days,
                    max_dissatisfied=settings.max_dissatisfied,
                    ladder=tuple(settings.escalation_ladder),
                    deadlines=load_book(catalogue, parts.common.catalogue_path,
                                        today=datetime.now(UTC).date()))
    secret = settings.credentials.get_secret_value() if settings.credentials else None
    credentials = load_credentials(secret, settings.credentials_file,
                                   {d.id for d in catalogue.departments})
    metrics = DispatcherMetrics(parts.registry)
    lifecycle = LifecycleService(DispatcherRepository(parts.store), parts.publisher, policy,
                                 rules, metrics)
    register(parts.consumer, parts.broker, parts.topology, DispatcherHandler(lifecycle),
             settings.prefetch)
    api = DispatcherHttpApi(lifecycle, credentials, metrics, settings.inbox_limit)
    background = [] if settings.outbox_sweep_interval_s <= 0 else [
        lambda: lifecycle.sweep_forever(settings.outbox_sweep_interval_s,
                                        settings.outbox_sweep_age_s, settings.outbox_sweep_batch)]
    return parts.runtime(settings.http_port, routes=api.routes(), background=background)
