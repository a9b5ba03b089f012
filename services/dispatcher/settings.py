"""Dispatcher settings (env prefix SUQIU_DISPATCHER_)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DispatcherSettings"]


class DispatcherSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUQIU_DISPATCHER_", extra="ignore", frozen=True)

    http_port: int = Field(default=8103, ge=0, le=65535)
    prefetch: int = Field(default=32, ge=1, le=1000)
