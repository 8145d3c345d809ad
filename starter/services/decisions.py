"""Deciding by name: the action a front door names (a link's action, a console form's button)
mapped to the workflow's update method itself, by the kind of workflow its id says it is.

``handle.execute_update(Workflow.method, ...)`` instead of a string: a renamed or removed update
fails type checking here, not at run time on a person's click.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from temporalio.client import Client
from temporalio.workflow import UpdateMethodMultiParam

from domain.parties import Decision
from starter.services.errors import BadInputError
from workflows.authorization import CustomerAuthorizationWorkflow
from workflows.development_path import DevelopmentPathWorkflow
from workflows.incentive import IncentivePayoutWorkflow
from workflows.invitation import InvitationWorkflow
from workflows.onboarding import OnboardingWorkflow
from workflows.renewal import RenewalWorkflow
from workflows.unbinding import UnbindingWorkflow

DecisionUpdate: TypeAlias = UpdateMethodMultiParam[[Any, Decision], Any]

# By workflow id prefix (the ids are business keys: domain/*.py and services/*.py make them).
# "renewal-scan-" runs take no decisions; it comes before "renewal-" so that it matches first.
DECISIONS: tuple[tuple[str, dict[str, DecisionUpdate]], ...] = (
    (
        "invitation-",
        {
            "accept": InvitationWorkflow.accept,
            "decline": InvitationWorkflow.decline,
            "cancel": InvitationWorkflow.cancel,
        },
    ),
    (
        "binding-change-",
        {
            "approve": UnbindingWorkflow.approve,
            "reject": UnbindingWorkflow.reject,
            "cancel": UnbindingWorkflow.cancel,
        },
    ),
    (
        "incentive-",
        {"approve": IncentivePayoutWorkflow.approve, "reject": IncentivePayoutWorkflow.reject},
    ),
    (
        "authorization-",
        {
            "approve": CustomerAuthorizationWorkflow.approve,
            "cancel": CustomerAuthorizationWorkflow.cancel,
            "revoke": CustomerAuthorizationWorkflow.revoke,
        },
    ),
    (
        "onboarding-",
        {
            "unlock": OnboardingWorkflow.unlock,
            "sign_partner_agreement": OnboardingWorkflow.sign_partner_agreement,
            "sign_integrity_commitment": OnboardingWorkflow.sign_integrity_commitment,
            "withdraw": OnboardingWorkflow.withdraw,
            "review_approve": OnboardingWorkflow.review_approve,
            "review_reject": OnboardingWorkflow.review_reject,
            "approve": OnboardingWorkflow.approve,
            "reject": OnboardingWorkflow.reject,
        },
    ),
    (
        "path-",
        {
            "join": DevelopmentPathWorkflow.join,
            "leave": DevelopmentPathWorkflow.leave,
            "approve": DevelopmentPathWorkflow.approve,
            "reject": DevelopmentPathWorkflow.reject,
        },
    ),
    ("renewal-scan-", {}),
    ("renewal-", {"claim": RenewalWorkflow.claim, "cancel": RenewalWorkflow.cancel}),
)


def decision_update(workflow_id: str, action: str) -> DecisionUpdate:
    """The update method that ``action`` names on the workflow ``workflow_id``."""
    for prefix, actions in DECISIONS:
        if workflow_id.startswith(prefix):
            if action in actions:
                return actions[action]
            break
    raise BadInputError(f"{action!r} is not a decision on {workflow_id}", rule="unknown_decision")


async def execute_decision(
    client: Client,
    workflow_id: str,
    action: str,
    decision: Decision,
    *,
    run_id: str | None = None,
    update_id: str | None = None,
) -> Any:
    """Runs the decision update on the workflow (on one run when ``run_id`` is given); Temporal
    errors are left to the caller's ``temporal_errors``, which words them for its front door."""
    update = decision_update(workflow_id, action)
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    return await handle.execute_update(update, decision, id=update_id)
