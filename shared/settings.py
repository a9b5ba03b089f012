"""Configuration common to every service, read from the environment once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from suqiu.shared.resources import default_config

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
    store_max_in_flight: int = Field(
        default=4, ge=1, le=200,
        description="Store operations one process has in flight at most (a semaphore and a "
                    "connection pool of this size): sized to what the store serves, so a "
                    "saturated store makes the queues grow instead of handlers time out.")
    retry_delays_s: str = Field(
        default="1,5,30",
        description="Delay tiers (seconds, comma-separated) of the retry path: a message whose "
                    "handler failed transiently waits in `<ns>.retry.<ms>` (TTL + dead-letter "
                    "back to its work queue) without holding a consumer slot; attempt n uses "
                    "tier n (the last one from then on), with +-20 % jitter.")
    retry_limit: int = Field(
        default=5, ge=1, le=100,
        description="Transient failures of one message before it is dead-lettered as poison; "
                    "StoreUnavailable (the store is down) does not count.")
    http_host: str = Field(default="127.0.0.1", description="Address the HTTP port binds to.")
    graceful_timeout: float = Field(default=20.0, gt=0)
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")

    def retry_tiers_ms(self) -> tuple[int, ...]:
        """The retry delay tiers in milliseconds, ascending."""
        try:
            tiers = sorted({int(float(v) * 1000) for v in self.retry_delays_s.split(",") if v.strip()})
        except ValueError as exc:
            from suqiu.shared.errors import ConfigError
            raise ConfigError("SUQIU_RETRY_DELAYS_S", f"not a list of seconds: {exc}") from exc
        if not tiers or tiers[0] < 10:
            from suqiu.shared.errors import ConfigError
            raise ConfigError("SUQIU_RETRY_DELAYS_S", "give at least one delay of >= 0.01 s")
        return tuple(tiers)
    timezone: str = "Asia/Shanghai"
    catalogue_path: Path = Field(
        default_factory=lambda: default_config("catalogue.yaml"),
        description="The operator's catalogue (departments, categories, regions, SLA).",
    )
