"""Errors a handler raises to say how its message must be treated."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FieldError", "PermanentError", "field_errors_from_pydantic"]


@dataclass(frozen=True)
class FieldError:
    """One machine-readable problem with an input: which field, and why."""

    field: str
    reason: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason, "message": self.message}


class PermanentError(Exception):
    """The message can never succeed (bad input, unknown ticket): dead-letter it, do not retry."""

    def __init__(self, reason: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or []


def field_errors_from_pydantic(exc: object) -> list[FieldError]:
    """Translate a pydantic ValidationError into FieldErrors (input values are never echoed)."""
    out: list[FieldError] = []
    for err in getattr(exc, "errors")(include_input=False, include_url=False):  # noqa: B009
        loc = ".".join(str(p) for p in err.get("loc", ())) or "$"
        out.append(FieldError(field=loc, reason=str(err.get("type", "invalid")),
                              message=str(err.get("msg", ""))))
    return out
