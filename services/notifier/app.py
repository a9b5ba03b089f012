"""Composition root of the notifier service."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from suqiu.services.notifier.channels import (
    DeliveryChannel,
    EmailSmtpChannel,
    InboxChannel,
    RateLimited,
    SmsHttpChannel,
    WebhookChannel,
    WechatHttpChannel,
)
from suqiu.services.notifier.config import load_notifier_config
from suqiu.services.notifier.delivery import Clock, Deliverer, RetryPolicy
from suqiu.services.notifier.domain import HANDLED_EVENTS, Planner, QuietHours
from suqiu.services.notifier.handlers import NotifierHandler, register, routes
from suqiu.services.notifier.metrics import NotifierMetrics
from suqiu.services.notifier.repository import NotificationLog
from suqiu.services.notifier.settings import NotifierSettings
from suqiu.services.notifier.templates import TemplateBook
from suqiu.shared.catalogue import load_catalogue
from suqiu.shared.runtime import ServiceParts, ServiceRuntime
from suqiu.shared.settings import CommonSettings

__all__ = ["Notifier", "build_notifier", "create_runtime"]

# Every variable a template may use, for the start-up check of operator overrides.
_SAMPLE_CONTEXT = {
    "ticket_no": "SQ-20260101-000001", "signature": "12345热线", "hotline": "12345",
    "event_type": "x", "promise": "5天", "promised_by": "2026-01-02 10:00",
    "what": "城乡建设/施工扰民", "where": "西湖区",
    "severity_zh": "一般", "department_name": "市住房和城乡建设局", "role": "lead",
    "audience": "department", "sign_for_due": "2026-01-01 12:00",
    "resolution_due": "2026-01-06 10:00", "step_zh": "签收", "due": "2026-01-01 12:00",
    "late_minutes": 5, "escalated_to_name": "市政府督查室", "level": 1, "urged_by": "督查室",
    "note": "请加快", "summary": "已处理", "survey_url": None, "answer_by": "2026-01-08 10:00",
    "new_due": "2026-01-09 10:00", "reason": None, "count": 2, "items": ["a", "b"],
    "reasons_zh": "内容过短", "callback_due": "2026-01-02 10:00",
}


@dataclass
class Notifier:
    """The built service: its runtime, and the parts tests drive directly."""

    runtime: ServiceRuntime
    handler: NotifierHandler
    deliverer: Deliverer


def build_notifier(common: CommonSettings | None = None,
                   settings: NotifierSettings | None = None, *,
                   clock: Clock | None = None,
                   env: Mapping[str, str] | None = None) -> Notifier:
    settings = settings or NotifierSettings()
    env = env if env is not None else os.environ
    parts = ServiceParts.build("notifier", common)
    catalogue = load_catalogue(parts.common.catalogue_path)
    config = load_notifier_config(settings.config_path)
    config.check(catalogue, env)
    templates = TemplateBook(settings.templates_dir)
    templates.check({name: _SAMPLE_CONTEXT for name in [*sorted(HANDLED_EVENTS), "_digest"]})
    available = frozenset({"inbox", "webhook"}
                          | ({"sms"} if settings.sms_url else set())
                          | ({"email"} if settings.smtp_host else set())
                          | ({"wechat"} if settings.wechat_url else set()))
    planner = Planner(catalogue, config, templates, settings.sms_signature,
                      settings.sms_max_segments, available)
    channels: dict[str, DeliveryChannel] = {
        "sms": RateLimited(SmsHttpChannel(settings.sms_url, settings.sms_api_key,
                                          settings.sms_timeout_s), settings.sms_rate_per_s),
        "email": RateLimited(EmailSmtpChannel(
            host=settings.smtp_host, port=settings.smtp_port, username=settings.smtp_username,
            password=settings.smtp_password, starttls=settings.smtp_starttls,
            tls=settings.smtp_tls, sender=settings.smtp_from, timeout_s=settings.smtp_timeout_s,
            templates=templates, signature=settings.sms_signature), settings.email_rate_per_s),
        "wechat": RateLimited(WechatHttpChannel(settings.wechat_url, settings.wechat_access_token,
                                                settings.wechat_timeout_s),
                              settings.wechat_rate_per_s),
        "webhook": RateLimited(WebhookChannel(config, env, settings.webhook_timeout_s),
                               settings.webhook_rate_per_s),
        "inbox": InboxChannel(parts.store),
    }
    metrics = NotifierMetrics(parts.registry)
    quiet = QuietHours(settings.quiet_start, settings.quiet_end,
                       settings.quiet_timezone, settings.quiet_channels)
    retry = RetryPolicy(settings.retry_base_s, settings.retry_cap_s, settings.max_attempts,
                        settings.lease_s)
    extra = {"clock": clock} if clock else {}
    deliverer = Deliverer(store=parts.store, log_=NotificationLog(parts.store), planner=planner,
                          channels=channels, quiet=quiet, retry=retry, metrics=metrics,
                          publisher=parts.publisher,
                          work_queue=parts.topology.work_queue("notifier").name,
                          events_exchange=parts.topology.events_exchange, **extra)
    handler = NotifierHandler(deliverer, metrics, settings.report_token)
    register(parts.consumer, parts.broker, parts.topology, handler, settings.prefetch)
    runtime = parts.runtime(settings.http_port, routes=routes(handler), background=[
        lambda: deliverer.release_forever(settings.release_interval_s, settings.release_batch)])
    return Notifier(runtime, handler, deliverer)


def create_runtime(common: CommonSettings | None = None,
                   settings: NotifierSettings | None = None) -> ServiceRuntime:
    return build_notifier(common, settings).runtime
