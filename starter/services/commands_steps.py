"""Case actions on an application and a payout: the applicant's onboarding steps (business
information, the deposited amount, signatures, withdrawal; ops unlock) and the partner admin's
payout application and invoices. Each takes the case's workflow id and calls the service the
CLI calls."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from domain.incentives import PayoutApplication, PayoutMethod, PayoutView
from domain.invoices import InvoiceDetails, InvoiceType
from domain.onboarding import AmountEntry, BusinessInfo, OnboardingStatus, OnboardingView
from domain.parties import Actor, Decision, Role
from domain.types import Money, Name, Text
from infra.i18n import N_
from starter.services.commands_base import CaseInput, Done
from starter.services.commands_cases import APPLICANTS, CommentInput, case_kind, status_done
from starter.services.context import AppContext, operator, temporal_errors
from starter.services.errors import BadInputError, RefusedError
from starter.services.onboarding import AgreementChoice

# ----- the applicant's onboarding steps --------------------------------------------------------


class CertifyBankInput(CaseInput):
    """``partnerflow onboarding certify-bank``."""

    bank_name: Name = Field(title=N_("Bank"))
    bank_account: str = Field(
        max_length=40, title=N_("Bank account"), description=N_("8 to 30 digits.")
    )
    account_holder: Name | None = Field(
        None, title=N_("Account holder"), description=N_("Empty: the company name.")
    )
    company: Name | None = Field(
        None, title=N_("Company name"), description=N_("Only if it must be corrected.")
    )
    tax_id: str | None = Field(
        None, max_length=40, title=N_("Tax id"), description=N_("Empty: the USCC.")
    )
    address: Annotated[Text, Field(max_length=300)] = Field("", title=N_("Registered address"))


async def certify_bank(ctx: AppContext, actor: Actor, i: CertifyBankInput) -> Done:
    """Submits the business information; a small amount is deposited into the account."""
    from pydantic import ValidationError

    from domain.onboarding import OnboardingView
    from starter.services.onboarding import application_id, application_update
    from workflows.onboarding import OnboardingWorkflow

    client = await ctx.client()
    handle = client.get_workflow_handle_for(OnboardingWorkflow.run, application_id(i.workflow_id))
    async with temporal_errors("onboarding certify-bank"):
        current = OnboardingView.model_validate(await handle.query("status"))
    name = i.company or current.company_name
    try:
        info = BusinessInfo(
            actor=actor,
            company_name=name,
            tax_id=i.tax_id or current.uscc,
            registered_address=i.address,
            bank_name=i.bank_name,
            bank_account=i.bank_account,
            account_holder=i.account_holder or name,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        field = {"company_name": "company", "registered_address": "address"}.get(
            str(err["loc"][0]) if err["loc"] else "", str(err["loc"][0]) if err["loc"] else ""
        )
        raise BadInputError(f"--{field.replace('_', '-')}: {err['msg']}") from None
    view = await application_update(ctx, i.workflow_id, "submit_business_info", info)
    return Done.of(
        view, N_("Business information submitted; enter the amount deposited into the account.")
    )


class EnterAmountInput(CaseInput):
    """``partnerflow onboarding enter-amount``."""

    amount: Decimal = Field(
        gt=0,
        max_digits=12,
        decimal_places=2,
        title=N_("Amount deposited (CNY)"),
        description=N_("The small amount on your bank statement, e.g. 0.37."),
    )


def refuse_wrong_amount(view: OnboardingView) -> None:
    """Raises the refusal of a wrong amount entry, by what the application says now (still
    awaiting the amount: entries left; locked: ops must unlock); a right one passes."""
    if view.status == OnboardingStatus.AWAITING_AMOUNT:
        raise RefusedError(
            f"that is not the deposited amount; {view.bank_entries_left} entries left "
            "before the certification locks",
            rule="wrong_amount",
        )
    if view.status == OnboardingStatus.BANK_LOCKED:
        raise RefusedError(
            "that is not the deposited amount; the certification is now locked: "
            "ops have been asked to unlock it",
            rule="bank_locked",
        )


async def enter_amount(ctx: AppContext, actor: Actor, i: EnterAmountInput) -> Done:
    """Enters the deposited amount; three wrong entries lock the certification."""
    from starter.services.onboarding import application_update

    entry = AmountEntry(actor=actor, amount=i.amount)
    view = await application_update(ctx, i.workflow_id, "enter_amount", entry)
    refuse_wrong_amount(view)
    return status_done(view.workflow_id, view.status.value, view)


class SignInput(CaseInput):
    """``partnerflow onboarding sign``."""

    agreement: AgreementChoice = Field(
        AgreementChoice.BOTH,
        title=N_("Agreement"),
        description=N_("partner: the Partner Agreement; integrity: the Integrity Commitment."),
    )


async def sign(ctx: AppContext, actor: Actor, i: SignInput) -> Done:
    """Signs the partner agreement and/or the integrity commitment."""
    from starter.services.onboarding import application_update

    updates = {
        AgreementChoice.PARTNER: ["sign_partner_agreement"],
        AgreementChoice.INTEGRITY: ["sign_integrity_commitment"],
        AgreementChoice.BOTH: ["sign_partner_agreement", "sign_integrity_commitment"],
    }[i.agreement]
    view = None
    for update in updates:
        view = await application_update(
            ctx, i.workflow_id, update, Decision(operator=operator(), actor=actor)
        )
    assert view is not None
    return status_done(view.workflow_id, view.status.value, view)


async def _application(ctx: AppContext, actor: Actor, i: CommentInput, what: str) -> Done:
    from starter.services.onboarding import application_update

    d = Decision(operator=operator(), actor=actor, comment=i.comment)
    view = await application_update(ctx, i.workflow_id, what, d)
    return status_done(view.workflow_id, view.status.value, view)


async def withdraw(ctx: AppContext, actor: Actor, i: CommentInput) -> Done:
    """Withdraws a pending application (the applicant, or ops)."""
    return await _application(ctx, actor, i, "withdraw")


async def unlock(ctx: AppContext, actor: Actor, i: CommentInput) -> Done:
    """Unlocks a bank certification locked after wrong entries (ops)."""
    return await _application(ctx, actor, i, "unlock")


# ----- payouts and renewals ----------------------------------------------------------------------


class PayoutApplyInput(CaseInput):
    """``partnerflow payout apply``."""

    method: PayoutMethod = Field(
        title=N_("How to take the incentive"),
        description=N_("voucher: no invoice; bank transfer or recharge account: invoice needed."),
    )


async def payout_apply(ctx: AppContext, actor: Actor, i: PayoutApplyInput) -> Done:
    """Applies for the payout, choosing how to be paid."""
    from starter.services.incentives import payout_update
    from workflows.incentive import IncentivePayoutWorkflow

    view: PayoutView = await payout_update(
        ctx,
        i.workflow_id,
        "apply",
        "apply",
        IncentivePayoutWorkflow.apply,
        lambda nonce: PayoutApplication(actor=actor, method=i.method, nonce=nonce),
    )
    return status_done(view.workflow_id, view.status.value, view)


class PayoutInvoiceInput(CaseInput):
    """``partnerflow payout invoice`` (the JSON file's fields, one per form field)."""

    invoice_number: str = Field(
        pattern=r"^(\d{8}|\d{20})$",
        title=N_("Invoice number"),
        description=N_("8 digits (paper) or 20 (digital)."),
    )
    invoice_type: InvoiceType = Field(InvoiceType.VAT_SPECIAL, title=N_("Invoice type"))
    buyer_title: Name = Field(title=N_("Buyer title"))
    buyer_tax_id: Annotated[Text, Field(min_length=1, max_length=32)] = Field(
        title=N_("Buyer tax id")
    )
    seller_name: Name = Field(title=N_("Seller name"))
    seller_tax_id: Annotated[Text, Field(min_length=1, max_length=32)] = Field(
        title=N_("Seller tax id")
    )
    amount_excl_tax: Money = Field(title=N_("Amount excluding tax (CNY)"))
    tax_amount: Money = Field(title=N_("Tax (CNY)"))
    total: Money = Field(gt=0, title=N_("Total (CNY)"))
    issued_on: date = Field(title=N_("Issued on"))


async def payout_invoice(ctx: AppContext, actor: Actor, i: PayoutInvoiceInput) -> Done:
    """Submits an invoice; every verification rule is checked and each problem reported."""
    from starter.services.incentives import submit_invoice

    details = InvoiceDetails.model_validate(i.model_dump(exclude={"workflow_id"}))
    result = await submit_invoice(ctx, actor, i.workflow_id, details)
    return Done(
        i.workflow_id,
        N_("Invoice %(number)s accepted; remaining %(remaining)s CNY."),
        {"number": result.invoice_number, "remaining": str(result.remaining)},
        result,
    )


STEP_KINDS = [
    case_kind(
        "onboarding-certify-bank",
        N_("Submit the business information"),
        "onboarding",
        APPLICANTS,
        CertifyBankInput,
        certify_bank,
    ),
    case_kind(
        "onboarding-enter-amount",
        N_("Enter the deposited amount"),
        "onboarding",
        APPLICANTS,
        EnterAmountInput,
        enter_amount,
    ),
    case_kind(
        "onboarding-sign",
        N_("Sign the agreements"),
        "onboarding",
        APPLICANTS,
        SignInput,
        sign,
    ),
    case_kind(
        "onboarding-withdraw",
        N_("Withdraw the application"),
        "onboarding",
        APPLICANTS,
        CommentInput,
        withdraw,
    ),
    case_kind(
        "onboarding-unlock",
        N_("Unlock the bank certification"),
        "onboarding",
        (Role.OPS,),
        CommentInput,
        unlock,
    ),
    case_kind(
        "payout-apply",
        N_("Apply for the payout"),
        "incentive",
        (Role.PARTNER_ADMIN,),
        PayoutApplyInput,
        payout_apply,
    ),
    case_kind(
        "payout-invoice",
        N_("Submit an invoice"),
        "incentive",
        (Role.PARTNER_ADMIN,),
        PayoutInvoiceInput,
        payout_invoice,
    ),
]
