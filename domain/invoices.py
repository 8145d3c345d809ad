"""Verification of the invoices a partner issues to the vendor for a payout (docs/incentives.md).

Each rule is one function that returns the problem it finds (or None), with a message that
says what is wrong and what to do instead. ``verify_invoice`` runs them all, so the partner
sees every problem of a submission at once and can resubmit a corrected invoice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from domain.performance import ZERO
from domain.types import Money, Name, Text


class InvoiceType(StrEnum):
    """Chinese VAT invoice kinds."""

    VAT_SPECIAL = "vat_special"  # 增值税专用发票
    VAT_ORDINARY = "vat_ordinary"  # 增值税普通发票


class InvoiceDetails(BaseModel):
    """What the partner submits about an invoice it issued to the vendor."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # 8 digits on a paper VAT invoice, 20 on a fully digital one (全电发票).
    invoice_number: str = Field(pattern=r"^(\d{8}|\d{20})$")
    invoice_type: InvoiceType
    buyer_title: Name
    buyer_tax_id: Annotated[Text, Field(min_length=1, max_length=32)]
    seller_name: Name
    seller_tax_id: Annotated[Text, Field(min_length=1, max_length=32)]
    amount_excl_tax: Money
    tax_amount: Money
    total: Money = Field(gt=0)  # tax included
    issued_on: date


class InvoiceProblem(BaseModel):
    """One verification rule that refuses the invoice."""

    rule: str
    message: str


class InvoiceExpectations(BaseModel):
    """What the invoice must match: the vendor, the partner and the payout."""

    payout_id: str
    vendor_title: str
    vendor_tax_id: str
    partner_company: str
    partner_uscc: str
    payout_amount: Decimal
    already_invoiced: Decimal = ZERO  # tax-inclusive total of the invoices accepted so far
    notified_on: date
    today: date
    # invoice number -> payout it was accepted for, for the numbers this submission may clash with
    numbers_in_use: dict[str, str] = Field(default_factory=dict)

    @property
    def remaining(self) -> Decimal:
        """What the invoices still have to cover."""
        return self.payout_amount - self.already_invoiced


_FULL_WIDTH = str.maketrans({"\uff08": "(", "\uff09": ")", "\u3000": " "})


def same_name(a: str, b: str) -> bool:
    """Company names compared as a clerk would: full-width brackets and spacing ignored."""

    def norm(s: str) -> str:
        return re.sub(r"\s+", "", s.translate(_FULL_WIDTH)).casefold()

    return norm(a) == norm(b)


def same_tax_id(a: str, b: str) -> bool:
    """Tax ids (USCC) compared without case or surrounding spaces."""
    return a.strip().upper() == b.strip().upper()


def special_invoice_required(
    inv: InvoiceDetails, exp: InvoiceExpectations
) -> InvoiceProblem | None:
    """Only a VAT special invoice is accepted, never an ordinary one (the vendor's rule)."""
    if inv.invoice_type == InvoiceType.VAT_SPECIAL:
        return None
    return InvoiceProblem(
        rule="special_invoice_required",
        message=f"invoice {inv.invoice_number} is an ordinary VAT invoice; the vendor accepts "
        "only VAT special invoices (增值税专用发票): issue a special invoice to replace it",
    )


def buyer_title_matches(inv: InvoiceDetails, exp: InvoiceExpectations) -> InvoiceProblem | None:
    """The buyer is the vendor, under its invoice title."""
    if same_name(inv.buyer_title, exp.vendor_title):
        return None
    return InvoiceProblem(
        rule="buyer_title_mismatch",
        message=f"the buyer title is {inv.buyer_title!r} but must be the vendor's invoice title "
        f"{exp.vendor_title!r} (see the invoice list)",
    )


def buyer_tax_id_matches(inv: InvoiceDetails, exp: InvoiceExpectations) -> InvoiceProblem | None:
    """The buyer's tax id is the vendor's."""
    if same_tax_id(inv.buyer_tax_id, exp.vendor_tax_id):
        return None
    return InvoiceProblem(
        rule="buyer_tax_id_mismatch",
        message=f"the buyer tax id is {inv.buyer_tax_id!r} but must be the vendor's "
        f"{exp.vendor_tax_id!r} (see the invoice list)",
    )


