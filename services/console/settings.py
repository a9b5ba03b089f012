"""Console settings (env prefix SUQIU_CONSOLE_)."""

from __future__ import annotations

import json

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from suqiu.shared.errors import ConfigError

__all__ = ["ConsoleSettings"]


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUQIU_CONSOLE_", extra="ignore", frozen=True)

    http_port: int = Field(default=8106, ge=0, le=65535)
    session_secret: SecretStr | None = Field(
        default=None, description="Signs the session cookie (>= 32 characters; same on every replica).")
    cookie_secure: bool = Field(default=False, description="Send the session cookie over HTTPS only.")
    session_hours: float = Field(default=10, gt=0, description="A sign-in lasts this long.")
    dispatcher_url: str = Field(default="http://127.0.0.1:8103",
                                description="Base URL of the dispatcher's HTTP API.")
    dispatcher_tokens: SecretStr | None = Field(
        default=None,
        description='JSON {"operator": "<token>", "supervisor": "<token>", "<department id>": '
                    '"<token>"}: the dispatcher credentials the console acts with.')
    lockout_failures: int = Field(default=5, ge=1, description="Failed sign-ins before lock-out.")
    lockout_minutes: float = Field(default=15, gt=0)
    index_salt: str = Field(default="", description="Salt of the phone search key.")
    list_limit: int = Field(default=100, ge=1, le=1000, description="Rows a list screen shows.")

    def secret(self) -> str:
        value = self.session_secret.get_secret_value() if self.session_secret else ""
        if len(value) < 32:
            raise ConfigError("SUQIU_CONSOLE_SESSION_SECRET", "required, at least 32 characters")
        return value

    def tokens(self) -> dict[str, str]:
        raw = self.dispatcher_tokens.get_secret_value() if self.dispatcher_tokens else "{}"
        try:
            data = json.loads(raw)
        except ValueError:
            raise ConfigError("SUQIU_CONSOLE_DISPATCHER_TOKENS", "not valid JSON") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ConfigError("SUQIU_CONSOLE_DISPATCHER_TOKENS", "must map names to token strings")
        return dict(data)
