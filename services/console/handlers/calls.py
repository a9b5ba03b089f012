"""The call-taker's screen: a new order from a call, with the caller's orders as the number is typed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from suqiu.services.console.domain.readmodel import phone_key
from suqiu.services.console.domain.roles import User
from suqiu.services.console.service import ConsoleService
from suqiu.services.console.web import Web, guard

__all__ = ["call_routes"]

_DONE = {"closed", "archived", "invalid"}


def call_routes(web: Web, svc: ConsoleService, salt: str) -> list[Route]:
    async def new(request: Request, user: User) -> Response:
        return web.render(request, "call.html", form={})

    async def history(request: Request, user: User) -> Response:
        pk = phone_key(request.query_params.get("phone"), salt)
        found = await svc.repo.scan(f"phone|{pk}|", newest_first=True, limit=20) if pk else []
        return web.render(request, "_history.html", searched=pk is not None,
                          open=[s for s in found if s["status"] not in _DONE],
                          previous=[s for s in found if s["status"] in _DONE])

    async def submit(request: Request, user: User) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not form.get("text", "").strip():
            return web.render(request, "call.html", 422, form=form, error="请填写诉求内容")
        intake_key = await svc.submit_call(user, form)
        order = await svc.wait_for_intake(intake_key)
        if order is None:
            return web.render(request, "call.html", 202, form={},
                              notice="已提交受理，工单正在生成，稍后可按来电号码查询。")
        request.session["flash"] = f"已受理：工单 {order.ticket_no}"
        return RedirectResponse(f"/orders/{order.ticket_no}", status_code=303)

    return [
        Route("/calls/new", guard(web, {"call_taker"}, new)),
        Route("/calls/history", guard(web, {"call_taker"}, history)),
        Route("/calls", guard(web, {"call_taker"}, submit, form=True), methods=["POST"]),
    ]
