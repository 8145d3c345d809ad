"""The decision forms of each task kind, and deciding: a typed update on the task's workflow
with the signed-in user as the actor.

A task kind lists its actions; an action names the workflow's update method and the form it
needs (a plain decision with a comment, a payout method, an invoice, a bank amount, business
information, renewal feedback). The workflow's validators are the rules: a refusal comes back
as the page's message, and nothing is recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio.client import Client

from domain.incentives import InvoiceSubmission, PayoutApplication, PayoutMethod
from domain.invoices import InvoiceDetails, InvoiceType
from domain.onboarding import AmountEntry, BusinessInfo
from domain.parties import Actor, Decision
from domain.renewals import RenewalFeedback, RenewalOutcome
from infra.i18n import N_
from starter.services.context import temporal_errors
from workflows.authorization import CustomerAuthorizationWorkflow
from workflows.development_path import DevelopmentPathWorkflow
from workflows.incentive import IncentivePayoutWorkflow
from workflows.invitation import InvitationWorkflow
from workflows.onboarding import OnboardingWorkflow
from workflows.renewal import RenewalWorkflow
from workflows.unbinding import UnbindingWorkflow


@dataclass(frozen=True)
class Action:
    """One button of a task's decision form."""

    name: str
    label: str
    update: Any  # the workflow's @workflow.update method (typed update, not a string)
    form: str = "decision"  # decision | method | invoice | amount | business_info | feedback
    # saying no: a REFUSED status in the answer is the outcome asked for, not a refusal
    saying_no: bool = False


@dataclass(frozen=True)
class TaskKind:
    """What a task of this kind asks, and what the person can do about it."""

    ask: str
    actions: tuple[Action, ...] = ()
    # For kinds decided elsewhere: what to do instead.
    elsewhere: str = ""
    fields: tuple[str, ...] = field(default=())


