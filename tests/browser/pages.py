"""The console as a test drives it: explicit waits for exact states, never fixed sleeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.common.exceptions import (
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from suqiu.console_demo import DEMO_PASSWORD

WAIT = 30.0


def left_the_page(element: Any) -> Any:
    """A wait condition: `element`'s page was replaced (the form was submitted and the next
    page loaded). Chromium reports a detached node either as a stale reference or, while the
    old document is being torn down, as "Node ... does not belong to the document"; both mean
    the same here (selenium's `staleness_of` knows only the first)."""
    def check(_: Any) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False
    return check


class Console:
    def __init__(self, driver: Any, base: str, shots: Path | None = None) -> None:
        self.d = driver
        self.base = base.rstrip("/")
        self.shots = shots

    def wait(self, condition: Any, timeout: float = WAIT) -> Any:
        try:
            return WebDriverWait(self.d, timeout).until(condition)
        except TimeoutException:
            raise AssertionError(f"timed out on {self.d.current_url}; the page says:\n"
                                 + str(self.d.find_element(By.TAG_NAME, "body").text)[:1500]) from None

    def go(self, path: str) -> None:
        self.d.get(self.base + path)

    def sign_in(self, username: str, password: str = DEMO_PASSWORD, *, expect_ok: bool = True) -> None:
        self.d.delete_all_cookies()
        self.go("/login")
        self.wait(ec.presence_of_element_located((By.ID, "login")))
        self.d.find_element(By.ID, "username").send_keys(username)
        self.d.find_element(By.ID, "password").send_keys(password)
        self.d.find_element(By.ID, "login").click()
        if expect_ok:
            self.wait(ec.presence_of_element_located((By.ID, "who")))
        else:
            self.wait(ec.presence_of_element_located((By.ID, "error")))

    def text(self, element_id: str) -> str:
        return str(self.d.find_element(By.ID, element_id).text)

    def wait_text(self, element_id: str, text: str, timeout: float = WAIT) -> None:
        self.wait(ec.text_to_be_present_in_element((By.ID, element_id), text), timeout)

    def order(self, ticket_no: str) -> None:
        self.go(f"/orders/{ticket_no}")
        self.wait_text("ticket-no", ticket_no)

    def fill(self, form: str, **fields: str) -> Any:
        el = self.d.find_element(By.ID, form)
        for name, value in fields.items():
            field = el.find_element(By.NAME, name)
            if field.tag_name == "select":
                Select(field).select_by_value(value)
            elif field.get_attribute("type") == "radio":
                el.find_element(By.CSS_SELECTOR, f"input[name='{name}'][value='{value}']").click()
            else:
                field.clear()
                field.send_keys(value)
        return el

    def act(self, action: str, **fields: str) -> None:
        """Fill and submit the order page's form of `action`; waits for the next page."""
        form = self.fill(f"act-{action}", **fields)
        form.find_element(By.ID, f"do-{action}").click()
        self.wait(left_the_page(form))

    def wait_listed(self, path: str, ticket_no: str, present: bool = True,
                    timeout: float = WAIT) -> None:
        """Reload `path` until the ticket is (or is no longer) listed: the console's lists follow
        the events, so a row appears a moment after the order changed."""
        def listed(_: Any) -> bool:
            self.go(path)
            self.wait(ec.presence_of_element_located((By.ID, "who")))
            return (ticket_no in self.rows()) == present
        try:
            WebDriverWait(self.d, timeout, poll_frequency=0.5).until(listed)
        except TimeoutException:
            raise AssertionError(f"{ticket_no} {'never' if present else 'still'} listed on {path}:\n"
                                 + str(self.d.find_element(By.TAG_NAME, "body").text)[:1500]) from None

    def wait_row_class(self, path: str, ticket_no: str, css_class: str, timeout: float = WAIT) -> None:
        """Reload `path` until the ticket's row carries `css_class` (e.g. breach once overdue)."""
        def marked(_: Any) -> bool:
            self.go(path)
            self.wait(ec.presence_of_element_located((By.ID, "who")))
            rows = self.d.find_elements(By.CSS_SELECTOR, f"tr[data-ticket='{ticket_no}']")
            return bool(rows) and css_class in str(rows[0].get_attribute("class")).split()
        try:
            WebDriverWait(self.d, timeout, poll_frequency=0.5).until(marked)
        except TimeoutException:
            raise AssertionError(f"{ticket_no} not marked {css_class} on {path}") from None

    def row_class(self, ticket_no: str) -> str:
        row = self.d.find_element(By.CSS_SELECTOR, f"tr[data-ticket='{ticket_no}']")
        return str(row.get_attribute("class"))

    def rows(self) -> list[str]:
        return [str(e.get_attribute("data-ticket"))
                for e in self.d.find_elements(By.CSS_SELECTOR, "[data-ticket]")]

    def shot(self, name: str) -> None:
        if self.shots is not None:
            self.shots.mkdir(parents=True, exist_ok=True)
            self.d.save_screenshot(str(self.shots / f"{name}.png"))
