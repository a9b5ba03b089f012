"""The list screens: department inbox, triage queue, supervision, revisits, search."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from suqiu.services.console.domain.readmodel import bigrams, key_time, phone_key
from suqiu.services.console.domain.roles import User
from suqiu.services.console.domain.views import countdown, parse_key_time
from suqiu.services.console.service import ConsoleService
from suqiu.services.console.web import Web, guard

__all__ = ["list_routes"]

_TICKET = re.compile(r"^[A-Za-z]{1,8}-\d{6,8}-\d{3,8}$")
SATISFACTION = ("非常满意", "满意", "基本满意", "不满意")


def list_routes(web: Web, svc: ConsoleService, salt: str, limit: int,
                categories: list[str]) -> list[Route]:
    def rows(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        now = svc.now()
        return [s | {"countdown": countdown(parse_key_time(s.get("resolution_due")),
                                            parse_key_time(s.get("warn_at")), now)}
                for s in summaries]

    async def inbox(request: Request, user: User) -> Response:
        dept = user.department or ""
        found = rows(await svc.repo.scan(f"inbox|{dept}|", limit=limit))
        return web.render(request, "inbox.html", rows=found, department=dept)

    async def triage(request: Request, user: User) -> Response:
        queue = []
        for s in await svc.repo.scan("triage|", limit=min(limit, 50)):
            order = await svc.repo.order(s["ticket_no"])
            if order is not None and order.status.value == "triage":
                queue.append(order)
        return web.render(request, "triage.html", orders=queue, categories=categories)

    async def supervise(request: Request, user: User) -> Response:
        now = svc.now()
        risky = rows(await svc.repo.scan("warn|", upto=key_time(now), limit=limit * 5))
        by_dept: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: {"overdue": [], "at_risk": []})
        for r in risky:
            kind = "overdue" if r["countdown"]["state"] == "breach" else "at_risk"
            by_dept[r.get("lead") or "—"][kind].append(r)
        dept = request.query_params.get("department") or ""
        return web.render(
            request, "supervise.html", by_dept=dict(sorted(by_dept.items())),
            extensions=rows(await svc.repo.scan("status|extension_requested|", limit=limit)),
            mass=await svc.repo.scan("mass|", newest_first=True, limit=20),
            hotspots=await svc.repo.hotspots(),
            department=dept,
            dept_rows=rows(await svc.repo.scan(f"inbox|{dept}|", limit=limit)) if dept else [])

    async def revisits(request: Request, user: User) -> Response:
        due = await svc.repo.scan("revisit|", limit=limit)
        return web.render(request, "revisits.html", rows=due, satisfaction=SATISFACTION)

    async def search(request: Request, user: User) -> Response:
        q = (request.query_params.get("q") or "").strip()
        kind = request.query_params.get("kind") or "auto"
        found = await find(q, kind) if q else []
        return web.render(request, "search.html", q=q, kind=kind, rows=rows(found))

    async def find(q: str, kind: str) -> list[dict[str, Any]]:
        if kind == "ticket" or (kind == "auto" and _TICKET.match(q)):
            return await svc.repo.summaries([q.upper()])
        digits = re.sub(r"\D", "", q)
        if kind == "phone" or (kind == "auto" and len(digits) >= 5 and len(digits) >= len(q) - 2):
            pk = phone_key(q, salt)
            return await svc.repo.scan(f"phone|{pk}|", newest_first=True, limit=limit) if pk else []
        field = "addr" if kind == "address" else "tok"
        grams = sorted(bigrams(q))
        if not grams:
            return []
        candidates = await svc.repo.scan(f"{field}|{grams[0]}|", newest_first=True, limit=limit * 2)
        out = []
        for s in candidates:
            order = await svc.repo.order(s["ticket_no"])
            hay = (order.location.address if field == "addr" else order.content.text) if order else ""
            if q.lower() in (hay or "").lower():
                out.append(s)
        return out[:limit]

    staff = {"call_taker", "triage", "supervisor", "revisit", "admin"}
    return [
        Route("/inbox", guard(web, {"department"}, inbox)),
        Route("/triage", guard(web, {"triage", "supervisor"}, triage)),
        Route("/supervise", guard(web, {"supervisor"}, supervise)),
        Route("/revisits", guard(web, {"revisit", "supervisor"}, revisits)),
        Route("/search", guard(web, staff, search)),
    ]