KINDS: dict[str, TaskKind] = {
    "invitation_decision": TaskKind(
        N_("Accept or decline the partner's invitation to serve your account."),
        (
            Action("accept", N_("Accept"), InvitationWorkflow.accept),
            Action("decline", N_("Decline"), InvitationWorkflow.decline, saying_no=True),
        ),
    ),
    "binding_change_approval": TaskKind(
        N_("Approve or reject the requested change of the partner-customer binding."),
        (
            Action("approve", N_("Approve"), UnbindingWorkflow.approve),
            Action("reject", N_("Reject"), UnbindingWorkflow.reject, saying_no=True),
        ),
    ),
    "incentive_application": TaskKind(
        N_("Choose how to take the incentive and apply for the payout."),
        (Action("apply", N_("Apply"), IncentivePayoutWorkflow.apply, form="method"),),
    ),
    "incentive_invoice": TaskKind(
        N_("Enter the details of each invoice you issued for this incentive."),
        (
            Action(
                "submit_invoice",
                N_("Submit the invoice"),
                IncentivePayoutWorkflow.submit_invoice,
                form="invoice",
            ),
        ),
    ),
    "incentive_approval": TaskKind(
        N_("Approve or reject the incentive payout."),
        (
            Action("approve", N_("Approve the payout"), IncentivePayoutWorkflow.approve),
            Action("reject", N_("Reject"), IncentivePayoutWorkflow.reject, saying_no=True),
        ),
    ),
    "authorization_distributor": TaskKind(
        N_("Authorize the reseller to order for this customer, or say no."),
        (
            Action("approve", N_("Authorize"), CustomerAuthorizationWorkflow.approve),
            Action("cancel", N_("Refuse"), CustomerAuthorizationWorkflow.cancel, saying_no=True),
        ),
    ),
    "authorization_customer": TaskKind(
        N_("Authorize the partner to order on your behalf, or say no."),
        (
            Action("approve", N_("Authorize"), CustomerAuthorizationWorkflow.approve),
            Action("cancel", N_("Refuse"), CustomerAuthorizationWorkflow.cancel, saying_no=True),
        ),
    ),
    "path_join": TaskKind(
        N_("Join the development path."),
        (Action("join", N_("Join"), DevelopmentPathWorkflow.join),),
    ),
    "path_approval": TaskKind(
        N_("Certify the partner at the requested level, or reject the request."),
        (
            Action("approve", N_("Certify"), DevelopmentPathWorkflow.approve),
            Action("reject", N_("Reject"), DevelopmentPathWorkflow.reject, saying_no=True),
        ),
    ),
    "onboarding_business_info": TaskKind(
        N_("Submit the business information to certify."),
        (
            Action(
                "submit",
                N_("Submit"),
                OnboardingWorkflow.submit_business_info,
                form="business_info",
            ),
        ),
    ),
    "onboarding_resubmit": TaskKind(
        N_("Edit and resubmit the business information."),
        (
            Action(
                "submit",
                N_("Resubmit"),
                OnboardingWorkflow.submit_business_info,
                form="business_info",
            ),
        ),
    ),
    "onboarding_bank_amount": TaskKind(
        N_("Enter the small amount the vendor deposited into your bank account."),
        (
            Action(
                "enter_amount", N_("Confirm the amount"), OnboardingWorkflow.enter_amount, "amount"
            ),
        ),
    ),
    "onboarding_bank_unlock": TaskKind(
        N_("Bank verification is locked after wrong amounts; unlock it for another try."),
        (Action("unlock", N_("Unlock"), OnboardingWorkflow.unlock),),
    ),
    "onboarding_review": TaskKind(
        N_("Review the business information."),
        (
            Action("review_approve", N_("Approve"), OnboardingWorkflow.review_approve),
            Action(
                "review_reject",
                N_("Ask for changes"),
                OnboardingWorkflow.review_reject,
                saying_no=True,
            ),
        ),
    ),
    "onboarding_approval": TaskKind(
        N_("Approve the partner application, or reject it."),
        (
            Action("approve", N_("Approve"), OnboardingWorkflow.approve),
            Action("reject", N_("Reject"), OnboardingWorkflow.reject, saying_no=True),
        ),
    ),
    "onboarding_sign": TaskKind(
        N_("Sign the partner agreement and the integrity commitment."),
        (
            Action(
                "sign_partner_agreement",
                N_("Sign the partner agreement"),
                OnboardingWorkflow.sign_partner_agreement,
            ),
            Action(
                "sign_integrity_commitment",
                N_("Sign the integrity commitment"),
                OnboardingWorkflow.sign_integrity_commitment,
            ),
        ),
    ),
    "renewal_task": TaskKind(
        N_("Tell us whether the customer renews; claim the task first."),
        (Action("feedback", N_("Send feedback"), RenewalWorkflow.feedback, form="feedback"),),
    ),
    "renewal_escalation": TaskKind(
        N_("Nobody at the partner has claimed this big-order renewal."),
        elsewhere=N_(
            "Contact the partner so that one of its users claims the renewal task; "
            "the renewal goes on by itself once it is claimed or renewed."
        ),
    ),
    "email_bounced": TaskKind(
        N_("An email could not be delivered."),
        elsewhere=N_(
            "Correct the address in the customer or partner records (`partnerflow "
            "import customers FILE` with the new email); the waiting invitation is sent again."
        ),
    ),
}


def kind_of(kind: str) -> TaskKind:
    """The task kind (an unknown kind has no form and says where to decide)."""
    return KINDS.get(
        kind,
        TaskKind(
            N_("A task of another kind."),
            elsewhere=N_("Decide it with the CLI (`partnerflow tasks`, `partnerflow show`)."),
        ),
    )


