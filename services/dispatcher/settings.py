"""Dispatcher settings (env prefix SUQIU_DISPATCHER_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from suqiu.shared.resources import default_config

__all__ = ["DispatcherSettings"]


class DispatcherSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUQIU_DISPATCHER_", extra="ignore", frozen=True)

    http_port: int = Field(default=8103, ge=0, le=65535)
    prefetch: int = Field(default=16, ge=1, le=1000)
    routing_path: Path | None = Field(
        default_factory=lambda: default_config("routing.yaml"),
        description="Routing rules (category x region x keywords -> departments).")
    revisit_days: float = Field(default=7, gt=0, description="Revisit due this long after a reply.")
    max_dissatisfied: int = Field(
        default=2, ge=1, description="Dissatisfied revisits after which the order escalates.")
    escalation_ladder: list[str] = Field(
        default_factory=list,
        description="Department ids of the escalation ladder; empty = the catalogue's parents.")
    credentials: SecretStr | None = Field(
        default=None,
        description='JSON {"<token>": {"department": "...", "role": "department|supervisor|'
                    'operator", "unmask": false}}; tokens are secrets, never in code.')
    credentials_file: Path | None = Field(
        default=None, description="A file holding the same JSON (e.g. a mounted secret).")
    inbox_limit: int = Field(default=200, ge=1, le=1000)
    outbox_sweep_interval_s: float = Field(
        default=30, ge=0, description="How often the outbox sweeper walks; 0 turns it off.")
    outbox_sweep_age_s: float = Field(
        default=60, gt=0, description="Entries pending this long are published by the sweeper.")
    outbox_sweep_batch: int = Field(default=100, ge=1, le=1000,
                                    description="Most orders one sweep publishes.")
