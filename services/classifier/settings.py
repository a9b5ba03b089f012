"""Classifier settings (env prefix SUQIU_CLASSIFIER_)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from suqiu.shared.resources import package_dir

__all__ = ["DEFAULT_MODEL_DIR", "ClassifierSettings"]

DEFAULT_MODEL_DIR = package_dir("suqiu.services.classifier", "models")


class ClassifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUQIU_CLASSIFIER_", extra="ignore", frozen=True)

    http_port: int = Field(default=8102, ge=0, le=65535)
    prefetch: int = Field(default=16, ge=1, le=1000)
    model_path: Path = Field(
        default=DEFAULT_MODEL_DIR,
        description="A model directory, or a models root whose LATEST names the version.")
    use_model: bool = Field(default=True, description="False: keyword rules only.")
    national_gazetteer: bool = Field(
        default=True, description="Look up places outside the catalogue's city (cpca).")
    model_reload_seconds: float = Field(
        default=30.0, ge=0, description="How often LATEST is checked for a new version; 0: never.")
