"""Delivery channels behind one interface: the SMS provider over HTTP, and the in-app inbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import httpx
from pydantic import SecretStr

from services.notifier.domain import Notification
from shared.store import DuplicateKey, Store

__all__ = ["DeliveryResult", "InboxChannel", "SmsHttpChannel", "TransientDeliveryError"]


class TransientDeliveryError(Exception):
    """The provider failed in a way worth retrying (timeout, 5xx, connection refused)."""


@dataclass(frozen=True)
class DeliveryResult:
    state: str  # sent | held | failed
    provider_id: str | None = None
    detail: str | None = None


class DeliveryChannel(Protocol):
    async def deliver(self, n: Notification) -> DeliveryResult: ...


class InboxChannel:
    """Departments' in-app inbox: a record they list and read in their workbench."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def deliver(self, n: Notification) -> DeliveryResult:
        try:
            await self._store.insert("inbox", {
                "_id": n.key, "department": n.recipient, "ticket_no": n.ticket_no,
                "event_type": n.event_type, "text": n.text, "read": False,
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
            return DeliveryResult("held", detail="no SMS provider configured")
        try:
            resp = await self._client.post(self._url, headers=self._headers,
                                           json={"to": n.recipient, "text": n.text, "ref": n.key})
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(f"SMS provider unreachable: {type(exc).__name__}") from exc
        if resp.status_code >= 500 or resp.status_code == 429:
            raise TransientDeliveryError(f"SMS provider answered {resp.status_code}")
        if resp.status_code >= 400:
            return DeliveryResult("failed", detail=f"provider refused: HTTP {resp.status_code}")
        provider_id = None
        if resp.headers.get("content-type", "").startswith("application/json"):
            provider_id = str(resp.json().get("id") or "") or None
        return DeliveryResult("sent", provider_id=provider_id)

    async def close(self) -> None:
        await self._client.aclose()
