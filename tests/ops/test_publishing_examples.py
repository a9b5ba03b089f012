"""docs/publishing.md's examples publish to a real RabbitMQ exactly as documented: each runs as
written (Python always; Java and Go where their toolchain and RabbitMQ client are installed),
and the message lands in the intake work queue persistent, with its message id and a body the
intake contract accepts."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import pytest

from suqiu.services.intake.contracts import INTAKE_MESSAGE_ADAPTER
from suqiu.shared.settings import REPO_ROOT
from suqiu.shared.topology import Topology

pytestmark = pytest.mark.integration

DOC = (REPO_ROOT / "docs/publishing.md").read_text(encoding="utf-8")
JAVA_CLIENT = Path(os.environ.get("SUQIU_AMQP_CLIENT_JAR", "/usr/share/java/amqp-client.jar"))


def _block(language: str) -> str:
    (code,) = re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.S)
    return code


@pytest.fixture
def declared(namespace: str, amqp_url: str) -> Iterator[str]:
    asyncio.run(Topology(namespace).declare(amqp_url))
    yield namespace


async def _take_one(amqp_url: str, queue: str) -> aio_pika.abc.AbstractIncomingMessage | None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        q = await channel.get_queue(queue, ensure=True)
        message = await q.get(fail=False, no_ack=True)
        return message


def _check_delivered(amqp_url: str, namespace: str) -> None:
    message = asyncio.run(_take_one(amqp_url, Topology(namespace).work_queue("intake").name))
    assert message is not None, "the example's message did not reach the intake queue"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.content_type == "application/json"
    body = json.loads(message.body.decode("utf-8"))
    parsed = INTAKE_MESSAGE_ADAPTER.validate_python(body)
    assert message.message_id == body["message_id"] and parsed.type == "intake.sms"
    assert message.routing_key == "intake.sms"


def _run(argv: list[str], cwd: Path, amqp_url: str, namespace: str,
         timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AMQP_URL": amqp_url, "SUQIU_NAMESPACE": namespace}
    out = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "confirmed SMSGW-" in out.stdout
    return out


def test_python_example(declared: str, amqp_url: str, tmp_path: Path) -> None:
    (tmp_path / "publish_sms.py").write_text(_block("python"), encoding="utf-8")
    _run([sys.executable, "publish_sms.py"], tmp_path, amqp_url, declared)
    _check_delivered(amqp_url, declared)


def test_java_example(declared: str, amqp_url: str, tmp_path: Path) -> None:
    if not shutil.which("java"):
        pytest.skip("no Java runtime here: install a JDK (java >= 11) to run the Java example")
    if not JAVA_CLIENT.exists():
        pytest.skip(f"RabbitMQ Java client not found at {JAVA_CLIENT}: `apt-get install "
                    "librabbitmq-client-java` or set SUQIU_AMQP_CLIENT_JAR")
    jars = [str(JAVA_CLIENT)] + [str(p) for p in [Path("/usr/share/java/slf4j-api.jar")]
                                 if p.exists()]
    (tmp_path / "PublishSms.java").write_text(_block("java"), encoding="utf-8")
    _run(["java", "-cp", ":".join(jars), "PublishSms.java"], tmp_path, amqp_url, declared)
    _check_delivered(amqp_url, declared)


def test_go_example(declared: str, amqp_url: str, tmp_path: Path) -> None:
    if not shutil.which("go"):
        pytest.skip("no Go toolchain here: install Go (Debian: golang-go and "
                    "golang-github-rabbitmq-amqp091-go-dev) to run the Go example")
    (tmp_path / "main.go").write_text(_block("go"), encoding="utf-8")
    debian = Path("/usr/share/gocode/src/github.com/rabbitmq/amqp091-go")
    if debian.is_dir():  # Debian's golang-github-rabbitmq-amqp091-go-dev, GOPATH mode
        argv = ["env", "GO111MODULE=off", f"GOPATH=/usr/share/gocode:{tmp_path / 'gopath'}",
                f"GOCACHE={tmp_path / 'gocache'}", "go", "run", "main.go"]
    else:
        subprocess.run(["go", "mod", "init", "publishsms"], cwd=tmp_path, check=True,
                       capture_output=True, timeout=60)
        tidy = subprocess.run(["go", "mod", "tidy"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300)
        if tidy.returncode != 0:
            pytest.skip("cannot fetch github.com/rabbitmq/amqp091-go (install Debian's "
                        f"golang-github-rabbitmq-amqp091-go-dev): {tidy.stderr.strip()[-300:]}")
        argv = ["go", "run", "."]
    _run(argv, tmp_path, amqp_url, declared, timeout=300)
    _check_delivered(amqp_url, declared)
