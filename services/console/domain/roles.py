"""Console users' roles: what each may see and do, and which dispatcher credential it acts with."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ACTION_LABELS", "ROLES", "ROLE_LABELS", "User", "allowed_actions", "can_see_order",
           "dispatcher_credential"]

ROLES: tuple[str, ...] = ("call_taker", "triage", "department", "supervisor", "revisit", "admin")
ROLE_LABELS = {"call_taker": "话务员", "triage": "分拨员", "department": "承办单位", "supervisor": "督办",
               "revisit": "回访员", "admin": "管理员"}
UNMASK_ROLES = frozenset({"call_taker", "supervisor", "revisit"})

ACTION_LABELS = {
    "sign": "签收", "return": "退单", "transfer": "转派", "start": "开始办理", "suspend": "挂起",
    "resume": "恢复", "request_extension": "申请延期", "reply": "回单", "assign": "分派",
    "reassign": "改派", "approve_extension": "批准延期", "reject_extension": "驳回延期",
    "urge": "督办催办", "note": "督办批示", "escalate": "升级", "close": "办结", "reopen": "重办",
    "revisit": "回访", "feedback": "反馈", "archive": "归档", "co": "协办",
}

# Which actions each role's screens offer, by the order's status. The dispatcher's lifecycle
# decides; this only keeps buttons that can never apply off the screen.
_DEPARTMENT = {
    "dispatched": ("sign", "return", "transfer"),
    "signed": ("start", "reply", "return", "transfer", "suspend", "request_extension"),
    "in_progress": ("reply", "transfer", "suspend", "request_extension"),
    "suspended": ("resume",),
}
_SUPERVISOR = {
    "dispatched": ("urge", "reassign", "note"),
    "signed": ("urge", "reassign", "note"),
    "in_progress": ("urge", "reassign", "note"),
    "suspended": ("urge", "resume", "reassign", "note"),
    "extension_requested": ("approve_extension", "reject_extension", "urge", "note"),
    "triage": ("reassign", "note"),
    "replied": ("note",),
    "closed": ("reopen", "note"),
}


@dataclass(frozen=True)
class User:
    username: str
    name: str
    role: str
    department: str | None = None

    @property
    def may_unmask(self) -> bool:
        return self.role in UNMASK_ROLES


def allowed_actions(user: User, status: str, lead: str | None, co: list[str]) -> tuple[str, ...]:
    if user.role == "department":
        if user.department == lead:
            return _DEPARTMENT.get(status, ())
        if user.department in co and status in {"dispatched", "signed", "in_progress"}:
            return ("sign", "reply")
        return ()
    if user.role == "supervisor":
        return _SUPERVISOR.get(status, ())
    if user.role == "revisit" and status in {"replied", "feedback_given"}:
        return ("revisit",)
    if user.role == "triage" and status == "triage":
        return ("assign",)
    return ()


def can_see_order(user: User, departments: set[str]) -> bool:
    """Department handlers see only orders their department leads or assists."""
    return user.role != "department" or (user.department or "") in departments


def dispatcher_credential(user: User) -> str | None:
    """The name of the dispatcher token this user's commands are sent with."""
    if user.role == "department":
        return user.department
    if user.role == "supervisor":
        return "supervisor"
    if user.role in {"triage", "revisit"}:
        return "operator"
    return None
