"""Delivery channels behind one interface: SMS and WeChat providers over HTTP, e-mail over
SMTP, signed webhooks to department systems, and the in-app inbox.

A channel returns a DeliveryResult (`sent`, `failed` for permanent refusals such as 4xx or an
invalid number, `skipped` when the channel is not configured) or raises
TransientDeliveryError (timeouts, connection errors, 5xx, 429): the caller retries those.
Provider errors are translated here, at the edge.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

import aiosmtplib
import httpx
from pydantic import SecretStr

from suqiu.services.notifier.config import NotifierConfig
from suqiu.services.notifier.domain import Notification
from suqiu.services.notifier.rules import TokenBucket, sign_webhook
from suqiu.services.notifier.templates import TemplateBook
from suqiu.shared.store import DuplicateKey, Store

__all__ = [
    "DeliveryChannel",
    "DeliveryResult",
    "EmailSmtpChannel",
    "InboxChannel",
    "RateLimited",
    "SmsHttpChannel",
    "TransientDeliveryError",
    "WebhookChannel",
    "WechatHttpChannel",
]

WECHAT_TRANSIENT = frozenset({-1, 45009, 45047})  # system busy, API rate limits


class TransientDeliveryError(Exception):
    """The provider failed in a way worth retrying (timeout, 5xx, connection refused)."""


@dataclass(frozen=True)
class DeliveryResult:
    state: str  # sent | failed | skipped
    provider_id: str | None = None
    detail: str | None = None


class DeliveryChannel(Protocol):
    async def deliver(self, n: Notification) -> DeliveryResult: ...


def _http_outcome(resp: httpx.Response, what: str) -> DeliveryResult | None:
    """None for 2xx; failed for other 4xx; raises on 5xx / 429 (worth retrying)."""
    if resp.status_code >= 500 or resp.status_code == 429:
        raise TransientDeliveryError(f"{what} answered HTTP {resp.status_code}")
    if resp.status_code >= 400:
        return DeliveryResult("failed", detail=f"{what} refused: HTTP {resp.status_code}")
    return None


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class RateLimited:
    """Enforces a per-provider send rate (token bucket) in front of a channel."""

    def __init__(self, inner: DeliveryChannel, rate_per_s: float,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.inner = inner
        self._bucket = TokenBucket(rate_per_s)
        self._clock = clock
        self._sleep = sleep

    async def deliver(self, n: Notification) -> DeliveryResult:
        # reserve() runs without an await in between, so concurrent senders queue up fairly.
        wait = self._bucket.reserve(self._clock())
        if wait > 0:
            await self._sleep(wait)
        return await self.inner.deliver(n)


class InboxChannel:
    """Departments' in-app inbox: a record they list and read in their workbench."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def deliver(self, n: Notification) -> DeliveryResult:
        try:
            await self._store.insert("inbox", {
                "_id": n.key, "department": n.recipient, "ticket_no": n.ticket_no,
                "event_type": n.event_type, "title": n.title, "text": n.text, "read": False,
                "created_at": datetime.now(UTC),
            })
        except DuplicateKey:
            pass
        return DeliveryResult("sent", provider_id=n.key)


class SmsHttpChannel:
    """An HTTP SMS provider: POST {to, text, ref}; `ref` lets the provider drop repeats."""

    def __init__(self, url: str | None, api_key: SecretStr | None, timeout_s: float) -> None:
        self._url = url
        self._headers = {"Authorization": f"Bearer {api_key.get_secret_value()}"} if api_key else {}
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def deliver(self, n: Notification) -> DeliveryResult:
        if not self._url:
            return DeliveryResult("skipped", detail="channel_not_configured")
        try:
            resp = await self._client.post(self._url, headers=self._headers,
                                           json={"to": n.recipient, "text": n.text, "ref": n.key})
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(f"SMS provider unreachable: {type(exc).__name__}") from exc
        refused = _http_outcome(resp, "SMS provider")
        if refused:
            return refused
        return DeliveryResult("sent", provider_id=str(_json(resp).get("id") or "") or None)

    async def close(self) -> None:
        await self._client.aclose()