def seller_name_matches(inv: InvoiceDetails, exp: InvoiceExpectations) -> InvoiceProblem | None:
    """The seller is the partner's certified company."""
    if same_name(inv.seller_name, exp.partner_company):
        return None
    return InvoiceProblem(
        rule="seller_name_mismatch",
        message=f"the seller is {inv.seller_name!r} but must be the partner's certified company "
        f"{exp.partner_company!r}",
    )


def seller_tax_id_matches(inv: InvoiceDetails, exp: InvoiceExpectations) -> InvoiceProblem | None:
    """The seller's tax id is the partner's certified USCC."""
    if same_tax_id(inv.seller_tax_id, exp.partner_uscc):
        return None
    return InvoiceProblem(
        rule="seller_tax_id_mismatch",
        message=f"the seller tax id is {inv.seller_tax_id!r} but must be the partner's "
        f"certified unified social credit code {exp.partner_uscc!r}",
    )


def amounts_add_up(inv: InvoiceDetails, exp: InvoiceExpectations) -> InvoiceProblem | None:
    """Amount before tax plus tax is the total (a mistyped amount is caught here) (PartnerFlow's default)."""
    if inv.amount_excl_tax + inv.tax_amount == inv.total:
        return None
    return InvoiceProblem(
        rule="amounts_do_not_add_up",
        message=f"amount {inv.amount_excl_tax} plus tax {inv.tax_amount} is "
        f"{inv.amount_excl_tax + inv.tax_amount}, not the total {inv.total}: check the figures",
    )


def total_within_payout(inv: InvoiceDetails, exp: InvoiceExpectations) -> InvoiceProblem | None:
    """The invoices of a payout add up (tax included) to its amount (the vendor's rule): one invoice may not
    take the total past it."""
    if inv.total <= exp.remaining:
        return None
    if exp.already_invoiced > 0:
        detail = (
            f"invoices for {exp.already_invoiced} are already accepted, so "
            f"{exp.remaining} remains to be invoiced"
        )
    else:
        detail = f"the payout is {exp.payout_amount}"
    return InvoiceProblem(
        rule="total_exceeds_payout",
        message=f"the invoice total {inv.total} is more than the payout allows: {detail}; "
        "issue an invoice for the exact remaining amount",
    )


def issued_after_notification(
    inv: InvoiceDetails, exp: InvoiceExpectations
) -> InvoiceProblem | None:
    """The invoice is issued on or after the invoice notification."""
    if inv.issued_on >= exp.notified_on:
        return None
    return InvoiceProblem(
        rule="issued_before_notification",
        message=f"the invoice is dated {inv.issued_on}, before the invoice notification of "
        f"{exp.notified_on}; issue a new invoice dated on or after the notification",
    )


def not_issued_in_future(inv: InvoiceDetails, exp: InvoiceExpectations) -> InvoiceProblem | None:
    """An invoice cannot be dated after the day it is submitted (PartnerFlow's default)."""
    if inv.issued_on <= exp.today:
        return None
    return InvoiceProblem(
        rule="issued_in_future",
        message=f"the invoice is dated {inv.issued_on}, after today ({exp.today}); "
        "check the issue date",
    )


def number_not_used(inv: InvoiceDetails, exp: InvoiceExpectations) -> InvoiceProblem | None:
    """An invoice number is unique across all payouts: one invoice never covers two (the vendor's rule)."""
    used_by = exp.numbers_in_use.get(inv.invoice_number)
    if used_by is None:
        return None
    where = "this payout" if used_by == exp.payout_id else f"payout {used_by}"
    return InvoiceProblem(
        rule="invoice_number_used",
        message=f"invoice number {inv.invoice_number} was already accepted for {where}; "
        "one invoice never covers two payouts: submit a different invoice",
    )


InvoiceRule = Callable[[InvoiceDetails, InvoiceExpectations], InvoiceProblem | None]

RULES: tuple[InvoiceRule, ...] = (
    special_invoice_required,
    buyer_title_matches,
    buyer_tax_id_matches,
    seller_name_matches,
    seller_tax_id_matches,
    amounts_add_up,
    total_within_payout,
    issued_after_notification,
    not_issued_in_future,
    number_not_used,
)


def verify_invoice(inv: InvoiceDetails, exp: InvoiceExpectations) -> list[InvoiceProblem]:
    """Every rule that refuses the invoice (empty: accepted)."""
    return [p for rule in RULES if (p := rule(inv, exp)) is not None]


def describe_problems(problems: list[InvoiceProblem]) -> str:
    """One sentence per problem, for messages and audit."""
    return "; ".join(p.message for p in problems)
