"""SLA monitor settings (env prefix SUQIU_SLA_; the policy and calendar paths are SlaFiles')."""

from pydantic import Field

from suqiu.shared.sla import SlaFiles

__all__ = ["SlaSettings"]


class SlaSettings(SlaFiles):
    http_port: int = Field(default=8104, ge=0, le=65535)
    prefetch: int = Field(default=16, ge=1, le=1000)
    scan_interval_s: float = Field(default=1.0, gt=0, description="How often due timers are claimed.")
    claim_batch: int = Field(default=200, ge=1, le=10000)
    lease_s: float = Field(default=30.0, gt=0, description="A claimed timer not fired within "
                           "this time (crashed replica) is claimed again.")
    open_deadlines_interval_s: float = Field(
        default=15.0, ge=0, description="Refresh of suqiu_sla_open_deadlines (0: off): a walk "
        "of the due_at index over the next 24 h, at most open_deadlines_cap timers.")
    open_deadlines_cap: int = Field(
        default=5000, ge=1, le=100_000, description="Most timers one gauge refresh reads.")
