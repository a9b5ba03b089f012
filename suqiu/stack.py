"""Start and stop a whole local suqiu stack: the Mongo-protocol server, the five services
(any number of replicas each) and the sandbox SMS gateway, as separate processes.

Used by `suqiu up/down/demo/bench` and by the end-to-end tests, so they all run the same
real processes. RabbitMQ is not started here: scripts/bootstrap.sh makes sure it runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from suqiu.shared.topology import SERVICES

__all__ = ["ProcessInfo", "Stack", "StackInfo", "free_port", "mongo_server_argv", "stop_process",
           "wait_tcp"]

SERVICE_PORT_ENV = {
    "intake": "SUQIU_INTAKE_HTTP_PORT",
    "classifier": "SUQIU_CLASSIFIER_HTTP_PORT",
    "dispatcher": "SUQIU_DISPATCHER_HTTP_PORT",
    "sla_monitor": "SUQIU_SLA_HTTP_PORT",
    "notifier": "SUQIU_NOTIFIER_HTTP_PORT",
    "console": "SUQIU_CONSOLE_HTTP_PORT",
    "analytics": "SUQIU_ANALYTICS_HTTP_PORT",
}
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def free_port() -> int:
    """A TCP port that is free on the loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mongo_server_argv(run_dir: Path, port: int) -> list[str]:
    """Command line of nx-27017 (MongoDB wire protocol over SQLite) with data under run_dir."""
    exe = shutil.which("nx-27017") or str(Path(sys.executable).parent / "nx-27017")
    data = run_dir / "mongo-data"
    data.mkdir(parents=True, exist_ok=True)
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    return [exe, "--host", "127.0.0.1", "-p", str(port), "--data-dir", str(data),
            "--log-file", str(run_dir / "logs/nx-27017.log"),
            "--pid-file", str(run_dir / "nx-27017.pid")]


def stop_process(proc: subprocess.Popen[bytes], grace: float = 30.0) -> int:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL: returns the exit code either way."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def wait_tcp(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


@dataclass
class ProcessInfo:
    name: str
    pid: int
    port: int | None
    log: str


@dataclass
class StackInfo:
    amqp_url: str
    mongo_url: str
    namespace: str
    mongo_db: str
    sms_url: str | None
    sms_outbox: str | None
    processes: list[ProcessInfo] = field(default_factory=list)

    def ports(self, service: str) -> list[int]:
        return [p.port for p in self.processes if p.name.startswith(service + "#") and p.port]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> StackInfo:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["processes"] = [ProcessInfo(**p) for p in data["processes"]]
        return cls(**data)


class Stack:
    """A set of processes started together and stopped together."""

    def __init__(
        self,
        run_dir: Path,
        *,
        amqp_url: str | None = None,
        mongo_url: str | None = None,
        namespace: str = "suqiu",
        mongo_db: str = "suqiu",
        replicas: dict[str, int] | None = None,
        extra_env: dict[str, str] | None = None,
        sms_sandbox: bool = True,
        console: bool = False,
    ) -> None:
        self.run_dir = run_dir
        self.amqp_url = amqp_url or os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL
        self.mongo_url = mongo_url if mongo_url is not None else os.environ.get("MONGO_URL")
        self.namespace = namespace
        self.mongo_db = mongo_db
        self.replicas = {s: 1 for s in SERVICES} | (replicas or {})
        self.extra_env = extra_env or {}
        self.sms_sandbox = sms_sandbox
        self.console = console
        self._procs: list[tuple[ProcessInfo, subprocess.Popen[bytes]]] = []
        self.info: StackInfo | None = None

    # --- processes --------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str], env: dict[str, str], port: int | None) -> None:
        log_path = self.run_dir / "logs" / f"{name.replace('#', '-')}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self._procs.append((ProcessInfo(name, proc.pid, port, str(log_path)), proc))

    def _start_mongo(self) -> str:
        port = free_port()
        self._spawn("nx-27017", mongo_server_argv(self.run_dir, port), dict(os.environ), port)
        if not wait_tcp("127.0.0.1", port, 30):
            raise RuntimeError(f"nx-27017 did not listen on {port}; see {self.run_dir}/logs")
        return f"mongodb://127.0.0.1:{port}/"

    def start(self, ready_timeout: float = 90.0) -> StackInfo:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        mongo_url = self.mongo_url or self._start_mongo()
        sms_url = outbox = None
        if self.sms_sandbox:
            port = free_port()
            outbox = str(self.run_dir / "sms-outbox.jsonl")
            Path(outbox).unlink(missing_ok=True)
            self._spawn("sms-sandbox", [sys.executable, "-m", "suqiu.cli", "sms-sandbox",
                                        "--port", str(port), "--outbox", outbox],
                        dict(os.environ), port)
            sms_url = f"http://127.0.0.1:{port}/sms"
        env = dict(os.environ) | {
            "AMQP_URL": self.amqp_url, "MONGO_URL": mongo_url,
            "SUQIU_NAMESPACE": self.namespace, "SUQIU_MONGO_DB": self.mongo_db,
        } | self.extra_env
        if sms_url:
            env["SUQIU_NOTIFIER_SMS_URL"] = sms_url
        if self.console:  # the web console acts through the dispatcher with these credentials
            from suqiu.console_stack import console_env

            env |= console_env(self.run_dir, env)
        for service in (*SERVICES, "console") if self.console else SERVICES:
            for i in range(self.replicas.get(service, 1)):
                port = free_port()
                if service == "dispatcher" and i == 0:
                    env.setdefault("SUQIU_CONSOLE_DISPATCHER_URL", f"http://127.0.0.1:{port}")
                self._spawn(f"{service}#{i + 1}",
                            [sys.executable, "-m", "suqiu.cli", "run", service],
                            env | {SERVICE_PORT_ENV[service]: str(port)}, port)
        self.info = StackInfo(self.amqp_url, mongo_url, self.namespace, self.mongo_db, sms_url,
                              outbox, [p for p, _ in self._procs])
        try:
            self._wait_ready(ready_timeout)
        except Exception:
            self.stop()
            raise
        return self.info

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for info, proc in self._procs:
            if info.name == "nx-27017" or info.port is None:
                continue
            path = "/healthz" if info.name == "sms-sandbox" else "/readyz"
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{info.name} exited with {proc.returncode}:\n"
                                       + _tail(Path(info.log)))
                try:
                    if httpx.get(f"http://127.0.0.1:{info.port}{path}", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{info.name} not ready after {timeout}s:\n"
                                       + _tail(Path(info.log)))
                time.sleep(0.2)

    def stop(self, timeout: float = 30.0) -> dict[str, int | None]:
        """SIGTERM services first, the store last; returns each process's exit code."""
        codes: dict[str, int | None] = {}
        ordered = sorted(self._procs, key=lambda p: p[0].name == "nx-27017")
        for group in (ordered[:-1], ordered[-1:]) if ordered else ():
            for _info, proc in group:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for info, proc in group:
                try:
                    codes[info.name] = proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    codes[info.name] = proc.wait()
        self._procs.clear()
        return codes

    def processes(self) -> list[tuple[ProcessInfo, subprocess.Popen[bytes]]]:
        return list(self._procs)


def stop_pids(info: StackInfo, timeout: float = 30.0) -> None:
    """Stop a stack started by another process (`suqiu down`), services first."""
    ordered = sorted(info.processes, key=lambda p: p.name == "nx-27017")
    for group in (ordered[:-1], ordered[-1:]):
        for p in group:
            _signal(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in group:
            while _alive(p.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(p.pid):
                _signal(p.pid, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours counts as gone
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
