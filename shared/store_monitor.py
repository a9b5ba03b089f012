"""What the store is asked, seen through PyMongo's command monitoring.

One `StoreCommandMonitor` per process (registered on the client by `shared.store.Store`):
- `suqiu_store_commands_total{collection,operation}` counts every command a service sends
  (the benchmark reads it before and after a phase: store commands per ticket);
- `suqiu_store_operation_seconds{collection,operation}` is the store's latency per operation;
- with `SUQIU_STORE_SHAPES_FILE` set, every new query shape (the filter's fields and
  operators, sort, limit; no values) is appended to that file as one JSON line with one
  example command, so a test can `explain` exactly what the code really issues
  (tests/integration/test_query_shapes.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from bson import json_util
from prometheus_client import CollectorRegistry, Counter, Histogram
from pymongo import monitoring

__all__ = ["SHAPES_ENV", "StoreCommandMonitor", "read_shapes", "shape_of"]

SHAPES_ENV = "SUQIU_STORE_SHAPES_FILE"
STORE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Commands that are not queries of the application's data.
_IGNORED = frozenset({
    "hello", "ismaster", "isMaster", "ping", "buildInfo", "buildinfo", "endSessions",
    "getMore", "killCursors", "createIndexes", "listIndexes", "listCollections", "drop",
    "dropDatabase", "explain", "saslStart", "saslContinue", "getLastError", "serverStatus",
    "dropIndexes", "create",
})
_RANGE = {"$gt", "$gte", "$lt", "$lte"}


def _norm_filter(flt: Any) -> Any:
    """A filter's shape: field -> "eq" | "range" | "in" | the operators used; no values."""
    if not isinstance(flt, Mapping):
        return "eq"
    out: dict[str, Any] = {}
    for key, value in flt.items():
        if key in ("$or", "$and", "$nor") and isinstance(value, list):
            out[key] = [_norm_filter(v) for v in value]
        elif isinstance(value, Mapping) and value and all(str(k).startswith("$") for k in value):
            ops = set(value)
            if ops <= _RANGE:
                out[key] = "range"
            elif ops == {"$in"}:
                out[key] = "in"
            else:
                out[key] = "+".join(sorted(ops))
        else:
            out[key] = "eq"
    return out


def shape_of(command: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    """The query shapes of one command (an update or delete may carry several)."""
    coll = command.get(name)
    if name == "find":
        return [{"op": "find", "coll": coll, "filter": _norm_filter(command.get("filter", {})),
                 "sort": [[k, int(v)] for k, v in (command.get("sort") or {}).items()],
                 "limit": bool(command.get("limit")) or bool(command.get("singleBatch"))}]
    if name in ("findAndModify", "count", "distinct"):
        return [{"op": name, "coll": coll, "filter": _norm_filter(command.get("query", {})),
                 "sort": [], "limit": True}]
    if name in ("update", "delete"):
        key = "updates" if name == "update" else "deletes"
        return [{"op": name, "coll": coll, "filter": _norm_filter(s.get("q", {})),
                 "sort": [], "limit": True} for s in command.get(key) or []]
    if name == "aggregate":
        return [{"op": "aggregate", "coll": coll,
                 "filter": [sorted(stage)[0] for stage in command.get("pipeline") or []],
                 "sort": [], "limit": False}]
    return []


def _example(command: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The part of the command `explain` needs (no session or cluster fields)."""
    keep = {"find": ("filter", "sort", "limit", "projection"),
            "findAndModify": ("query", "sort"), "count": ("query",), "distinct": ("key", "query"),
            "update": ("updates",), "delete": ("deletes",), "aggregate": ("pipeline",)}
    return {name: command.get(name), **{k: command[k] for k in keep.get(name, ()) if k in command}}


class StoreCommandMonitor(monitoring.CommandListener):
    """Counts and times commands; optionally records new query shapes to a file."""

    def __init__(self, registry: CollectorRegistry | None = None, service: str | None = None,
                 shapes_file: str | None = None) -> None:
        self._pending: dict[int, tuple[str, str]] = {}
        self._service = service
        # Only a service's own store records shapes (not tools, benchmarks or test readers).
        self._shapes_file = (shapes_file if shapes_file is not None
                             else os.environ.get(SHAPES_ENV)) if service else None
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.commands: Counter | None = None
        self.seconds: Histogram | None = None
        if registry is not None:
            self.commands = Counter(
                "suqiu_store_commands_total",
                "Store commands sent by this process (a batched write counts as one).",
                ["collection", "operation"], registry=registry)
            self.seconds = Histogram(
                "suqiu_store_operation_seconds",
                "Store latency per command, from the driver's command monitoring.",
                ["collection", "operation"], buckets=STORE_BUCKETS, registry=registry)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in _IGNORED or event.database_name in ("admin", "config", "local"):
            return
        coll = event.command.get(name)
        coll = coll if isinstance(coll, str) else "-"
        self._pending[event.request_id] = (coll, name)
        if self.commands is not None:
            self.commands.labels(coll, name).inc()
        if self._shapes_file:
            self._record(event.command, name, event.database_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._done(event.request_id, event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._done(event.request_id, event.duration_micros)

    def _done(self, request_id: int, micros: int) -> None:
        labels = self._pending.pop(request_id, None)
        if labels is not None and self.seconds is not None:
            self.seconds.labels(*labels).observe(micros / 1e6)

    def _record(self, command: Mapping[str, Any], name: str, database: str) -> None:
        for shape in shape_of(command, name):
            key = json.dumps(shape, sort_keys=True)
            with self._lock:
                if key in self._seen:
                    continue
                self._seen.add(key)
            line = json_util.dumps({"shape": shape, "key": key, "database": database,
                                    "service": self._service,
                                    "example": _example(command, name), "at": time.time()})
            try:
                with open(self._shapes_file, "a", encoding="utf-8") as f:  # type: ignore[arg-type]
                    fcntl.flock(f, fcntl.LOCK_EX)
                    f.write(line + "\n")
            except OSError:
                pass  # a diagnostic aid only: never fail a store command for it


def read_shapes(path: str) -> dict[str, dict[str, Any]]:
    """Every distinct shape recorded in `path` (by key), with one example each."""
    shapes: dict[str, dict[str, Any]] = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    rec = json_util.loads(line)
                    shapes.setdefault(rec["key"], rec)
    except FileNotFoundError:
        pass
    return shapes
