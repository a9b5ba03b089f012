"""Shared helpers of the operations tests: repository paths and YAML loading."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from suqiu.shared.settings import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_all(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def require_promtool() -> str:
    """promtool's path; fails loudly where bootstrap could have installed it, skips elsewhere."""
    exe = shutil.which("promtool")
    if exe:
        return exe
    root_on_debian = os.geteuid() == 0 and Path("/etc/debian_version").exists()
    if not root_on_debian:
        pytest.skip("promtool missing and this is not root on Debian: install Prometheus's "
                    "promtool to check the alert rules")
    pytest.fail("promtool is missing: run `make test` (scripts/bootstrap.sh installs Debian's "
                "prometheus package when SUQIU_NEED_PROMTOOL=1) or `apt-get install -y prometheus`")


# A ticket in one of these is still moving through the automatic part of the pipeline;
# any other status (dispatched, triage, invalid, ...) is where it rests until a person acts.
IN_FLIGHT_STATUSES = ("received", "classified")


async def wait_settled(mongo_url: str, db: str, intake_keys: list[str], *,
                       timeout: float = 120.0) -> dict[str, dict[str, Any]]:
    """Poll until every intake key has a ticket that left the automatic pipeline."""
    import asyncio
    import time

    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    deadline = time.monotonic() + timeout
    found: dict[str, dict[str, Any]] = {}
    try:
        while True:
            docs = await client[db]["tickets"].find(
                {"intake_key": {"$in": intake_keys}}).to_list(None)
            found = {d["intake_key"]: d for d in docs
                     if d.get("status") not in IN_FLIGHT_STATUSES}
            if len(found) == len(intake_keys) or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.3)
    finally:
        await client.close()
