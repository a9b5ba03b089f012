"""Sessions, CSRF and rendering shared by the console's handlers."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from suqiu.services.console.domain.roles import ACTION_LABELS, ROLE_LABELS, User
from suqiu.services.console.domain.views import STATUS_LABELS, parse_key_time
from suqiu.shared.privacy import scrub_text

__all__ = ["SecurityHeaders", "Web", "current_user", "guard"]

Handler = Callable[[Request, User], Awaitable[Response]]
TEMPLATES = Path(__file__).parent / "templates"


def current_user(request: Request) -> User | None:
    data = request.session.get("user")
    if not isinstance(data, dict):
        return None
    return User(data["username"], data["name"], data["role"], data.get("department"))


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


async def csrf_ok(request: Request) -> bool:
    form = await request.form()
    given = str(form.get("csrf") or "")
    expected = str(request.session.get("csrf") or "")
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


class Web:
    def __init__(self, tz: str, departments: dict[str, str], metrics: Any = None) -> None:
        self.metrics = metrics
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        self.tz = ZoneInfo(tz)
        self.departments = departments
        env = self.templates.env
        env.globals.update(STATUS=STATUS_LABELS, ROLES=ROLE_LABELS, ACTIONS=ACTION_LABELS,
                           DEPTS=departments)
        env.filters["local"] = self.local
        env.filters["scrub"] = scrub_text
        env.filters["dept"] = lambda d: departments.get(d, d) if d else "—"

    def local(self, value: datetime | str | None) -> str:
        moment = parse_key_time(value) if isinstance(value, str) else value
        if moment is None:
            return "—"
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")

    async def unavailable(self, request: Request, exc: Exception) -> Response:
        return self.render(request, "error.html", 503, message="数据服务暂时不可用，请稍后重试")

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        user = current_user(request)
        flash = request.session.pop("flash", None)
        return self.templates.TemplateResponse(
            request, name, {"user": user, "csrf": csrf_token(request), "flash": flash, **context},
            status_code=status_code)


_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Pages only from this origin, never framed, never cached (they hold personal data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def guard(web: Web, roles: set[str] | None, handler: Handler, *, form: bool = False) -> Callable[
        [Request], Awaitable[Response]]:
    """Signed-in users with one of `roles` only; POST forms must carry the session's CSRF token."""
    async def endpoint(request: Request) -> Response:
        user = current_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        if form and not await csrf_ok(request):
            if web.metrics is not None:
                web.metrics.csrf_rejected.inc()
            return web.render(request, "error.html", 403,
                              message="请求校验失败（CSRF 令牌无效或已过期），操作未执行。"
                                      "请返回刷新页面后重试。")
        if roles is not None and user.role not in roles:
            return web.render(request, "error.html", 403, message="您的角色无权访问此页面")
        return await handler(request, user)
    return endpoint
