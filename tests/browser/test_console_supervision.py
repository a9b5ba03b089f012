"""The console in headless Chromium: supervisor, triage desk, revisit agent, call-taker, overdue colours.

Runs after test_console_handlers.py (same stack and orders): by then the first orders are overdue."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from suqiu.stack import StackInfo
from tests.browser.conftest import Api
from tests.browser.pages import Console
from tests.browser.steps import department_user, take
from tests.e2e.helpers import mongo

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def ui(browser: Any, stack: StackInfo, shots: Path) -> Console:
    return Console(browser, f"http://127.0.0.1:{stack.ports('console')[0]}", shots)


def test_supervisor_unmasks_with_audit_approves_extension_and_urges(
        ui: Console, api: Api, orders: dict[str, Any], stack: StackInfo) -> None:
    ticket, dept = take(api, orders)
    api.act(dept, ticket, action="sign")
    ui.sign_in(department_user(stack, dept))  # 延期 requested on the order page
    ui.order(ticket)
    new_due = (datetime.now(UTC) + timedelta(days=30)).astimezone(ZoneInfo("Asia/Shanghai"))
    ui.d.execute_script("document.getElementById('new-due').value = arguments[0]",
                        new_due.strftime("%Y-%m-%dT%H:%M"))
    ui.act("request_extension", reason="需多部门联合执法")
    ui.wait_text("status", "延期申请中")
    ui.sign_in("duban")
    ui.wait_listed("/supervise", ticket)
    ui.shot("supervise")
    ui.order(ticket)
    ui.d.find_element(By.ID, "unmask").click()
    ui.wait(ec.presence_of_element_located((By.ID, "unmasked-note")))
    assert "****" not in ui.text("person-phone")
    ui.act("approve_extension")
    ui.wait_text("status", "办理中")
    ui.act("urge", reason="请加快办理")
    ui.wait_text("flash", "督办催办")
    ui.wait_text("audit", "查看完整个人信息")  # the unmasked view is on record: who and when
    target = "water_group" if dept != "water_group" else "gas_group"
    ui.act("reassign", target=target, reason="督办改派")  # 改派
    ui.wait_text("flash", "已改派")
    assert api.view(ticket)["lead"] == target

    async def audit() -> list[dict[str, Any]]:
        client = mongo(stack.mongo_url)
        try:
            return [d async for d in client[stack.mongo_db]["console_audit"].find(
                {"_id": {"$gte": f"{ticket}|", "$lt": f"{ticket}|~"}})]
        finally:
            await client.close()

    rows = asyncio.run(audit())
    assert any(r["action"] == "unmask" and r["user"] == "duban" for r in rows)
    actions = [h["action"] for h in api.view(ticket)["history"]]
    assert actions.index("approve_extension") < actions.index("urge") < actions.index("reassign")


def test_triage_dispatches_and_records_a_label(ui: Console, api: Api, orders: dict[str, Any],
                                               stack: StackInfo) -> None:
    ticket, _ = take(api, orders)
    for _ in range(10):  # every candidate returns it: it waits in the triage queue
        view = api.view(ticket)
        if view["status"] == "triage":
            break
        api.act(view["lead"], ticket, action="return", reason="不属于本单位职责")
    assert api.view(ticket)["status"] == "triage"
    ui.sign_in("triage")
    ui.wait_listed("/triage", ticket)
    ui.shot("triage")
    form = ui.fill(f"triage-{ticket}", category="城乡建设", target="construction_bureau")
    form.find_element(By.CSS_SELECTOR, "button").click()
    ui.wait_text("flash", "已分派")
    view = api.view(ticket)
    assert (view["status"], view["lead"]) == ("dispatched", "construction_bureau")

    async def label() -> dict[str, Any] | None:
        client = mongo(stack.mongo_url)
        try:
            return await client[stack.mongo_db]["console_labels"].find_one(
                {"_id": {"$gte": f"{ticket}|", "$lt": f"{ticket}|~"}})
        finally:
            await client.close()

    recorded = asyncio.run(label())
    assert recorded is not None and recorded["category"] == "城乡建设"
    assert recorded["by"] == "triage"


def test_revisit_agent_closes_a_replied_order(ui: Console, api: Api, orders: dict[str, Any]) -> None:
    (ticket, dept), (unhappy, other) = take(api, orders), take(api, orders)
    for t, d in ((ticket, dept), (unhappy, other)):
        api.act(d, t, action="sign")
        api.act(d, t, action="reply", summary="已处理完毕", override=True, reason="统一答复")
    ui.sign_in("huifang")
    ui.wait_listed("/revisits", ticket)
    ui.wait_listed("/revisits", unhappy)
    ui.shot("revisits")
    form = ui.fill(f"revisit-{ticket}", satisfaction="满意")
    form.find_element(By.CSS_SELECTOR, "button").click()
    ui.wait_text("flash", "已回访")
    assert api.view(ticket)["status"] == "closed"
    form = ui.fill(f"revisit-{unhappy}", satisfaction="不满意")  # reopens it, as the lifecycle does
    form.find_element(By.CSS_SELECTOR, "button").click()
    ui.wait_text("flash", "已回访")
    assert api.view(unhappy)["status"] == "dispatched"
    assert unhappy not in ui.rows()


def test_call_taker_sees_the_callers_orders_and_creates_one(ui: Console, api: Api,
                                                            orders: dict[str, Any]) -> None:
    known = next(iter(sorted(orders)))
    phone = orders[known]["complainant"]["phone"]
    ui.sign_in("calltaker")
    ui.go("/calls/new")
    ui.d.find_element(By.ID, "call-phone").send_keys(phone)
    ui.wait_text("caller-history", known)  # shown while the number is typed
    ui.d.find_element(By.ID, "call-name").send_keys("张先生")
    ui.d.find_element(By.ID, "call-address").send_keys("西湖区文三路 188 号")
    ui.d.find_element(By.ID, "call-text").send_keys("小区门口道路井盖破损，夜间行人容易摔倒，请尽快修复。")
    ui.shot("call-taker")
    ui.d.find_element(By.ID, "call-submit").click()
    ui.wait_text("flash", "已受理")
    created = ui.text("ticket-no")
    assert re.match(r"^[A-Z]+-\d+-\d+$", created)
    # search: by ticket number, by phone and by text
    ui.wait_listed(f"/search?q={created}", created)
    ui.wait_listed(f"/search?q={phone}", known)
    ui.wait_listed("/search?q=井盖破损", created)
    ui.wait_listed("/search?q=文三路&kind=address", created)


def test_overdue_orders_turn_red_for_the_department_and_the_supervisor(
        ui: Console, api: Api, orders: dict[str, Any], stack: StackInfo) -> None:
    """Last in the module: by now the shortened deadlines of the first orders have passed."""
    ticket, dept = take(api, orders)
    due = datetime.fromisoformat(api.view(ticket)["resolution_due"])
    if due - datetime.now(UTC) > timedelta(minutes=5):
        pytest.fail("the stack's deadlines are not shortened: is SUQIU_SLA_POLICY_PATH read?")
    ui.sign_in("duban")
    ui.wait_listed("/supervise", ticket, timeout=150)  # listed once at-risk, red once overdue
    ui.wait_row_class("/supervise", ticket, "breach", timeout=150)
    section = ui.d.find_element(By.CSS_SELECTOR, f".supervise-dept[data-department='{dept}']")
    assert int(section.find_element(By.CLASS_NAME, "breach-count").text) >= 1
    ui.shot("supervise-overdue")
    ui.sign_in(department_user(stack, dept))
    ui.wait_listed("/inbox", ticket)
    assert "breach" in ui.row_class(ticket)
    assert "已超时" in ui.d.find_element(By.CSS_SELECTOR, f"tr[data-ticket='{ticket}'] .countdown").text
    ui.shot("inbox-overdue")
