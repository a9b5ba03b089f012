"""Sign-in, sign-out and each role's start page."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from suqiu.services.console.accounts import Accounts
from suqiu.services.console.domain.roles import User
from suqiu.services.console.metrics import ConsoleMetrics
from suqiu.services.console.web import Web, csrf_ok, current_user, guard

__all__ = ["HOME", "auth_routes"]

HOME = {"call_taker": "/calls/new", "triage": "/triage", "department": "/inbox",
        "supervisor": "/supervise", "revisit": "/revisits", "admin": "/answers"}


def auth_routes(web: Web, accounts: Accounts, metrics: ConsoleMetrics) -> list[Route]:
    async def home(request: Request) -> Response:
        user = current_user(request)
        return RedirectResponse(HOME[user.role] if user else "/login", status_code=303)

    async def login_form(request: Request) -> Response:
        return web.render(request, "login.html")

    async def login(request: Request) -> Response:
        if not await csrf_ok(request):
            metrics.csrf_rejected.inc()
            return web.render(request, "login.html", 403, error="页面已过期，请重新登录")
        form = await request.form()
        result = await accounts.sign_in(str(form.get("username") or ""), str(form.get("password") or ""))
        if result.user is None:
            metrics.sign_ins.labels("refused").inc()
            return web.render(request, "login.html", 401, error=result.error)
        metrics.sign_ins.labels("ok").inc()
        user = result.user
        request.session.clear()
        request.session["user"] = {"username": user.username, "name": user.name, "role": user.role,
                                   "department": user.department}
        request.session["csrf"] = secrets.token_urlsafe(32)  # a fresh token per sign-in
        return RedirectResponse(HOME[user.role], status_code=303)

    async def logout(request: Request, user: User) -> Response:
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    return [
        Route("/", home),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", guard(web, None, logout, form=True), methods=["POST"]),
    ]
