"""Each subscriber consumes on its own channel with the configured prefetch (QoS).

Regression: declaring the topology through the FastStream broker made subscribers reuse the
declaring channel, which has no QoS, so prefetch was unlimited.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import pytest

from suqiu.services.classifier.app import create_runtime
from suqiu.services.classifier.settings import ClassifierSettings
from suqiu.shared.settings import CommonSettings

pytestmark = pytest.mark.integration


def _list_consumers() -> str:
    return subprocess.run(["rabbitmqctl", "-q", "list_consumers", "queue_name", "prefetch_count"],
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None,
                    reason="needs rabbitmqctl of the local broker to read consumer prefetch")
async def test_subscriber_uses_configured_prefetch(amqp_url: str, mongo_url: str,
                                                   namespace: str) -> None:
    common = CommonSettings(AMQP_URL=amqp_url, MONGO_URL=mongo_url, mongo_db=namespace,  # type: ignore[call-arg]
                            namespace=namespace)
    rt = create_runtime(common, ClassifierSettings(http_port=0, prefetch=17))
    async with rt.lifespan():
        out = await asyncio.to_thread(_list_consumers)
    rows = [line.split("\t") for line in out.splitlines() if line.startswith(namespace)]
    assert rows == [[f"{namespace}.classifier.work", "17"]]
