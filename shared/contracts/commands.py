"""Commands to the dispatcher (`dispatcher.command`): a department's, supervisor's or operator's
action on one work order, by HTTP or as an AMQP message (routing key `command.dispatcher`)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = ["Action", "Command", "Role", "Satisfaction"]

Role = Literal["department", "supervisor", "operator", "system"]
Satisfaction = Literal["非常满意", "满意", "基本满意", "不满意"]
Action = Literal["assign", "sign", "return", "transfer", "reassign", "start", "suspend", "resume",
                 "request_extension", "approve_extension", "reject_extension", "escalate",
                 "reply", "feedback", "revisit", "close", "archive", "reopen", "urge", "note",
                 "recategorise"]


class Command(BaseModel):
    """A department's, supervisor's or operator's command on one work order."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    type: Literal["dispatcher.command"] = "dispatcher.command"
    schema_version: Literal[1] = 1
    command_id: str = Field(min_length=1, max_length=200)
    ticket_no: str = Field(min_length=1, max_length=64)
    action: Action
    actor: str = Field(min_length=1, max_length=64, description="Unit or staff id, never a name.")
    role: Role
    department: str | None = Field(default=None, description="The acting department (role department).")
    reason: str | None = Field(default=None, max_length=500)
    target: str | None = Field(default=None, description="Department for assign / transfer / reassign.")
    category: str | None = Field(default=None, max_length=64,
                                 description="The category a person sets (recategorise).")
    subcategory: str | None = Field(default=None, max_length=64,
                                    description="The subcategory a person sets (recategorise).")
    co: list[str] = Field(default_factory=list, description="Co-handling departments for assign.")
    summary: str | None = Field(default=None, max_length=500, description="Reply text for the person.")
    satisfaction: Satisfaction | None = None
    new_due: AwareDatetime | None = Field(default=None, description="Requested resolution deadline.")
    override: bool = Field(default=False, description="Lead replies before assisting replies (with reason).")
    expected_version: int | None = Field(default=None, ge=1)
    follows_master: str | None = Field(
        default=None, max_length=64,
        description="Set on the copy of a mass-incident master's command that a merged member "
                    "follows: the member's own lead acts, when the member belongs to that master.")
