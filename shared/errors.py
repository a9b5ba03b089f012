"""Errors a handler raises to say how its message must be treated."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConfigError", "FieldError", "PermanentError", "field_errors_from_pydantic"]


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


class ConfigError(Exception):
    """A start-up or configuration problem: which setting or file, and what is wrong with it.

    Services turn it into one JSON log line and exit code 3; the CLI into one line on stderr
    and exit code 2. `source` names the environment variable or the file path.
    """

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


def field_errors_from_pydantic(exc: object) -> list[FieldError]:
    """Translate a pydantic ValidationError into FieldErrors (input values are never echoed)."""
    out: list[FieldError] = []
    for err in getattr(exc, "errors")(include_input=False, include_url=False):  # noqa: B009
        loc = ".".join(str(p) for p in err.get("loc", ())) or "$"
        out.append(FieldError(field=loc, reason=str(err.get("type", "invalid")),
                              message=str(err.get("msg", ""))))
    return out
