"""Intake settings (env prefix SUQIU_INTAKE_)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["IntakeSettings"]


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUQIU_INTAKE_", extra="ignore", frozen=True)

    http_port: int = Field(default=8101, ge=0, le=65535)
    prefetch: int = Field(default=32, ge=1, le=1000)
    ticket_prefix: str = Field(default="SQ", pattern=r"^[A-Z]{1,6}$")
