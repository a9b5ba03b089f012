"""Order detail, the unmasked view (audited) and the action forms."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from suqiu.services.console.domain.messages import refusal_text
from suqiu.services.console.domain.readmodel import lifecycle_dict
from suqiu.services.console.domain.roles import ACTION_LABELS, User, allowed_actions
from suqiu.services.console.domain.views import deadlines, person_view
from suqiu.services.console.service import ConsoleService
from suqiu.services.console.web import Web, guard
from suqiu.shared.contracts import WorkOrder

__all__ = ["order_routes"]

SATISFACTION = ("非常满意", "满意", "基本满意", "不满意")


def order_routes(web: Web, svc: ConsoleService) -> list[Route]:
    async def context(user: User, order: WorkOrder, unmasked: bool) -> dict[str, Any]:
        lc = lifecycle_dict(order)
        category = order.classification.category if order.classification else ""
        return {
            "order": order, "lc": lc, "person": person_view(order, unmasked),
            "deadlines": deadlines(order, svc.now()),
            "actions": allowed_actions(user, order.status.value, lc.get("lead"), lc.get("co", [])),
            "notifications": await svc.repo.notifications(order.ticket_no),
            "answers": await svc.repo.answers(category) if category else [],
            "audit": await svc.repo.audit_of(order.ticket_no) if user.role == "supervisor" else [],
            "satisfaction": SATISFACTION, "may_unmask": user.may_unmask,
        }

    async def show(request: Request, user: User, *, unmasked: bool = False,
                   order: WorkOrder | None = None, status_code: int = 200,
                   error: str | None = None) -> Response:
        tn = request.path_params["ticket_no"]
        order = order or await svc.order_for(user, tn)
        if order is None:
            return web.render(request, "error.html", 404, message=refusal_text("not_found"))
        return web.render(request, "order.html", status_code, error=error,
                          **await context(user, order, unmasked))

    async def detail(request: Request, user: User) -> Response:
        return await show(request, user)

    async def unmask(request: Request, user: User) -> Response:
        if not user.may_unmask:
            return web.render(request, "error.html", 403, message="您的角色无权查看完整个人信息")
        order = await svc.order_for(user, request.path_params["ticket_no"])
        if order is None:
            return web.render(request, "error.html", 404, message=refusal_text("not_found"))
        await svc.record_unmask(user, order)
        return await show(request, user, unmasked=True, order=order)

    async def act(request: Request, user: User) -> Response:
        tn = request.path_params["ticket_no"]
        form = {k: str(v) for k, v in (await request.form()).items()}
        action = form.get("action", "")
        order = await svc.order_for(user, tn)
        if order is None:
            return web.render(request, "error.html", 404, message=refusal_text("not_found"))
        version = int(form["version"]) if form.get("version", "").isdigit() else order.version
        if action == "assign" and user.role == "triage":
            result = await svc.triage(user, order, version, form.get("category", ""),
                                      form.get("target", ""), form.get("co", ""))
        elif action in ACTION_LABELS:
            result = await svc.act(user, tn, version, action, form)
        else:
            return await show(request, user, status_code=400, error="未知操作")
        if not result.ok:
            code = result.code or "error"
            return await show(request, user, order=result.order, error=refusal_text(code),
                              status_code=409 if code == "version_conflict" else 422)
        request.session["flash"] = f"已{ACTION_LABELS[action]}：工单 {tn}"
        back = form.get("next") or f"/orders/{tn}"
        local = back.startswith("/") and not back.startswith("//") and "\\" not in back
        return RedirectResponse(back if local else f"/orders/{tn}", status_code=303)

    return [
        Route("/orders/{ticket_no}", guard(web, None, detail), methods=["GET"]),
        Route("/orders/{ticket_no}/unmask", guard(web, None, unmask, form=True), methods=["POST"]),
        Route("/orders/{ticket_no}/act", guard(web, None, act, form=True), methods=["POST"]),
    ]
