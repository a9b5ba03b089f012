"""Account administration: administrators list, create and unlock console accounts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from suqiu.services.console.accounts import Accounts
from suqiu.services.console.domain.roles import ROLES, User
from suqiu.services.console.repository import ConsoleRepository
from suqiu.services.console.web import Web, guard

__all__ = ["user_routes"]


def user_routes(web: Web, repo: ConsoleRepository, accounts: Accounts) -> list[Route]:
    async def listing(request: Request, user: User) -> Response:
        return web.render(request, "users.html", users=await repo.users(), roles=ROLES)

    async def save(request: Request, user: User) -> Response:
        form = {k: str(v).strip() for k, v in (await request.form()).items()}
        dept = form.get("department") or None
        try:
            if dept is not None and dept not in web.departments:
                raise ValueError("unknown department")
            await accounts.create(form.get("username", ""), form.get("password", ""),
                                  form.get("name", ""), form.get("role", ""), dept)
        except ValueError:
            request.session["flash"] = "未保存：请填写用户名、角色（承办单位须选单位）和至少 8 位的密码"
        else:
            request.session["flash"] = f"已保存账号：{form.get('username')}"
        return RedirectResponse("/admin/users", status_code=303)

    async def unlock(request: Request, user: User) -> Response:
        username = str((await request.form()).get("username") or "")
        await repo.clear_failures(username)
        request.session["flash"] = f"已解锁：{username}"
        return RedirectResponse("/admin/users", status_code=303)

    return [
        Route("/admin/users", guard(web, {"admin"}, listing)),
        Route("/admin/users", guard(web, {"admin"}, save, form=True), methods=["POST"]),
        Route("/admin/users/unlock", guard(web, {"admin"}, unlock, form=True), methods=["POST"]),
    ]