class FormError(ValueError):
    """Input that does not make a valid payload; ``fields`` holds the message per field."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def _text(form: Mapping[str, str], name: str) -> str:
    return str(form.get(name) or "").strip()


def _decimal(form: Mapping[str, str], name: str, errors: dict[str, str]) -> Decimal:
    try:
        return Decimal(_text(form, name))
    except InvalidOperation:
        errors[name] = "enter an amount such as 1234.50"
        return Decimal(0)


def _invoice(actor: Actor, form: Mapping[str, str], nonce: str) -> InvoiceSubmission:
    errors: dict[str, str] = {}
    excl = _decimal(form, "amount_excl_tax", errors)
    tax = _decimal(form, "tax_amount", errors)
    total = _decimal(form, "total", errors)
    try:
        issued = date.fromisoformat(_text(form, "issued_on"))
    except ValueError:
        errors["issued_on"] = "enter a date as YYYY-MM-DD"
        issued = date.today()
    if errors:
        raise FormError(errors)
    return InvoiceSubmission(
        actor=actor,
        nonce=nonce,
        invoice=InvoiceDetails(
            invoice_number=_text(form, "invoice_number"),
            invoice_type=InvoiceType(_text(form, "invoice_type") or "vat_special"),
            buyer_title=_text(form, "buyer_title"),
            buyer_tax_id=_text(form, "buyer_tax_id"),
            seller_name=_text(form, "seller_name"),
            seller_tax_id=_text(form, "seller_tax_id"),
            amount_excl_tax=excl,
            tax_amount=tax,
            total=total,
            issued_on=issued,
        ),
    )


def _amount(actor: Actor, form: Mapping[str, str], nonce: str) -> AmountEntry:
    errors: dict[str, str] = {}
    amount = _decimal(form, "amount", errors)
    if errors:
        raise FormError(errors)
    return AmountEntry(actor=actor, amount=amount, nonce=nonce)


BUILDERS: dict[str, Callable[[Actor, Mapping[str, str], str], BaseModel]] = {
    "decision": lambda a, f, n: Decision(actor=a, nonce=n, comment=_text(f, "comment") or None),
    "method": lambda a, f, n: PayoutApplication(
        actor=a, nonce=n, method=PayoutMethod(_text(f, "method") or "voucher")
    ),
    "invoice": _invoice,
    "amount": _amount,
    "business_info": lambda a, f, n: BusinessInfo(
        actor=a,
        nonce=n,
        company_name=_text(f, "company_name"),
        tax_id=_text(f, "tax_id"),
        registered_address=_text(f, "registered_address"),
        bank_name=_text(f, "bank_name"),
        bank_account=_text(f, "bank_account"),
        account_holder=_text(f, "account_holder"),
    ),
    "feedback": lambda a, f, n: RenewalFeedback(
        actor=a,
        nonce=n,
        outcome=RenewalOutcome(_text(f, "outcome") or "will_renew"),
        reason=_text(f, "reason") or None,
        accept_commitment_letter=_text(f, "accept_commitment_letter") == "yes",
    ),
}


def payload(action: Action, actor: Actor, form: Mapping[str, str], nonce: str) -> BaseModel:
    """The update's payload from the form; FormError with a message per field when invalid."""
    try:
        return BUILDERS[action.form](actor, form, nonce)
    except ValidationError as exc:
        raise FormError(
            {".".join(str(p) for p in e["loc"][-1:]) or "form": e["msg"] for e in exc.errors()}
        ) from None
    except ValueError as exc:  # an enum value that is not one of the choices
        if isinstance(exc, FormError):
            raise
        raise FormError({"form": str(exc)}) from None


def new_nonce() -> str:
    """The update id of one form: a double submit is one decision."""
    return uuid.uuid4().hex


async def decide(
    client: Client, workflow_id: str, action: Action, body: BaseModel, nonce: str
) -> dict[str, Any]:
    """Runs the typed update; a business refusal raises RefusedError (nothing recorded)."""
    handle = client.get_workflow_handle(workflow_id)
    async with temporal_errors(action.label):
        result = await handle.execute_update(action.update, body, id=nonce)
    if isinstance(result, BaseModel):
        dumped: dict[str, Any] = result.model_dump(mode="json")
        return dumped
    return result if isinstance(result, dict) else {}


async def workflow_facts(client: Client, workflow_id: str) -> dict[str, Any]:
    """The workflow's own ``status`` query: the facts a person decides on."""
    try:
        raw = await client.get_workflow_handle(workflow_id).query("status")
    except Exception:
        return {}
    if isinstance(raw, BaseModel):
        return raw.model_dump(mode="json")
    return raw if isinstance(raw, dict) else {}
