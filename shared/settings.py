"""Configuration common to every service, read from the environment once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.resources import default_config

__all__ = ["REPO_ROOT", "CommonSettings"]

REPO_ROOT = Path(__file__).resolve().parent.parent


class CommonSettings(BaseSettings):
    """Broker, store and runtime settings; each service subclasses this with its own prefix."""

    model_config = SettingsConfigDict(env_prefix="SUQIU_", extra="ignore", frozen=True)

    amqp_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/",
        validation_alias="AMQP_URL",
        description="RabbitMQ connection URL.",
    )
    mongo_url: str = Field(
        default="mongodb://127.0.0.1:27017/",
        validation_alias="MONGO_URL",
        description="MongoDB (or MongoDB wire-protocol) connection URL.",
    )
    mongo_db: str = Field(default="suqiu", description="Database name.")
    namespace: str = Field(
        default="suqiu",
        pattern=r"^[a-z][a-z0-9_]{0,40}$",
        description="Prefix of every exchange and queue; lets several stacks share one broker.",
    )
    queue_type: str = Field(default="quorum", pattern="^(quorum|classic)$")
    delivery_limit: int = Field(default=5, ge=1, le=100)
    http_host: str = Field(default="127.0.0.1", description="Address the HTTP port binds to.")
    graceful_timeout: float = Field(default=20.0, gt=0)
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    timezone: str = "Asia/Shanghai"
    catalogue_path: Path = Field(
        default_factory=lambda: default_config("catalogue.yaml"),
        description="The operator's catalogue (departments, categories, regions, SLA).",
    )
