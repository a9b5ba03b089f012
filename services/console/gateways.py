"""The console's outbound paths: commands to the dispatcher's HTTP API, hotline calls to intake.

The console never writes a work order: a command goes through the dispatcher (its lifecycle,
its version check), a new call goes through intake exactly as the hotline channel sends it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from faststream.rabbit import RabbitBroker

from suqiu.shared.topology import Topology

__all__ = ["CommandResult", "DispatcherGateway", "IntakeGateway"]


@dataclass(frozen=True)
class CommandResult:
    ok: bool
    code: str | None = None
    version: int | None = None
    status: str | None = None


class DispatcherGateway:
    def __init__(self, base_url: str, tokens: dict[str, str], timeout: float = 15.0) -> None:
        self._base = base_url.rstrip("/")
        self._tokens = tokens
        self._timeout = timeout

    async def command(self, credential: str | None, ticket_no: str, version: int,
                      body: dict[str, Any]) -> CommandResult:
        token = self._tokens.get(credential or "")
        if not token:
            return CommandResult(False, "no_credential")
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                resp = await client.post(
                    f"{self._base}/dispatcher/v1/tickets/{ticket_no}/commands",
                    headers={"Authorization": f"Bearer {token}", "If-Match": f'"{version}"'},
                    json=body)
        except httpx.HTTPError:
            return CommandResult(False, "dispatcher_unavailable")
        try:
            data = resp.json()
        except ValueError:
            data = {}
        if resp.status_code == 200:
            return CommandResult(True, None, data.get("version"), data.get("status"))
        return CommandResult(False, (data.get("error") or {}).get("code") or f"http_{resp.status_code}")


class IntakeGateway:
    """Publishes a call as the hotline channel system does (`intake.hotline`, persistent)."""

    def __init__(self, broker: RabbitBroker, topology: Topology) -> None:
        self._broker = broker
        self._topology = topology

    async def publish_call(self, envelope: dict[str, Any]) -> None:
        await self._broker.publish(
            json.dumps(envelope, ensure_ascii=False).encode(),
            exchange=self._topology.exchange(self._topology.intake_exchange),
            routing_key=Topology.intake_routing_key(envelope["channel"]),
            message_id=envelope["channel_message_id"], persist=True,
            content_type="application/json")
