"""Notifier settings (env prefix SUQIU_NOTIFIER_); secrets come from env, never from YAML."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from suqiu.shared.resources import default_config

__all__ = ["NotifierSettings"]


class NotifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUQIU_NOTIFIER_", extra="ignore", frozen=True)

    http_port: int = Field(default=8105, ge=0, le=65535)
    prefetch: int = Field(default=16, ge=1, le=1000)
    config_path: Path = Field(default_factory=lambda: default_config("notifier.yaml"),
                              description="Department contacts, WeChat template ids, digests.")
    templates_dir: Path | None = Field(default=None, description="Operator template overrides.")

    # SMS provider over HTTP: POST JSON {to, text, ref}; answer {"id": ...}.
    sms_url: str | None = Field(default=None, description="Unset: SMS are skipped "
                                "(channel_not_configured).")
    sms_api_key: SecretStr | None = None
    sms_signature: str = Field(default="12345热线", description="Signature shown in 【】.")
    sms_timeout_s: float = Field(default=5.0, gt=0)
    sms_max_segments: int = Field(default=3, ge=1, le=10)
    sms_rate_per_s: float = Field(default=20.0, gt=0)

    # E-mail over SMTP.
    smtp_host: str | None = Field(default=None, description="Unset: e-mail is skipped.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = Field(default=False, description="Implicit TLS (port 465).")
    smtp_from: str = "12345热线 <noreply@suqiu.local>"
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    email_rate_per_s: float = Field(default=10.0, gt=0)

    # WeChat template messages over HTTP (the official API or a gateway in front of it).
    wechat_url: str | None = Field(default=None, description="Unset: WeChat is skipped.")
    wechat_access_token: SecretStr | None = None
    wechat_timeout_s: float = Field(default=5.0, gt=0)
    wechat_rate_per_s: float = Field(default=20.0, gt=0)

    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_rate_per_s: float = Field(default=20.0, gt=0)

    # Provider delivery reports (POST /notifier/delivery-reports/{channel}).
    report_token: SecretStr | None = Field(default=None, description="Bearer token providers "
                                           "must send with delivery reports; unset: no check.")

    # Quiet hours for complainants (local time of `quiet_timezone`).
    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)
    quiet_timezone: str = "Asia/Shanghai"
    quiet_channels: frozenset[str] = frozenset({"sms"})

    # Retries of transient provider failures, persisted and driven by the release loop.
    retry_base_s: float = Field(default=10.0, gt=0)
    retry_cap_s: float = Field(default=900.0, gt=0)
    max_attempts: int = Field(default=10, ge=1, le=100)
    lease_s: float = Field(default=60.0, gt=0, description="A claimed send older than this "
                           "is taken over (its claimer crashed).")
    release_interval_s: float = Field(default=5.0, gt=0)
    release_batch: int = Field(default=100, ge=1, le=10000)
