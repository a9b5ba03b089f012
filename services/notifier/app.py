"""Composition root of the notifier service."""

from __future__ import annotations

from services.notifier.channels import DeliveryChannel, InboxChannel, SmsHttpChannel
from services.notifier.handlers import NotifierHandler, register
from services.notifier.metrics import NotifierMetrics
from services.notifier.repository import NotificationLog
from services.notifier.settings import NotifierSettings
from shared.catalogue import load_catalogue
from shared.runtime import ServiceParts, ServiceRuntime
from shared.settings import CommonSettings
from shared.ticket_flow import TicketSteps

__all__ = ["create_runtime"]


def create_runtime(common: CommonSettings | None = None,
                   settings: NotifierSettings | None = None) -> ServiceRuntime:
    settings = settings or NotifierSettings()
    parts = ServiceParts.build("notifier", common)
    catalogue = load_catalogue(parts.common.catalogue_path)
    channels: dict[str, DeliveryChannel] = {
        "sms": SmsHttpChannel(settings.sms_url, settings.sms_api_key, settings.sms_timeout_s),
        "inbox": InboxChannel(parts.store),
    }
    handler = NotifierHandler(TicketSteps(parts.store, parts.publisher),
                              NotificationLog(parts.store), channels, catalogue,
                              NotifierMetrics(parts.registry), settings.sms_signature)
    register(parts.consumer, parts.broker, parts.topology, handler, settings.prefetch)
    return parts.runtime(settings.http_port)
