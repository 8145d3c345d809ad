"""The workflows the worker registers (kept out of ``workflows/__init__`` so that a sandboxed
run imports only its own module)."""

from workflows.authorization import CustomerAuthorizationWorkflow
from workflows.development_path import DevelopmentPathWorkflow
from workflows.incentive import IncentivePayoutWorkflow
from workflows.incentive_monthly import IncentiveMonthlyRunWorkflow
from workflows.invitation import InvitationWorkflow
from workflows.onboarding import OnboardingWorkflow
from workflows.renewal import RenewalWorkflow
from workflows.renewal_scan import RenewalScanWorkflow
from workflows.unbinding import UnbindingWorkflow

ALL_WORKFLOWS: list[type] = [
    CustomerAuthorizationWorkflow,
    RenewalScanWorkflow,
    RenewalWorkflow,
    InvitationWorkflow,
    UnbindingWorkflow,
    OnboardingWorkflow,
    DevelopmentPathWorkflow,
    IncentivePayoutWorkflow,
    IncentiveMonthlyRunWorkflow,
]
