"""A loopback SMS gateway for the demo and tests: accepts the provider API, records each SMS.

It speaks the same HTTP contract as the notifier's SMS adapter (POST JSON {to, text, ref},
answer {"id": ...}), de-duplicates on `ref` like real providers do, and appends what it
accepted to a JSON-lines file. Never a production provider: it sends nothing anywhere.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from suqiu.shared.runtime import serve_asgi

__all__ = ["create_app", "serve"]


def create_app(outbox: Path) -> Starlette:
    seen: dict[str, str] = {}

    async def send(request: Request) -> JSONResponse:
        body = await request.json()
        if not isinstance(body, dict) or not body.get("to") or not body.get("text"):
            return JSONResponse({"error": "to and text are required"}, status_code=400)
        ref = str(body.get("ref") or uuid.uuid4())
        if ref not in seen:
            seen[ref] = uuid.uuid4().hex
            with outbox.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"id": seen[ref], "ref": ref, "to": body["to"],
                                     "text": body["text"]}, ensure_ascii=False) + "\n")
        return JSONResponse({"id": seen[ref], "status": "accepted"})

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "alive"})

    return Starlette(routes=[Route("/sms", send, methods=["POST"]), Route("/healthz", health)])


def serve(port: int, outbox: Path) -> None:
    serve_asgi(create_app(outbox), "127.0.0.1", port, graceful_timeout=5)
