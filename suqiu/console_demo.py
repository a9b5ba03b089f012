"""Console commands: demo accounts and demo orders in every state, and user administration.

`suqiu up` creates the demo accounts and prints how to sign in; `suqiu console-demo` publishes
sample calls through the hotline channel contract and moves them, through the dispatcher's
command API, into the states a console user meets (signed, in progress, suspended, extension
requested, replied, closed, reopened, triage...).
"""

from __future__ import annotations

import asyncio
import getpass
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from suqiu.shared.settings import CommonSettings

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "announce", "register"]

DEMO_PASSWORD = "suqiu-demo-2026"
DEMO_USERS: tuple[tuple[str, str, str, str | None], ...] = (
    ("calltaker", "话务员 王芳", "call_taker", None),
    ("triage", "分拨员 李强", "triage", None),
    ("jianshe", "住建局 陈静", "department", "construction_bureau"),
    ("chengguan", "城管局 赵磊", "department", "urban_management_bureau"),
    ("huanjing", "生态环境局 孙悦", "department", "ecology_environment_bureau"),
    ("duban", "督查室 周敏", "supervisor", None),
    ("huifang", "回访员 吴婷", "revisit", None),
    ("admin", "管理员 郑伟", "admin", None),
)
DEMO_ANSWERS = (
    ("城乡建设", "夜间施工答复", "经核查，该工地已办理夜间施工许可，我局已责令其严格控制作业时间和噪声，"
                             "22时后停止高噪声作业。如仍有扰民情况，请再次来电。"),
    ("城乡建设", "已立案处理", "您反映的问题我局已立案，已安排执法人员现场核查，"
                            "将在规定时限内答复处理结果。"),
    ("环境保护", "噪声监测答复", "我局已安排监测人员现场监测，超标排放的已责令限期整改，"
                              "整改情况将跟踪复查。"),
    ("交通运输", "线路调整说明", "您反映的公交线路问题已转公交集团研究，调整方案确定后将向社会公布。"),
)


async def ensure_demo_accounts(mongo_url: str, db: str) -> None:
    from suqiu.services.console.accounts import Accounts
    from suqiu.services.console.repository import ConsoleRepository
    from suqiu.shared.store import Store

    store = Store(mongo_url, db)
    try:
        repo = ConsoleRepository(store)
        accounts = Accounts(repo, 5, 900)
        for username, name, role, dept in DEMO_USERS:
            if await repo.user(username) is None:
                await accounts.create(username, DEMO_PASSWORD, name, role, dept)
        for category, title, text in DEMO_ANSWERS:
            await repo.put_answer({"_id": f"{category}|demo-{abs(hash(title)) % 10**8}",
                                   "category": category, "title": title, "text": text,
                                   "updated_by": "admin"})
    finally:
        await store.close()


def announce(info: Any) -> None:
    """Create the demo accounts and print the console URL and how to sign in as each role."""
    ports = info.ports("console")
    if not ports:
        return
    typer.echo(f"\nconsole        http://127.0.0.1:{ports[0]}/   (demo data: suqiu console-demo)")
    if os.environ.get("MONGO_URL"):  # someone's own store: no well-known passwords in it
        typer.echo("demo accounts not created (MONGO_URL is set); add accounts with "
                   "`suqiu console-user <name> --role ...`")
        return
    asyncio.run(ensure_demo_accounts(info.mongo_url, info.mongo_db))
    typer.echo(f"demo sign-ins (password {DEMO_PASSWORD}):")
    from suqiu.services.console.domain.roles import ROLE_LABELS

    for username, name, role, dept in DEMO_USERS:
        typer.echo(f"  {username:<10} {ROLE_LABELS[role]}{' · ' + dept if dept else ''}  {name}")


class DemoDriver:
    """Moves orders through the dispatcher's command API (as department systems may)."""

    def __init__(self, base: str, tokens: dict[str, str]) -> None:
        self._base = base
        self._tokens = tokens

    def get(self, who: str, ticket_no: str) -> dict[str, Any]:
        r = httpx.get(f"{self._base}/dispatcher/v1/tickets/{ticket_no}",
                      headers={"Authorization": f"Bearer {self._tokens[who]}"}, timeout=15)
        r.raise_for_status()
        return dict(r.json())

    def do(self, who: str, ticket_no: str, action: str, **fields: Any) -> bool:
        r = httpx.post(f"{self._base}/dispatcher/v1/tickets/{ticket_no}/commands",
                       headers={"Authorization": f"Bearer {self._tokens[who]}"},
                       json={"action": action, **fields}, timeout=15)
        return r.status_code == 200


PLAN: tuple[tuple[str, ...], ...] = (
    (), ("sign",), ("sign", "start"), ("sign", "suspend"), ("sign", "request_extension"),
    ("sign", "reply"), ("sign", "reply", "revisit"), ("return",), ("sign", "start", "urge"),
    ("sign", "reply", "revisit_bad"), ("triage",), ("sign",),
)