class WechatHttpChannel:
    """WeChat template messages: POST {touser, template_id, data} to the API (or a gateway)."""

    def __init__(self, url: str | None, access_token: SecretStr | None, timeout_s: float) -> None:
        self._url = url
        self._params = {"access_token": access_token.get_secret_value()} if access_token else {}
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def deliver(self, n: Notification) -> DeliveryResult:
        if not self._url:
            return DeliveryResult("skipped", detail="channel_not_configured")
        body = {"touser": n.recipient, "template_id": n.extra.get("template_id", ""),
                "client_msg_id": n.key[-64:],
                "data": {"first": {"value": n.title}, "keyword1": {"value": n.ticket_no},
                         "remark": {"value": n.text}}}
        try:
            resp = await self._client.post(self._url, params=self._params, json=body)
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(f"WeChat unreachable: {type(exc).__name__}") from exc
        refused = _http_outcome(resp, "WeChat")
        if refused:
            return refused
        data = _json(resp)
        code = int(data.get("errcode", 0) or 0)
        if code in WECHAT_TRANSIENT:
            raise TransientDeliveryError(f"WeChat errcode {code}")
        if code != 0:
            return DeliveryResult("failed", detail=f"WeChat errcode {code}")
        return DeliveryResult("sent", provider_id=str(data.get("msgid") or "") or None)

    async def close(self) -> None:
        await self._client.aclose()


class WebhookChannel:
    """Signed webhooks: headers X-Suqiu-Timestamp and X-Suqiu-Signature = sha256=HMAC(secret,
    "<timestamp>." + body) let the department's system prove the sender and reject replays."""

    def __init__(self, config: NotifierConfig, env: Mapping[str, str], timeout_s: float,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._config = config
        self._env = env
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self._clock = clock

    async def deliver(self, n: Notification) -> DeliveryResult:
        hook = self._config.contacts(n.recipient).webhook
        if hook is None:
            return DeliveryResult("skipped", detail="channel_not_configured")
        body = json.dumps({
            "delivery_id": n.key, "event_id": n.event_id, "event_type": n.event_type,
            "ticket_no": n.ticket_no, "department": n.recipient, "title": n.title,
            "text": n.text,
        }, ensure_ascii=False, sort_keys=True).encode()
        ts = int(self._clock().timestamp())
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "X-Suqiu-Timestamp": str(ts), "X-Suqiu-Delivery": n.key,
                   "X-Suqiu-Signature": sign_webhook(self._env[hook.secret_env], ts, body)}
        try:
            resp = await self._client.post(hook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(f"webhook unreachable: {type(exc).__name__}") from exc
        refused = _http_outcome(resp, "webhook")
        return refused or DeliveryResult("sent", provider_id=n.key)

    async def close(self) -> None:
        await self._client.aclose()


class EmailSmtpChannel:
    """E-mail over SMTP (aiosmtplib): a text part and an HTML alternative."""

    def __init__(self, *, host: str | None, port: int, username: str | None,
                 password: SecretStr | None, starttls: bool, tls: bool, sender: str,
                 timeout_s: float, templates: TemplateBook, signature: str) -> None:
        self._host = host
        self._port = port
        self._username = username
        self._password = password.get_secret_value() if password else None
        self._starttls = starttls
        self._tls = tls
        self._sender = sender
        self._timeout = timeout_s
        self._templates = templates
        self._signature = signature

    def message(self, n: Notification) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self._sender
        msg["To"] = n.recipient
        msg["Subject"] = n.title
        msg["Message-ID"] = make_msgid(domain="suqiu.local")
        msg["X-Suqiu-Delivery"] = n.key
        msg.set_content(n.text + "\n")
        msg.add_alternative(self._templates.html(n.title, n.text, self._signature),
                            subtype="html")
        return msg

    async def deliver(self, n: Notification) -> DeliveryResult:
        if not self._host:
            return DeliveryResult("skipped", detail="channel_not_configured")
        msg = self.message(n)
        try:
            await aiosmtplib.send(
                msg, hostname=self._host, port=self._port, username=self._username,
                password=self._password, start_tls=self._starttls, use_tls=self._tls,
                timeout=self._timeout)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if all(c >= 500 for c in codes):
                return DeliveryResult("failed", detail=f"recipient refused: SMTP {codes[0]}")
            raise TransientDeliveryError(f"recipient deferred: SMTP {codes}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                return DeliveryResult("failed", detail=f"SMTP {exc.code}")
            raise TransientDeliveryError(f"SMTP {exc.code}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientDeliveryError(f"SMTP unreachable: {type(exc).__name__}") from exc
        return DeliveryResult("sent", provider_id=str(msg["Message-ID"]))
