"""One module per workflow. ``ALL_WORKFLOWS`` is what the worker registers."""

from workflows.invitation import InvitationWorkflow

ALL_WORKFLOWS: list[type] = [
    InvitationWorkflow,
]

__all__ = ["ALL_WORKFLOWS", "InvitationWorkflow"]
