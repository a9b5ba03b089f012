"""The learning loop's pure rules live in shared/labels.py (the dispatcher decides labels too);
re-exported here for the classifier's readers."""

from suqiu.shared.labels import (
    HUMAN_ROLES,
    Label,
    LabelDecision,
    LabelError,
    apply_decision,
    training_rows,
)

__all__ = ["HUMAN_ROLES", "Label", "LabelDecision", "LabelError", "apply_decision",
           "training_rows"]
