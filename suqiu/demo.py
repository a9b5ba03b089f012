"""`suqiu demo`: the whole pipeline fed with sample complaints from the hotline and web channels.

Starts the Mongo-protocol server (unless MONGO_URL), the five services and the sandbox SMS
gateway as separate processes; publishes the samples as the channel systems would; waits for
every ticket to be dispatched; prints what happened to each; stops everything it started.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import AsyncMongoClient
from rich.console import Console
from rich.table import Table

from suqiu.channel_client import ChannelPublisher, wait_for_tickets
from suqiu.samples import sample_envelopes
from suqiu.stack import Stack, StackInfo

__all__ = ["run_demo"]

TZ = ZoneInfo("Asia/Shanghai")
SEVERITY_ZH = {"urgent": "紧急", "major": "重大", "important": "重要", "general": "一般"}


async def _publish_and_wait(info: StackInfo, count: int, timeout: float
                            ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]],
                                       list[dict[str, Any]]]:
    run_id = uuid.uuid4().hex[:8]
    envelopes = sample_envelopes(count, run_id=run_id, now=datetime.now(UTC))
    async with ChannelPublisher(info.amqp_url, info.namespace) as pub:
        await pub.publish_many(envelopes)
    keys = [f"{e['channel']}:{e['channel_message_id']}" for e in envelopes]
    found = await wait_for_tickets(info.mongo_url, info.mongo_db, keys, timeout=timeout)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(info.mongo_url, tz_aware=True)
    try:
        ticket_nos = [d["_id"] for d in found.values()]
        deadline = asyncio.get_running_loop().time() + 15
        while True:  # receipts are sent concurrently with dispatch; give them a moment
            notes = await client[info.mongo_db]["notifications"].find(
                {"ticket_no": {"$in": ticket_nos}, "event_type": "ticket.received"}
            ).to_list(None)
            if len(notes) >= len(ticket_nos) or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        await client.close()
    return envelopes, found, notes


def _table(envelopes: list[dict[str, Any]], found: dict[str, dict[str, Any]],
           notes: list[dict[str, Any]]) -> Table:
    receipt = {n["ticket_no"]: n["state"] for n in notes}
    table = Table(title="suqiu demo: what happened to each complaint", show_lines=False)
    for col in ("ticket", "channel", "category", "region", "department", "severity",
                "status", "SLA due (resolution)", "receipt"):
        table.add_column(col, overflow="fold")
    for env in envelopes:
        doc = found.get(f"{env['channel']}:{env['channel_message_id']}")
        if doc is None:
            table.add_row("-", env["channel"], "-", "-", "-", "-", "[red]NOT DISPATCHED[/red]",
                          "-", "-")
            continue
        c, d, s = doc["classification"], doc["dispatch"], doc["sla"]
        region = "".join(x for x in (c["region"].get("district"), c["region"].get("street")) if x)
        table.add_row(
            doc["_id"], doc["channel"], f"{c['category']}/{c.get('subcategory') or '-'}",
            region or c["region"].get("city") or "-", d["department_name"],
            SEVERITY_ZH.get(c["severity"], c["severity"]), doc["status"],
            _due(s),
            receipt.get(doc["_id"], "-"),
        )
    return table


def _due(sla: dict | None) -> str:  # type: ignore[type-arg]
    """The stored resolution deadline (shared.sla), as the department sees it."""
    step = ((sla or {}).get("steps") or {}).get("resolution") or {}
    due = step.get("due_at")
    return due.astimezone(TZ).strftime("%m-%d %H:%M") if due else "-"


def run_demo(run_dir: Path, count: int = 24, timeout: float = 120.0) -> int:
    console = Console(width=None if sys.stdout.isatty() else 170)
    shutil.rmtree(run_dir / "mongo-data", ignore_errors=True)  # each demo starts empty
    stack = Stack(run_dir, namespace="suqiu_demo", mongo_db="suqiu_demo")
    console.print("[bold]Starting the pipeline[/bold] (Mongo-protocol server, five services, "
                  "sandbox SMS gateway) ...")
    info = stack.start()
    try:
        console.print(f"AMQP {info.amqp_url}  Mongo {info.mongo_url}  namespace {info.namespace}")
        console.print(f"Publishing {count} complaints through the hotline and web channels ...")
        envelopes, found, notes = asyncio.run(_publish_and_wait(info, count, timeout))
        console.print(_table(envelopes, found, notes))
        sms_lines = Path(info.sms_outbox).read_text(encoding="utf-8").splitlines() \
            if info.sms_outbox and Path(info.sms_outbox).exists() else []
        if sms_lines:
            console.print("One receipt SMS as the gateway received it (phone masked here):")
            sample = json.loads(sms_lines[0])
            console.print(f"  to {sample['to'][:3]}****{sample['to'][-4:]}: {sample['text']}")
        if any(n.get("state") == "held" for n in notes):
            console.print("Receipts marked [bold]held[/bold] fall in the quiet hours (22:00-08:00 "
                          "Asia/Shanghai): the notifier stores them and sends them at 08:00. "
                          "SUQIU_NOTIFIER_QUIET_START/END change the window.")
        missing = len(envelopes) - len(found)
        console.print(f"{len(found)}/{len(envelopes)} dispatched, {len(notes)} receipts recorded, "
                      f"{len(sms_lines)} SMS accepted by the sandbox gateway.")
    finally:
        codes = stack.stop()
        console.print("Stopped: " + ", ".join(f"{k}={v}" for k, v in codes.items()))
    if missing:
        console.print(f"[red]{missing} complaint(s) did not reach dispatched[/red]")
        return 1
    return 0
