"""The operator's notifier configuration (deploy/config/notifier.yaml), validated at start-up.

Holds who is reached how: each department's e-mail addresses, webhook URL, supervisor's
WeChat openid and digest interval, and the WeChat template id per event. Secrets are never in
the file: a webhook names the environment variable that holds its HMAC secret (`secret_env`),
and start-up fails when that variable is missing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from suqiu.shared.catalogue import Catalogue

__all__ = ["DepartmentContacts", "EscalationLevel", "NotifierConfig", "NotifierConfigError", "Webhook",
           "load_notifier_config"]


class NotifierConfigError(Exception):
    """The notifier configuration is missing, invalid, or names a secret that is not set."""


class _Cfg(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Webhook(_Cfg):
    url: str = Field(pattern=r"^https?://")
    secret_env: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$",
                            description="Environment variable holding the HMAC-SHA256 secret.")


class DepartmentContacts(_Cfg):
    email: list[str] = Field(default_factory=list)
    sms: list[str] = Field(default_factory=list, description="Duty phones for SMS notices.")
    webhook: Webhook | None = None
    supervisor_wechat_openid: str | None = Field(default=None, max_length=64)
    digest_minutes: int = Field(default=0, ge=0, le=1440,
                                description="0 sends each e-mail notice at once; N batches "
                                            "them into one digest e-mail per N minutes.")


class EscalationLevel(_Cfg):
    """Who is told at one escalation level (e.g. 区级督办, 市级督办, 省级督办)."""

    name: str = Field(min_length=1, max_length=40)
    departments: list[str] = Field(min_length=1, description="Catalogue department ids.")


SEVERITY_KEYS = frozenset({"general", "important", "major", "urgent", "default"})


class NotifierConfig(_Cfg):
    departments: dict[str, DepartmentContacts] = Field(default_factory=dict)
    escalation_levels: list[EscalationLevel] = Field(
        default_factory=list,
        description="Recipients per escalation level, level 1 first; a level beyond the list "
                    "goes to the last one. Empty: the escalation target department only.")
    extension_approvers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Severity (or `default`) -> departments that approve extension requests; "
                    "none configured: the lead department's parent in the catalogue.")
    wechat_templates: dict[str, str] = Field(
        default_factory=dict, description="Event type -> WeChat template id.")
    hotline: str = Field(default="12345", description="Number quoted in texts to complainants.")

    @model_validator(mode="after")
    def _emails_look_like_emails(self) -> NotifierConfig:
        bad = sorted(set(self.extension_approvers) - SEVERITY_KEYS)
        if bad:
            raise ValueError(f"extension_approvers: unknown severity {bad[0]!r}")
        for dept, c in self.departments.items():
            for addr in c.email:
                if "@" not in addr or addr.startswith("@") or addr.endswith("@"):
                    raise ValueError(f"department {dept}: {addr!r} is not an e-mail address")
        return self

    def contacts(self, department: str) -> DepartmentContacts:
        return self.departments.get(department) or DepartmentContacts()

    def check(self, catalogue: Catalogue, env: Mapping[str, str]) -> None:
        """Every department is in the catalogue; every webhook secret is set."""
        known = {d.id for d in catalogue.departments}
        problems = [f"department {d!r} is not in the catalogue"
                    for d in self.departments if d not in known]
        problems += [f"escalation level {lv.name!r}: department {d!r} is not in the catalogue"
                     for lv in self.escalation_levels for d in lv.departments if d not in known]
        problems += [f"extension approver {d!r} ({sev}) is not in the catalogue"
                     for sev, ds in self.extension_approvers.items() for d in ds if d not in known]
        problems += [f"department {d}: webhook secret env {c.webhook.secret_env} is not set"
                     for d, c in self.departments.items()
                     if c.webhook and not env.get(c.webhook.secret_env)]
        if problems:
            raise NotifierConfigError("; ".join(problems))

    def webhook_secret(self, department: str, env: Mapping[str, str] | None = None) -> str:
        hook = self.contacts(department).webhook
        if hook is None:
            raise KeyError(department)
        return (env if env is not None else os.environ)[hook.secret_env]


def load_notifier_config(path: Path) -> NotifierConfig:
    """Read and validate the YAML; a missing file means no department contacts."""
    if not Path(path).exists():
        raise NotifierConfigError(f"notifier config {path} does not exist")
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise NotifierConfigError(f"cannot read notifier config {path}: {exc}") from exc
    try:
        return NotifierConfig.model_validate(data)
    except ValidationError as exc:
        raise NotifierConfigError(f"invalid notifier config {path}: {exc}") from exc
