"""The library of standard answers (口径 / 话术) per category: administrators edit, others search."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from suqiu.services.console.domain.roles import User
from suqiu.services.console.service import ConsoleService
from suqiu.services.console.web import Web, guard

__all__ = ["answer_routes"]


def answer_routes(web: Web, svc: ConsoleService, categories: list[str]) -> list[Route]:
    async def library(request: Request, user: User) -> Response:
        category = request.query_params.get("category") or (categories[0] if categories else "")
        q = (request.query_params.get("q") or "").strip()
        found = [a for a in await svc.repo.answers(category)
                 if not q or q in a.get("title", "") or q in a.get("text", "")]
        return web.render(request, "answers.html", categories=categories, category=category, q=q,
                          answers=found)

    async def save(request: Request, user: User) -> Response:
        form = {k: str(v).strip() for k, v in (await request.form()).items()}
        category, title, text = form.get("category", ""), form.get("title", ""), form.get("text", "")
        if category not in categories or not title or not text:
            request.session["flash"] = "请选择分类并填写标题和内容"
        else:
            answer_id = form.get("id") or f"{category}|{uuid.uuid4().hex[:12]}"
            if not answer_id.startswith(f"{category}|"):  # moved to another category
                await svc.repo.delete_answer(answer_id)
                answer_id = f"{category}|{uuid.uuid4().hex[:12]}"
            await svc.repo.put_answer({"_id": answer_id, "category": category, "title": title,
                                       "text": text, "updated_by": user.username})
            request.session["flash"] = f"已保存口径：{title}"
        return RedirectResponse(f"/answers?category={category}", status_code=303)

    async def delete(request: Request, user: User) -> Response:
        form = await request.form()
        answer_id = str(form.get("id") or "")
        await svc.repo.delete_answer(answer_id)
        request.session["flash"] = "已删除口径"
        return RedirectResponse(f"/answers?category={answer_id.split('|')[0]}", status_code=303)

    return [
        Route("/answers", guard(web, None, library)),
        Route("/answers", guard(web, {"admin"}, save, form=True), methods=["POST"]),
        Route("/answers/delete", guard(web, {"admin"}, delete, form=True), methods=["POST"]),
    ]
