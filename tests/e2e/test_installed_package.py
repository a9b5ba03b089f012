"""The shipped package as the image runs it: the wheel is built, installed (not editable, with
its dependencies, without the `train` extra) into a fresh virtualenv in a temporary directory,
the configuration is laid out exactly as deploy/Dockerfile and deploy/compose.yaml lay it
out, and every service compose runs from the image (the pipeline's and the console) is
started from that install with compose's environment against the real broker and store.
Complaints published as a channel system publishes them must be dispatched, and a
department's token from the credentials file must open its inbox."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from suqiu.channel_client import ChannelPublisher, wait_for_tickets
from suqiu.samples import SAMPLES, build_envelope
from suqiu.shared.settings import REPO_ROOT
from suqiu.shared.topology import SERVICES, Topology
from suqiu.stack import free_port
from tests.e2e.image_layout import ImageLayout, env_example

pytestmark = pytest.mark.e2e

PIP = ["-m", "pip", "--disable-pip-version-check", "-q"]


@dataclass
class Installed:
    root: Path
    bin: Path
    layout: ImageLayout


def _run(argv: list[str], **kw: object) -> str:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900, **kw)  # type: ignore[call-overload]
    assert out.returncode == 0, f"{argv}: {out.stdout[-3000:]}{out.stderr[-3000:]}"
    return str(out.stdout)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Built and installed once per session, outside the repository."""
    root = tmp_path_factory.mktemp("image-root")
    assert REPO_ROOT not in root.parents
    dist = root / "dist"
    _run([sys.executable, *PIP, "wheel", "--no-deps", "-w", str(dist), str(REPO_ROOT)])
    (wheel,) = dist.glob("suqiu-*.whl")
    layout = ImageLayout()
    venv = root / layout.venv.lstrip("/")
    _run([sys.executable, "-m", "venv", str(venv)])
    # The wheel with its dependencies, from the registry through pip's cache: nothing is
    # borrowed from the test's own environment.
    _run([str(venv / "bin/python"), *PIP, "install", "--no-compile", str(wheel)])
    layout.lay_out(root)
    return Installed(root, venv / "bin", layout)


def _clean_env(root: Path, bin_dir: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TZ")}
    return {**keep, "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin"}


def test_the_install_is_self_contained(installed: Installed) -> None:
    env = _clean_env(installed.root, installed.bin)
    python = str(installed.bin / "python")
    where = _run([python, "-c", "import suqiu.cli; print(suqiu.cli.__file__)"],
                 env=env, cwd=installed.root)
    assert str(installed.root) in where  # the installed copy, not the repository's
    assert _run([str(installed.bin / "suqiu"), "--version"], env=env).startswith("suqiu 0.")
    probe = "import importlib.util as u; print(u.find_spec('sklearn') is None)"
    assert _run([python, "-c", probe], env=env, cwd=installed.root).split() == ["True"]
    site = next((installed.bin.parent / "lib").glob("python3*/site-packages"))
    # Without the `train` extra, training says what to install, in one line.
    corpus = next(site.glob("**/classifier/corpus/*.jsonl"))
    data = installed.root / "few.jsonl"
    data.write_text("".join(corpus.read_text("utf-8").splitlines(keepends=True)[:20]), "utf-8")
    train = subprocess.run([str(installed.bin / "suqiu"), "train", "--out", str(installed.root / "m"),
                            "--data", str(data)],
                           env=env, cwd=installed.root, capture_output=True, text=True, timeout=300)
    assert train.returncode == 2, train.stderr[-2000:]
    assert train.stderr.strip().splitlines()[-1].startswith("suqiu: error: scikit-learn")
    assert "suqiu[train]" in train.stderr and "Traceback" not in train.stderr
    assert (site / "suqiu-0.1.0.dist-info/licenses/LICENSE").is_file()


@dataclass
class Proc:
    service: str
    port: int
    popen: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="module")
def services(installed: Installed, amqp_url: str, mongo_url: str) -> Iterator[tuple[str, list[Proc]]]:
    ns = "w" + uuid.uuid4().hex[:12]
    variables = env_example()
    procs: list[Proc] = []
    compose = installed.layout.suqiu_services()
    ports = {name: free_port() for name in compose}
    # compose's service addresses (http://dispatcher:8103) become the local processes' ports
    addresses = {}
    for name in compose:
        env = installed.layout.service_env(name, installed.root, variables)
        container_port = next(v for k, v in env.items() if k.endswith("_HTTP_PORT"))
        addresses[f"http://{name}:{container_port}"] = f"http://127.0.0.1:{ports[name]}"
    for compose_name, spec in compose.items():
        service = spec["command"][-1]
        port = ports[compose_name]
        env = installed.layout.service_env(compose_name, installed.root, variables)
        env = {k: addresses.get(v, v) for k, v in env.items()}
        port_var = next(k for k in env if k.endswith("_HTTP_PORT"))
        env.update({"PATH": f"{installed.bin}:/usr/bin:/bin", port_var: str(port),
                    "AMQP_URL": amqp_url, "MONGO_URL": mongo_url, "SUQIU_NAMESPACE": ns,
                    "SUQIU_MONGO_DB": ns, "SUQIU_HTTP_HOST": "127.0.0.1"})
        log = installed.root / f"{ns}-{service}.log"
        argv = [spec["command"][0], *spec["command"][1:]]
        procs.append(Proc(service, port, subprocess.Popen(
            argv, env=env, cwd=env.get("HOME", str(installed.root)), stdout=subprocess.DEVNULL,
            stderr=log.open("wb")), log))
    try:
        assert sorted(p.service for p in procs) == sorted((*SERVICES, "console"))
        _wait_ready(procs)
        yield ns, procs
    finally:
        codes = {}
        for p in procs:
            if p.popen.poll() is None:
                p.popen.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                codes[p.service] = p.popen.wait(60)
            except subprocess.TimeoutExpired:
                p.popen.kill()
                codes[p.service] = -9
        asyncio.run(Topology(ns).delete(amqp_url))
    assert all(code == 0 for code in codes.values()), codes


