"""Demo contexts for every email template: the demo data's partners and customers
(starter/demo.py), with the values workflows put into emails (times as ``fmt_utc`` writes
them, amounts as Decimal strings, enum values)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.mailer import TEMPLATE_DIR

# Names and ids of the demo data: proper names, shown as they are in every language.
PARTNER = "Hangzhou Cloudbridge Technology Co., Ltd."
CUSTOMER = "Acme Retail (Hangzhou)"
DISTRIBUTOR = "Beijing Great Wall Distribution Co., Ltd."

STATEMENT: dict[str, Any] = {
    "period": "2026-11",
    "partner_type": "solution_provider",
    "sites": [
        {
            "site": "china",
            "performance": "12345.60",
            "rate": "0.05",
            "incentive": "617.28",
            "lines": 4,
        },
        {
            "site": "overseas",
            "performance": "1000.00",
            "rate": "0.03",
            "incentive": "30.00",
            "lines": 1,
        },
    ],
    "excluded": [{"description": "consumption outside the month", "amount": "88.00", "lines": 2}],
    "gross_incentive": "647.28",
    "negative_incentive": "-12.00",
    "carried_in": "0.00",
    "deducted": "12.00",
    "payable": "635.28",
    "carried_out": "0.00",
}

BASE: dict[str, Any] = {
    "workflow_id": "invitation-P-1001-C-2001",
    "partner_name": PARTNER,
    "partner_id": "P-1001",
    "partner_uscc": "91440300MA5GNM8T17",
    "customer_name": CUSTOMER,
    "customer_id": "C-2001",
    "company_name": PARTNER,
    "uscc": "91440300MA5GNM8T17",
    "contact_name": "王伟",
    "contact_email": "admin@cloudbridge.example",
    "admin_name": "王伟",
    "admin_user_id": "u-cloudbridge-admin",
    "manager_name": "李娜",
    "recipient_name": CUSTOMER,
    "recipient": "customer",
    "applicant": "u-cloudbridge-admin",
    "accepted_by": "u-cloudbridge-admin",
    "requested_by": "u-acme-it",
    "decided_by": "u-acme-it",
    "claimed_by": "u-cloudbridge-sales",
    "distributor_name": DISTRIBUTOR,
    "binding_id": 42,
    "request_id": "unbinding-42-1",
    "mode": "resale",
    "to_mode": "resale",
    "kind": "unbind",
    "initiator": "partner",
    "what": "unbinding",
    "step": "business-information review",
    "status": "CLAIMED",
    "outcome": "will_renew",
    "method": "bank_transfer",
    "billing": "yearly",
    "partner_type": "solution_provider",
    "path": "software",
    "path_title": "Software Partner Path",
    "level": "role",
    "levels": ["role", "differentiation"],
    "certified": ["role"],
    "authorization_status": "REVOKED",
    "auto_decided": False,
    "expires_at": "2026-12-09 08:00 UTC",
    "due_at": "2026-12-07 08:00 UTC",
    "deadline": "2026-12-31 16:00 UTC",
    "valid_until": "2027-01-30 08:00 UTC",
    "release_at": "2026-12-03 00:00 UTC",
    "renewed_until": "2027-12-09",
    "invoice_due": "2027-01-15 16:00 UTC",
    "days_left": 7,
    "window_days": 30,
    "validity_days": 60,
    "wrong_entries": 3,
    "max_wrong_entries": 3,
    "amount": "1234.50",
    "remaining": "234.50",
    "invoiced": "1000.00",
    "recovered_amount": "300.00",
    "period": "2026-11",
    "order_id": "ORD-88001",
    "product": "ECS c7.2xlarge",
    "bank_name": "中国工商银行杭州分行",
    "bank_account": "6222 **** 1234",
    "payment_reference": "PAY-2026-11-0001",
    # Free text a person typed: in the reader's language in real life.
    "reason": "the validity period ended",
    "comment": "请补充营业执照",
    "note": "客户已授权",
    "purpose": "订单续订",
    "letter_version": "2026-1",
    "existing_partners": ["P-1002"],
    "statement": STATEMENT,
    "invoice_list": {
        "payout_id": "payout-P-1001-2026-11",
        "buyer_title": "Huawei Cloud Computing Technologies Co., Ltd.",
        "buyer_tax_id": "91520900MA6J6CBN9Q",
        "seller_name": PARTNER,
        "seller_tax_id": "91440300MA5GNM8T17",
        "amount": "1234.50",
    },
    "invoices": [{"invoice_number": "044001900111", "issued_on": "2026-12-05", "total": "1234.50"}],
    "dispositions": [
        {
            "voucher_id": "V-1",
            "kind": "voucher",
            "issuer": "partner",
            "amount": "50.00",
            "action": "recalled",
        }
    ],
    "others_on_path": ["P-1002"],
}

# What one template receives differently from the others.
PER_TEMPLATE: dict[str, dict[str, Any]] = {
    "console_signin": {
        "recipient_name": "Li Wei",
        "accounts": [
            {
                "id": "pa-1001",
                "name": "Li Wei",
                "url": "https://partners.example/signin/link/t1",
            }
        ],
    },
    "path_manager_task": {
        "decision": "certification:role",
        "what": "Approve role certification of P-1001 on the Software Partner Path",
    },
}

LINKS = (
    "accept_url",
    "decline_url",
    "approve_url",
    "reject_url",
    "cancel_url",
    "revoke_url",
    "unlock_url",
    "join_url",
    "sign_partner_url",
    "sign_integrity_url",
)


def email_names(template_dir: Path = TEMPLATE_DIR) -> list[str]:
    """Every email (a ``.txt.j2`` with its ``.html.j2``), without the shared pieces."""
    names = []
    for path in sorted((template_dir / "email").glob("*.txt.j2")):
        name = path.name.removesuffix(".txt.j2")
        if "macros" not in name and not name.startswith(("_", "base")):
            names.append(name)
    return names


def sample_context(name: str = "") -> dict[str, Any]:
    """The context of email ``name`` (links as they look once signed)."""
    context = {**BASE, **PER_TEMPLATE.get(name, {})}
    for link in LINKS:
        context[link] = f"https://partners.example/l/{link}.sig"
    from domain.authorizations import COMMITMENT_LETTER_TEXT

    context["letter_text"] = COMMITMENT_LETTER_TEXT
    return context


# The other branches of the templates' conditions (consulting, a switch raised by the customer,
# a voucher payout, nothing optional given).
VARIANT: dict[str, Any] = {
    "mode": "consulting",
    "to_mode": "consulting",
    "kind": "switch_mode",
    "what": "switch to consulting mode",
    "initiator": "customer",
    "recipient": "partner",
    "recipient_name": PARTNER,
    "method": "voucher",
    "outcome": "",
    "claimed_by": "",
    "comment": "",
    "note": "",
    "purpose": "",
    "reason": "the customer did not answer within the validity period",
    "release_at": "",
    "recovered_amount": "",
    "existing_partners": [],
    "dispositions": [],
    "approve_url": "",
    "step": "final approval",
    "path_title": "Service Partner Path",
    "auto_decided": True,
    "authorization_status": "EXPIRED",
}


def variant_context(name: str = "") -> dict[str, Any]:
    """``sample_context`` with every condition on its other branch."""
    variant = {**VARIANT}
    if name == "path_manager_task":
        variant["decision"] = "join_approval"
    return {**sample_context(name), **variant}
