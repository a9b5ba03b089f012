"""Session-wide real servers: RabbitMQ at AMQP_URL, and nx-27017 unless MONGO_URL is set."""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import pytest

from suqiu.shared.store_monitor import SHAPES_ENV
from suqiu.shared.topology import Topology
from suqiu.stack import DEFAULT_AMQP_URL, free_port, mongo_server_argv, wait_tcp


def pytest_configure(config: pytest.Config) -> None:
    """Every service store of the session (in-process or a stack's subprocess) records the
    query shapes it issues into one file; tests/integration/test_query_shapes.py explains
    each of them (shared/store_monitor.py)."""
    if not os.environ.get(SHAPES_ENV):
        os.environ[SHAPES_ENV] = os.path.join(tempfile.mkdtemp(prefix="suqiu-shapes-"),
                                              "shapes.jsonl")


@pytest.fixture(scope="session")
def amqp_url() -> str:
    return os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MongoDB when MONGO_URL is set; otherwise a fresh nx-27017 for the session."""
    if os.environ.get("MONGO_URL"):
        yield os.environ["MONGO_URL"]
        return
    run_dir = tmp_path_factory.mktemp("mongo")
    port = free_port()
    proc = subprocess.Popen(mongo_server_argv(run_dir, port), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert wait_tcp("127.0.0.1", port, 30), "nx-27017 did not start"
        yield f"mongodb://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def namespace(amqp_url: str) -> Iterator[str]:
    """A unique namespace (exchange/queue prefix and database name) per test; its queues and
    exchanges are deleted afterwards so repeated runs do not pile up quorum queues."""
    ns = "t" + uuid.uuid4().hex[:12]
    yield ns
    try:
        asyncio.run(Topology(ns).delete(amqp_url))
    except Exception:  # nothing was declared, or the broker is gone: nothing to clean
        pass
