"""Analytics settings (env prefix SUQIU_ANALYTICS_)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["AnalyticsSettings"]


class AnalyticsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUQIU_ANALYTICS_", extra="ignore", frozen=True)

    http_port: int = Field(default=8107, ge=0, le=65535)
    prefetch: int = Field(default=32, ge=1, le=1000)
    timezone: str = Field(default="Asia/Shanghai", description="Days and months are local days.")
    # Hotspots (问题热点)
    hotspot_interval_s: float = Field(default=300.0, ge=0, description="Detection run every (0: off).")
    hotspot_window_days: int = Field(default=7, ge=1, le=31)
    hotspot_baseline_windows: int = Field(default=6, ge=2, le=26)
    hotspot_alpha: float = Field(default=1e-4, gt=0, lt=0.5, description="Poisson tail threshold.")
    hotspot_min_count: int = Field(default=8, ge=1)
    hotspot_min_ratio: float = Field(default=2.0, ge=1.0)
    hotspot_baseline_floor: float = Field(default=1.0, gt=0,
                                          description="Baseline used when the mean is lower.")
    # Archive and retention
    retention_interval_s: float = Field(default=3600.0, ge=0, description="Archive/purge run every (0: off).")
    archive_after_days: float = Field(default=30.0, ge=0,
                                      description="Closed orders are archived this long after closing.")
    retention_days: int = Field(default=730, ge=730, description="Raw payloads, rejected-message "
                                "bodies and unmasked personal data are kept this long (>= 2 years).")
    retention_batch: int = Field(default=500, ge=1, le=10000)
