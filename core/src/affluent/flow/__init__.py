"""The standard flow: the integration lane of Digital River's Direct Integrations sequence."""

from affluent.flow.steps import DECLINE_MESSAGE, ChangeResult, Flow, SubmitResult

__all__ = ["DECLINE_MESSAGE", "ChangeResult", "Flow", "SubmitResult"]
