"""Notifier settings (env prefix SUQIU_NOTIFIER_)."""

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["NotifierSettings"]


class NotifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUQIU_NOTIFIER_", extra="ignore", frozen=True)

    http_port: int = Field(default=8105, ge=0, le=65535)
    prefetch: int = Field(default=32, ge=1, le=1000)
    sms_url: str | None = Field(default=None, description="SMS provider endpoint (HTTP POST, "
                                "JSON). Unset: SMS are recorded as held until one is configured.")
    sms_api_key: SecretStr | None = None
    sms_signature: str = Field(default="12345热线", description="Signature shown in 【】.")
    sms_timeout_s: float = Field(default=5.0, gt=0)
