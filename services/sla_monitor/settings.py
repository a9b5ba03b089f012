"""SLA monitor settings (env prefix SUQIU_SLA_)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.resources import default_config

__all__ = ["SlaSettings"]



class SlaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUQIU_SLA_", extra="ignore", frozen=True)

    http_port: int = Field(default=8104, ge=0, le=65535)
    prefetch: int = Field(default=16, ge=1, le=1000)
    scan_interval_s: float = Field(default=1.0, gt=0, description="How often due timers are claimed.")
    claim_batch: int = Field(default=200, ge=1, le=10000)
    lease_s: float = Field(default=30.0, gt=0, description="A claimed timer not fired within "
                           "this time (crashed replica) is claimed again.")
    policy_path: Path | None = Field(
        default=None, description="SLA policies (YAML); default: sla.yaml next to the "
        "catalogue (SUQIU_CATALOGUE_PATH), else deploy/config/sla.yaml.")
    calendar_overrides_path: Path | None = Field(
        default=None, description="Business-calendar overrides: holidays and 调休 workdays "
        "(YAML); default: calendar-overrides.yaml next to the catalogue, else deploy/config/.")

    def resolve(self, name: str, explicit: Path | None, catalogue_path: Path) -> Path:
        """The explicit path, else `name` next to the catalogue, else the shipped default."""
        if explicit is not None:
            return explicit
        beside = Path(catalogue_path).parent / name
        return beside if beside.exists() else default_config(name)
    timezone: str = Field(default="Asia/Shanghai")
    open_deadlines_interval_s: float = Field(
        default=15.0, ge=0, description="Refresh of suqiu_sla_open_deadlines (0: off); its "
        "counts scan the live timers on nx-27017, so raise it at a million open orders.")