def drive(driver: DemoDriver, ticket_no: str, steps: tuple[str, ...]) -> str:
    view = driver.get("supervisor", ticket_no)
    lead = view.get("lead")
    if not lead or view["status"] != "dispatched":
        return view["status"]
    due = datetime.now(UTC) + timedelta(days=20)
    for step in steps:
        ok = {
            "sign": lambda: driver.do(lead, ticket_no, "sign"),
            "start": lambda: driver.do(lead, ticket_no, "start"),
            "suspend": lambda: driver.do(lead, ticket_no, "suspend", reason="等待业主提供材料"),
            "request_extension": lambda: driver.do(lead, ticket_no, "request_extension",
                                                   reason="需协调多个部门联合执法", new_due=due.isoformat()),
            "reply": lambda: driver.do(lead, ticket_no, "reply",
                                       summary="经现场核查，问题已整改完毕，后续将加强巡查。", override=True,
                                       reason="主办单位统一答复"),
            "revisit": lambda: driver.do("operator", ticket_no, "revisit", satisfaction="满意"),
            "revisit_bad": lambda: driver.do("operator", ticket_no, "revisit", satisfaction="不满意",
                                             reason="问题仍未解决"),
            "return": lambda: driver.do(lead, ticket_no, "return", reason="不属于本单位职责"),
            "urge": lambda: driver.do("supervisor", ticket_no, "urge", reason="请加快办理"),
            "triage": lambda: _return_to_triage(driver, ticket_no),
        }[step]()
        if not ok:
            break
    return str(driver.get("supervisor", ticket_no)["status"])


def _return_to_triage(driver: DemoDriver, ticket_no: str) -> bool:
    """Every candidate department returns the order: it waits in the triage queue."""
    for _ in range(8):
        view = driver.get("supervisor", ticket_no)
        if view["status"] != "dispatched" or not view.get("lead"):
            break
        if not driver.do(view["lead"], ticket_no, "return", reason="不属于本单位职责"):
            return False
    return True


def run_console_demo(run_dir: Path, count: int, timeout: float) -> int:
    from suqiu.channel_client import ChannelPublisher
    from suqiu.console_stack import load_secrets
    from suqiu.samples import sample_envelopes
    from suqiu.stack import StackInfo

    info = StackInfo.load(run_dir / "stack.json")
    asyncio.run(ensure_demo_accounts(info.mongo_url, info.mongo_db))
    envelopes = sample_envelopes(count, run_id=uuid.uuid4().hex[:6], now=datetime.now(UTC))

    async def publish() -> None:
        async with ChannelPublisher(info.amqp_url, info.namespace) as pub:
            await pub.publish_many(envelopes)

    asyncio.run(publish())
    keys = [f"{e['channel']}:{e['channel_message_id']}" for e in envelopes]
    tickets = asyncio.run(_wait_routed(info.mongo_url, info.mongo_db, keys, timeout))
    driver = DemoDriver(f"http://127.0.0.1:{info.ports('dispatcher')[0]}", load_secrets(run_dir))
    states: dict[str, int] = {}
    for i, ticket_no in enumerate(tickets):
        status = drive(driver, ticket_no, PLAN[i % len(PLAN)])
        states[status] = states.get(status, 0) + 1
    typer.echo(f"{len(tickets)} demo orders: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    return 0 if tickets else 1


async def _wait_routed(mongo_url: str, db: str, keys: list[str], timeout: float) -> list[str]:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    found: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    try:
        while len(found) < len(keys) and time.monotonic() < deadline:
            async for doc in client[db]["tickets"].find({"intake_key": {"$in": keys}}):
                if doc["status"] not in {"received", "classified"}:
                    found[doc["intake_key"]] = doc["_id"]
            await asyncio.sleep(0.5)
    finally:
        await client.close()
    return [found[k] for k in keys if k in found]


def register(app: typer.Typer, run_dir: Path) -> None:
    @app.command("console-demo")
    def console_demo(
        count: Annotated[int, typer.Option(help="sample calls to publish")] = 36,
        timeout: Annotated[float, typer.Option(help="seconds to wait for routing")] = 120.0,
    ) -> None:
        """Fill the running stack's console with demo orders in every state (after `suqiu up`)."""
        if not (run_dir / "stack.json").exists():
            raise typer.BadParameter("no running stack: start it with `make up` first")
        raise typer.Exit(run_console_demo(run_dir, count, timeout))

    @app.command("console-user")
    def console_user(
        username: str, role: Annotated[str, typer.Option(help="call_taker | triage | department | "
                                                         "supervisor | revisit | admin")],
        name: Annotated[str, typer.Option(help="display name")] = "",
        department: Annotated[str | None, typer.Option(help="department id (handlers)")] = None,
    ) -> None:
        """Create or reset a console account (password asked for, hashed with argon2)."""
        from suqiu.services.console.accounts import Accounts
        from suqiu.services.console.repository import ConsoleRepository
        from suqiu.shared.store import Store

        password = getpass.getpass("password: ")
        common = CommonSettings()

        async def create() -> None:
            store = Store(common.mongo_url, common.mongo_db)
            try:
                await Accounts(ConsoleRepository(store), 5, 900).create(
                    username, password, name or username, role, department)
            finally:
                await store.close()

        try:
            asyncio.run(create())
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        typer.echo(f"account {username} ({role}) saved")
