"""The environment variables each service's settings read, derived from the settings classes."""

from __future__ import annotations

import importlib
import inspect

from pydantic_settings import BaseSettings

from suqiu.shared.settings import CommonSettings


def settings_class(service: str) -> type[BaseSettings]:
    """The service's own settings class (the BaseSettings subclass in services/<s>/settings.py)."""
    module = importlib.import_module(f"suqiu.services.{service}.settings")
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass)
               if issubclass(c, BaseSettings) and c.__module__ == module.__name__]
    assert len(classes) == 1, f"services/{service}/settings.py: expected one settings class"
    return classes[0]


def env_names(cls: type[BaseSettings]) -> dict[str, str]:
    """Environment variable -> field name, as pydantic-settings reads them."""
    prefix = cls.model_config.get("env_prefix", "")
    names: dict[str, str] = {}
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        names[alias if isinstance(alias, str) else f"{prefix}{name}".upper()] = name
    return names


def service_env_names(service: str) -> dict[str, str]:
    return env_names(CommonSettings) | env_names(settings_class(service))
