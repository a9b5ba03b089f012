"""The web console in headless Chromium against the real services (all five plus the console,
real RabbitMQ and the Mongo-protocol server): one stack and one browser per module."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
import yaml

from suqiu.channel_client import ChannelPublisher, wait_for_tickets
from suqiu.console_demo import ensure_demo_accounts
from suqiu.console_stack import load_secrets
from suqiu.samples import SAMPLES, build_envelope
from suqiu.shared.settings import REPO_ROOT
from suqiu.stack import StackInfo
from tests.e2e.helpers import running_stack

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SHORT_RESOLUTION_HOURS = 0.01  # 36 s: at-risk after 18 s, overdue after 36 s
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"


class Api:
    """The dispatcher's command API with the stack's credentials: sets the scene for a test."""

    def __init__(self, stack: StackInfo, run_dir: Path) -> None:
        self.base = f"http://127.0.0.1:{stack.ports('dispatcher')[0]}/dispatcher/v1"
        self.tokens = load_secrets(run_dir)

    def view(self, ticket_no: str) -> dict[str, Any]:
        r = httpx.get(f"{self.base}/tickets/{ticket_no}", timeout=15,
                      headers={"Authorization": f"Bearer {self.tokens['supervisor']}"})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def act(self, who: str, ticket_no: str, **body: Any) -> dict[str, Any]:
        r = httpx.post(f"{self.base}/tickets/{ticket_no}/commands", json=body, timeout=15,
                       headers={"Authorization": f"Bearer {self.tokens[who]}"})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def as_lead(self, ticket_no: str, **body: Any) -> dict[str, Any]:
        return self.act(self.view(ticket_no)["lead"], ticket_no, **body)


@pytest.fixture(scope="package")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console-stack")


@pytest.fixture(scope="package")
def stack(stack_dir: Path, amqp_url: str, mongo_url: str) -> Iterator[StackInfo]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver are not installed (make test installs them on Debian)")
    with running_stack(stack_dir, amqp_url, mongo_url, "w", console=True,
                       extra_env={"SUQIU_SLA_POLICY_PATH": str(_short_sla_policy(stack_dir))}) as info:
        asyncio.run(ensure_demo_accounts(info.mongo_url, info.mongo_db))
        try:
            yield info
        finally:
            asyncio.run(_delete_console_queue(amqp_url, info.namespace))


def _short_sla_policy(run_dir: Path) -> Path:
    """The shipped SLA policy (the one deadline truth, deploy/config/sla.yaml) with sign-for
    and resolution limits of about a minute in calendar time, so the orders become at-risk and
    overdue while the tests run."""
    data = yaml.safe_load((REPO_ROOT / "deploy/config/sla.yaml").read_text(encoding="utf-8"))
    data["warn_ratio"] = 0.5
    for rules in data["profiles"].values():
        for rule in rules:
            steps = rule.setdefault("steps", {})
            steps["sign_for"] = {"hours": 0.01, "basis": "calendar"}
            steps["resolution"] = {"hours": SHORT_RESOLUTION_HOURS, "basis": "calendar"}
    path = run_dir / "sla.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def _delete_console_queue(amqp_url: str, namespace: str) -> None:
    conn = await aio_pika.connect(amqp_url)
    try:
        channel = await conn.channel()
        await channel.queue_delete(f"{namespace}.console.work")
    finally:
        await conn.close()


@pytest.fixture(scope="package")
def api(stack: StackInfo, stack_dir: Path) -> Api:
    return Api(stack, stack_dir)


@pytest.fixture(scope="package")
def orders(stack: StackInfo) -> dict[str, dict[str, Any]]:
    """Hotline calls published as the channel does, waited for until dispatched: ticket -> doc."""
    run = uuid.uuid4().hex[:6]
    samples = [s for s in SAMPLES if s.channel == "hotline" and s.phone][:14]
    envs = [build_envelope(s, seq=i, run_id=run, now=datetime.now(UTC)) for i, s in enumerate(samples)]

    async def publish() -> None:
        async with ChannelPublisher(stack.amqp_url, stack.namespace) as pub:
            await pub.publish_many(envs)

    asyncio.run(publish())
    keys = [f"{e['channel']}:{e['channel_message_id']}" for e in envs]
    found = asyncio.run(wait_for_tickets(stack.mongo_url, stack.mongo_db, keys, timeout=120))
    assert len(found) == len(keys), f"only {len(found)} of {len(keys)} orders were dispatched"
    return {doc["_id"]: doc for doc in found.values()}


@pytest.fixture(scope="package")
def browser(stack: StackInfo) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000", "--lang=zh-CN"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Screenshots go to docs/console/ when SUQIU_UPDATE_SCREENSHOTS=1, else to a temp dir."""
    return SHOTS if os.environ.get("SUQIU_UPDATE_SCREENSHOTS") == "1" else tmp_path