def _wait_ready(procs: list[Proc], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    pending = list(procs)
    while pending and time.monotonic() < deadline:
        for p in list(pending):
            assert p.popen.poll() is None, f"{p.service} exited: {p.log.read_text()[-3000:]}"
            try:
                if httpx.get(f"http://127.0.0.1:{p.port}/readyz", timeout=2).status_code == 200:
                    pending.remove(p)
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    assert not pending, {p.service: p.log.read_text()[-2000:] for p in pending}


_SEQ = itertools.count(1)


async def test_complaints_are_dispatched_by_the_installed_services(
        services: tuple[str, list[Proc]], amqp_url: str, mongo_url: str,
        installed: Installed) -> None:
    ns, procs = services
    run = uuid.uuid4().hex[:8]
    envelopes = []
    for channel in ("hotline", "web"):
        sample = next(s for s in SAMPLES if s.channel == channel and s.phone)
        envelopes.append(build_envelope(sample, seq=next(_SEQ) * len(SAMPLES), run_id=run,
                                        now=datetime.now(UTC)))
    async with ChannelPublisher(amqp_url, ns) as pub:
        for env in envelopes:
            await pub.publish(env)
    keys = [f"{e['channel']}:{e['channel_message_id']}" for e in envelopes]
    found = await wait_for_tickets(mongo_url, ns, keys, timeout=90)
    assert set(found) == set(keys), {p.service: p.log.read_text()[-1500:] for p in procs}
    for doc in found.values():
        assert doc["dispatch"]["department"] == doc["classification"]["department"]
        # the deadlines shared.sla stamps (SlaDeadlines: steps.<step>.due_at)
        assert doc["sla"]["steps"]["resolution"]["due_at"] > doc["dispatch"]["dispatched_at"]

    # The department's token from the credentials file compose mounts opens its inbox.
    dispatcher = next(p for p in procs if p.service == "dispatcher")
    department = found[keys[0]]["dispatch"]["department"]
    (secret,) = installed.layout.suqiu_services()["dispatcher"]["secrets"]
    tokens = json.loads((installed.root / secret["target"].lstrip("/")).read_text("utf-8"))
    token = next(t for t, p in tokens.items() if p["role"] == "supervisor")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dispatcher.port}") as http:
        answer = await http.get(f"/dispatcher/v1/tickets/{found[keys[0]]['_id']}",
                                headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["ticket_no"] == found[keys[0]]["_id"]
        refused = await http.get("/dispatcher/v1/inbox", headers={"Authorization": "Bearer nope"})
        assert refused.status_code == 401
    # The console runs from the same install (templates shipped) with console.env.example.
    console = next(p for p in procs if p.service == "console")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{console.port}") as http:
        page = await http.get("/login")
        assert page.status_code == 200 and "<form" in page.text, page.text[:500]
    assert department


def test_a_broken_image_layout_fails(installed: Installed, tmp_path: Path) -> None:
    """Without the configuration the image copies, the dispatcher refuses to start with one
    line naming the file (the failure the issue found, now caught here)."""
    env = installed.layout.service_env("dispatcher", tmp_path, env_example())
    env.update({"PATH": f"{installed.bin}:/usr/bin:/bin", "SUQIU_DISPATCHER_HTTP_PORT": "0"})
    (tmp_path / "tmp").mkdir(exist_ok=True)
    out = subprocess.run(["suqiu", "run", "dispatcher"], env=env, capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 3
    assert "etc/suqiu/" in out.stderr and "startup_failed" in out.stderr
    assert shutil.which("suqiu", path=env["PATH"]) == str(installed.bin / "suqiu")


def test_without_etc_suqiu_the_package_s_own_defaults_are_found(installed: Installed) -> None:
    """No configuration path set and no /etc/suqiu: every service loads the catalogue, routing
    rules, notifier configuration, SLA policies, model and templates shipped in the wheel,
    and gets as far as the broker (here unreachable, so it stops with one line naming it)."""
    down = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    for service in SERVICES:
        env = {**_clean_env(installed.root, installed.bin), "AMQP_URL": down,
               "SUQIU_HTTP_HOST": "127.0.0.1", "HOME": str(installed.root)}
        env[f"SUQIU_{'SLA' if service == 'sla_monitor' else service.upper()}_HTTP_PORT"] = "0"
        out = subprocess.run([str(installed.bin / "suqiu"), "run", service], env=env,
                             cwd=installed.root, capture_output=True, text=True, timeout=120)
        errors = [json.loads(line) for line in out.stderr.splitlines()
                  if line.startswith("{") and json.loads(line)["level"] == "error"]
        assert out.returncode == 3 and len(errors) == 1, out.stderr[-2000:]
        assert errors[0]["setting"] == "AMQP_URL", (service, errors[0])
