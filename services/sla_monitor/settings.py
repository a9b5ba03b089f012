"""SLA monitor settings (env prefix SUQIU_SLA_)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SlaSettings"]


class SlaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUQIU_SLA_", extra="ignore", frozen=True)

    http_port: int = Field(default=8104, ge=0, le=65535)
    prefetch: int = Field(default=32, ge=1, le=1000)
    scan_interval_s: float = Field(default=1.0, gt=0, description="How often due timers are claimed.")
    claim_batch: int = Field(default=200, ge=1, le=10000)
    lease_s: float = Field(default=30.0, gt=0, description="A claimed timer not fired within "
                           "this time (crashed replica) is claimed again.")
