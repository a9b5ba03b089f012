"""Shared steps of the console's browser tests: pick an untouched order, get a handler account."""

from __future__ import annotations

import asyncio
from typing import Any

from suqiu.stack import StackInfo
from tests.browser.conftest import Api

USED: set[str] = set()  # orders a test has taken (the stack and its orders are shared)


def take(api: Api, orders: dict[str, Any], dept: str | None = None) -> tuple[str, str]:
    for t in sorted(orders):
        if t in USED:
            continue
        v = api.view(t)
        if v["status"] == "dispatched" and v["lead"] and (dept is None or v["lead"] == dept):
            USED.add(t)
            return t, v["lead"]
    raise AssertionError(f"no dispatched order left for {dept}")


def department_user(stack: StackInfo, dept: str) -> str:
    """A handler account of `dept` (the demo accounts cover three departments; others made here)."""
    from suqiu.console_demo import DEMO_USERS

    for username, _, role, d in DEMO_USERS:
        if role == "department" and d == dept:
            return username
    return make_user(stack, f"h-{dept}"[:30], "department", dept)


def make_user(info: StackInfo, username: str, role: str, dept: str | None) -> str:
    from suqiu.console_demo import DEMO_PASSWORD
    from suqiu.services.console.accounts import Accounts
    from suqiu.services.console.repository import ConsoleRepository
    from suqiu.shared.store import Store

    async def create() -> None:
        store = Store(info.mongo_url, info.mongo_db)
        try:
            await Accounts(ConsoleRepository(store), 5, 900).create(
                username, DEMO_PASSWORD, username, role, dept)
        finally:
            await store.close()

    asyncio.run(create())
    return username
