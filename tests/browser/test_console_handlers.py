"""The console in headless Chromium: sign-in, department handlers, CSRF and stale forms, answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from suqiu.stack import StackInfo
from tests.browser.conftest import Api
from tests.browser.pages import Console
from tests.browser.steps import department_user, make_user, take

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def ui(browser: Any, stack: StackInfo, shots: Path) -> Console:
    return Console(browser, f"http://127.0.0.1:{stack.ports('console')[0]}", shots)


def test_sign_in_is_refused_then_locked_out(ui: Console, stack: StackInfo) -> None:
    user = make_user(stack, "lockme", "call_taker", None)  # its own account: others keep working
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
    mine, dept = take(api, orders)
    other = next(t for t in sorted(orders)
                 if dept not in {(v := api.view(t))["lead"], *v["co"]})
    user = department_user(stack, dept)
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


def test_return_transfer_suspend_and_resume(ui: Console, api: Api, orders: dict[str, Any],
                                           stack: StackInfo) -> None:
    ticket, dept = take(api, orders)
    ui.sign_in(department_user(stack, dept))
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
    ticket, dept = take(api, orders)
    ui.sign_in(department_user(stack, dept))
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
    ticket, dept = take(api, orders)
    ui.sign_in(department_user(stack, dept))
    ui.order(ticket)
    form = ui.d.find_element(By.ID, "act-sign")
    ui.d.execute_script("arguments[0].querySelector('input[name=csrf]').value = 'forged'", form)
    form.find_element(By.ID, "do-sign").click()
    ui.wait_text("error-message", "CSRF")
    assert api.view(ticket)["status"] == "dispatched"
    headers = httpx.get(f"{ui.base}/login", timeout=10).headers  # and pages are never framed
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "samesite=strict" in headers["set-cookie"].lower() and "httponly" in headers["set-cookie"].lower()


def test_admin_edits_answers_and_handlers_insert_them(ui: Console, api: Api, orders: dict[str, Any],
                                                      stack: StackInfo) -> None:
    ticket, dept = take(api, orders)
    category = api.view(ticket)["category"]
    ui.sign_in("admin")
    ui.go(f"/answers?category={category}")
    ui.fill("answer-form", title="测试口径", text="您反映的问题已安排专人跟进。")
    ui.d.find_element(By.ID, "answer-save").click()
    ui.wait_text("flash", "已保存口径")
    ui.wait_text("answers", "您反映的问题已安排专人跟进。")
    ui.shot("answers")
    api.act(dept, ticket, action="sign")
    ui.sign_in(department_user(stack, dept))
    ui.order(ticket)
    Select(ui.d.find_element(By.ID, "answer-pick")).select_by_visible_text("测试口径")
    assert "已安排专人跟进" in str(ui.d.find_element(By.ID, "reply-summary").get_attribute("value"))
    ui.act("reply")  # the inserted answer is the reply
    ui.wait_text("status", "已回单")
