"""Each role's daily path through the web console, in headless Chromium, end to end."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from suqiu.stack import StackInfo
from tests.browser.conftest import Api
from tests.browser.pages import Console
from tests.e2e.helpers import mongo

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def ui(browser: Any, stack: StackInfo, shots: Path) -> Console:
    return Console(browser, f"http://127.0.0.1:{stack.ports('console')[0]}", shots)


USED: set[str] = set()


def _take(api: Api, orders: dict[str, Any], dept: str | None = None) -> tuple[str, str]:
    for t in sorted(orders):
        if t in USED:
            continue
        v = api.view(t)
        if v["status"] == "dispatched" and v["lead"] and (dept is None or v["lead"] == dept):
            USED.add(t)
            return t, v["lead"]
    raise AssertionError(f"no dispatched order left for {dept}")


def test_sign_in_is_refused_then_locked_out(ui: Console, stack: StackInfo) -> None:
    user = _make_user(stack, "lockme", "call_taker", None)  # its own account: others keep working
    ui.sign_in(user, "wrong-password", expect_ok=False)
    assert "用户名或密码错误" in ui.text("error")
    for _ in range(4):
        ui.sign_in(user, "wrong-password", expect_ok=False)
    assert "锁定" in ui.text("error")
    ui.sign_in(user, expect_ok=False)  # the right password while locked: still refused
    assert "锁定" in ui.text("error")
    ui.shot("login-locked")
    ui.sign_in("admin")  # an administrator unlocks it, and creates an account
    ui.go("/admin/users")
    row = ui.d.find_element(By.CSS_SELECTOR, f"tr[data-user='{user}']")
    assert "已锁定" in row.text
    row.find_element(By.TAG_NAME, "button").click()
    ui.wait_text("flash", f"已解锁：{user}")
    ui.fill("user-form", username="newhandler", name="新承办人", role="department",
            department="transport_bureau", password="a-long-password")
    ui.d.find_element(By.ID, "user-save").click()
    ui.wait_text("flash", "已保存账号：newhandler")
    ui.shot("admin-users")
    ui.sign_in(user)
    ui.sign_in("newhandler", "a-long-password")
    assert "市交通运输局" in ui.text("who")


def test_department_inbox_is_scoped_and_signs_and_replies(ui: Console, api: Api,
                                                          orders: dict[str, Any], stack: StackInfo) -> None:
    mine, dept = _take(api, orders)
    other = next(t for t in sorted(orders)
                 if dept not in {(v := api.view(t))["lead"], *v["co"]})
    user = _department_user(stack, dept)
    ui.sign_in(user)
    ui.wait_listed("/inbox", mine)
    assert other not in ui.rows()  # another department's order is not listed ...
    ui.shot("inbox")
    ui.go(f"/orders/{other}")  # ... nor shown: 404 as if it did not exist
    ui.wait_text("error-message", "不存在或不在您的权限范围内")

    ui.order(mine)
    assert "*" in ui.text("person-name") and "****" in ui.text("person-phone")  # masked
    assert ui.d.find_elements(By.ID, "unmask") == []  # handlers may not unmask
    ui.act("sign")
    ui.wait_text("status", "已签收")
    ui.wait_text("flash", "已签收")
    ui.shot("order-detail")
    ui.act("reply", summary="经现场核查，问题已整改完毕。")
    ui.wait_text("status", "已回单")
    assert api.view(mine)["status"] == "replied"


def _department_user(stack: StackInfo, dept: str) -> str:
    """A handler account of `dept` (the demo accounts cover three departments; others made here)."""
    from suqiu.console_demo import DEMO_USERS

    for username, _, role, d in DEMO_USERS:
        if role == "department" and d == dept:
            return username
    return _make_user(stack, f"h-{dept}"[:30], "department", dept)


def _make_user(info: StackInfo, username: str, role: str, dept: str | None) -> str:
    from services.console.accounts import Accounts
    from services.console.repository import ConsoleRepository
    from shared.store import Store
    from suqiu.console_demo import DEMO_PASSWORD

    async def create() -> None:
        store = Store(info.mongo_url, info.mongo_db)
        try:
            await Accounts(ConsoleRepository(store), 5, 900).create(
                username, DEMO_PASSWORD, username, role, dept)
        finally:
            await store.close()

    asyncio.run(create())
    return username


def test_return_transfer_suspend_and_resume(ui: Console, api: Api, orders: dict[str, Any],
                                           stack: StackInfo) -> None:
    ticket, dept = _take(api, orders)
    ui.sign_in(_department_user(stack, dept))
    ui.order(ticket)
    ui.act("sign")
    ui.wait_text("status", "已签收")
    ui.act("suspend", reason="等待申请人补充材料")
    ui.wait_text("status", "已挂起")
    ui.act("resume")
    ui.wait_text("status", "已签收")
    target = "transport_bureau" if dept != "transport_bureau" else "education_bureau"
    ui.act("transfer", target=target, reason="属交通部门职责")
    ui.wait_text("flash", "已转派")
    assert api.view(ticket)["lead"] == target
    # the order left this department's inbox at once
    ui.wait_listed("/inbox", ticket, present=False)


def test_stale_form_gets_a_clear_message_and_the_fresh_order(ui: Console, api: Api,
                                                             orders: dict[str, Any],
                                                             stack: StackInfo) -> None:
    ticket, dept = _take(api, orders)
    ui.sign_in(_department_user(stack, dept))
    ui.order(ticket)
    before = int(ui.text("version"))
    api.act(dept, ticket, action="sign")  # a colleague signs meanwhile (another system)
    ui.act("return", reason="不属于本单位职责")  # the page still holds the old version
    ui.wait_text("error", "已被他人更新")
    assert ui.text("status") == "已签收"  # the fresh order is shown
    assert int(ui.text("version")) > before
    assert api.view(ticket)["status"] == "signed"  # the stale return was not applied
    ui.shot("stale-version")
    ui.act("return", reason="不属于本单位职责")  # the fresh form goes through
    ui.wait_text("flash", "已退单")
    assert api.view(ticket)["lead"] != dept


def test_csrf_token_is_required_on_every_form(ui: Console, api: Api, orders: dict[str, Any],
                                              stack: StackInfo) -> None:
    ticket, dept = _take(api, orders)
    ui.sign_in(_department_user(stack, dept))
    ui.order(ticket)
    form = ui.d.find_element(By.ID, "act-sign")
    ui.d.execute_script("arguments[0].querySelector('input[name=csrf]').value = 'forged'", form)
    form.find_element(By.ID, "do-sign").click()
    ui.wait_text("error-message", "CSRF")
    assert api.view(ticket)["status"] == "dispatched"
    headers = httpx.get(f"{ui.base}/login", timeout=10).headers  # and pages are never framed
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "samesite=strict" in headers["set-cookie"].lower() and "httponly" in headers["set-cookie"].lower()


def test_supervisor_unmasks_with_audit_approves_extension_and_urges(
        ui: Console, api: Api, orders: dict[str, Any], stack: StackInfo) -> None:
    ticket, dept = _take(api, orders)
    api.act(dept, ticket, action="sign")
    ui.sign_in(_department_user(stack, dept))  # 延期 requested on the order page
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
    ticket, _ = _take(api, orders)
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
    (ticket, dept), (unhappy, other) = _take(api, orders), _take(api, orders)
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


def test_admin_edits_answers_and_handlers_insert_them(ui: Console, api: Api, orders: dict[str, Any],
                                                      stack: StackInfo) -> None:
    ticket, dept = _take(api, orders)
    category = api.view(ticket)["category"]
    ui.sign_in("admin")
    ui.go(f"/answers?category={category}")
    ui.fill("answer-form", title="测试口径", text="您反映的问题已安排专人跟进。")
    ui.d.find_element(By.ID, "answer-save").click()
    ui.wait_text("flash", "已保存口径")
    ui.wait_text("answers", "您反映的问题已安排专人跟进。")
    ui.shot("answers")
    api.act(dept, ticket, action="sign")
    ui.sign_in(_department_user(stack, dept))
    ui.order(ticket)
    Select(ui.d.find_element(By.ID, "answer-pick")).select_by_visible_text("测试口径")
    assert "已安排专人跟进" in str(ui.d.find_element(By.ID, "reply-summary").get_attribute("value"))
    ui.act("reply")  # the inserted answer is the reply
    ui.wait_text("status", "已回单")


def test_overdue_orders_turn_red_for_the_department_and_the_supervisor(
        ui: Console, api: Api, orders: dict[str, Any], stack: StackInfo) -> None:
    """Last in the module: by now the shortened deadlines of the first orders have passed."""
    ticket, dept = _take(api, orders)
    due = datetime.fromisoformat(api.view(ticket)["resolution_due"])
    if due - datetime.now(UTC) > timedelta(minutes=5):
        pytest.skip("the stack's deadlines are not shortened (catalogue sla section unused)")
    ui.sign_in("duban")
    ui.wait_listed("/supervise", ticket, timeout=150)  # listed once at-risk, red once overdue
    ui.wait(lambda d: (ui.go("/supervise"), "breach" in ui.row_class(ticket))[1], timeout=150)
    section = ui.d.find_element(By.CSS_SELECTOR, f".supervise-dept[data-department='{dept}']")
    assert int(section.find_element(By.CLASS_NAME, "breach-count").text) >= 1
    ui.shot("supervise-overdue")
    ui.sign_in(_department_user(stack, dept))
    ui.wait_listed("/inbox", ticket)
    assert "breach" in ui.row_class(ticket)
    assert "已超时" in ui.d.find_element(By.CSS_SELECTOR, f"tr[data-ticket='{ticket}'] .countdown").text
    ui.shot("inbox-overdue")
