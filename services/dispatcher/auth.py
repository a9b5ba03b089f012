"""Department / supervisor credentials: `Authorization: Bearer <token>` -> a principal.

Tokens come from settings (env JSON or a secrets file), are compared in constant time, and
never appear in logs or metrics.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["AuthError", "Credentials", "Principal", "load_credentials"]


class AuthError(Exception):
    """The credentials configuration is invalid."""


class Principal(BaseModel):
    """Who is calling: a department's staff, a supervisor (督办) or the centre's operator."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    department: str = Field(min_length=1, max_length=64)
    role: Literal["department", "supervisor", "operator"] = "department"
    unmask: bool = Field(default=False, description="May see the complainant's personal data.")


@dataclass(frozen=True)
class Credentials:
    tokens: tuple[tuple[bytes, Principal], ...]

    def authenticate(self, header: str | None) -> Principal | None:
        """The principal of an `Authorization: Bearer <token>` header, or None."""
        if not header or not header.lower().startswith("bearer "):
            return None
        given = header[7:].strip().encode()
        found = None
        for token, principal in self.tokens:  # no early exit: constant time over the table
            if hmac.compare_digest(token, given):
                found = principal
        return found


def load_credentials(raw: str | None, path: Path | None,
                     known_departments: set[str]) -> Credentials:
    """Parse the JSON map token -> principal; every department must exist in the catalogue."""
    text = raw
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise AuthError(f"cannot read credentials file {path}: {exc}") from exc
    if not text:
        return Credentials(())
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise AuthError("credentials must be a JSON object token -> principal")
        pairs = [(str(k), Principal.model_validate(v)) for k, v in data.items()]
    except (ValueError, ValidationError) as exc:
        raise AuthError(f"invalid credentials: {type(exc).__name__}") from None
    short = [p.department for t, p in pairs if len(t) < 16]
    if short:
        raise AuthError(f"token of {short[0]} is shorter than 16 characters")
    unknown = sorted({p.department for _, p in pairs} - known_departments)
    if unknown:
        raise AuthError(f"credentials name unknown departments: {unknown}")
    return Credentials(tuple((t.encode(), p) for t, p in pairs))
