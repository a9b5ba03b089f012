"""Per-user accounts: argon2 password hashes, sign-in with lock-out after repeated failures."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from suqiu.services.console.domain.roles import ROLES, User
from suqiu.services.console.repository import ConsoleRepository

__all__ = ["Accounts", "SignIn"]

_HASHER = PasswordHasher()
# Verified against when the user does not exist, so both paths cost the same.
_DUMMY = _HASHER.hash("suqiu-console-no-such-user")


@dataclass(frozen=True)
class SignIn:
    user: User | None
    error: str | None = None


class Accounts:
    def __init__(self, repo: ConsoleRepository, failures: int, lock_seconds: float) -> None:
        self._repo = repo
        self._failures = failures
        self._lock = lock_seconds

    async def create(self, username: str, password: str, name: str, role: str,
                     department: str | None = None) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{2,40}", username):
            raise ValueError("user names are 2-40 letters, digits, '_', '.' or '-'")
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        if role == "department" and not department:
            raise ValueError("a department handler needs a department")
        if len(password) < 8:
            raise ValueError("passwords have at least 8 characters")
        await self._repo.put_user({"_id": username, "name": name, "role": role,
                                   "department": department, "hash": _HASHER.hash(password),
                                   "failed": 0, "locked_until": 0.0})

    async def sign_in(self, username: str, password: str) -> SignIn:
        doc = await self._repo.user(username.strip())
        now = time.time()
        if doc is None:
            _verify(_DUMMY, password)
            return SignIn(None, "用户名或密码错误")
        if float(doc.get("locked_until") or 0) > now:
            return SignIn(None, "连续登录失败次数过多，账号已临时锁定，请稍后再试或联系管理员")
        if not _verify(doc["hash"], password):
            failed = int(doc.get("failed") or 0) + 1
            locked = now + self._lock if failed >= self._failures else 0.0
            await self._repo.record_failure(doc["_id"], 0 if locked else failed, locked)
            if locked:
                return SignIn(None, "连续登录失败次数过多，账号已临时锁定，请稍后再试或联系管理员")
            return SignIn(None, "用户名或密码错误")
        if doc.get("failed") or doc.get("locked_until"):
            await self._repo.clear_failures(doc["_id"])
        return SignIn(User(doc["_id"], doc.get("name") or doc["_id"], doc["role"], doc.get("department")))


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
