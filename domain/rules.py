"""The one registry of rule ids: every refusal, business error and CLI error names one of these.

A rule id is snake_case and stable: scripts read it from ``--json`` output (``"rule"``), the
web console and emails show the message beside it. ``tests/unit/test_rule_registry.py``
checks that every id the code raises or returns is listed here and is snake_case.
"""

from __future__ import annotations

import re

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")

# General ids of the domain error classes (domain/errors.py) when no specific rule applies.
GENERAL = frozenset(
    {
        "business_rule",
        "not_found",
        "permission_denied",
        "ineligible",
        "invalid_state",
        "invalid_input",
        "permanent_delivery_failure",
    }
)

# Who acts: the workflow looks the actor up before a decision takes effect (workflows/common.py).
ACTORS = frozenset({"actor_not_verified"})

# Decisions inside a workflow (workflows/guard.py): a stuck activity, a broken invariant.
GUARD = frozenset({"decision_timed_out", "internal_invariant"})

# Binding and invitation eligibility (domain/invitations.py) and the invitation CLI.
INVITATIONS = frozenset(
    {
        "already_bound",
        "bound_to_other_partner",
        "consulting_not_permitted",
        "credit_account_no_resale",
        "customer_is_partner",
        "customer_not_found",
        "eligibility",
        "enterprise_account",
        "in_reward_programme",
        "not_partner_user",
        "partner_not_active",
        "partner_not_found",
        "partner_type_has_no_sub_customers",
        "recharge_bonus",
        "reported_by_direct_sales",
        "reserved_instances",
        "special_contract",
        "still_pending",
        "stored_value_card",
    }
)

# Unbinding and association-type switch (domain/unbinding.py).
UNBINDING = frozenset(
    {
        "account_frozen",
        "approval_rechecked",
        "arrears",
        "binding_ended",
        "binding_not_found",
        "customer_cannot_switch",
        "customer_decides",
        "enterprise_master_with_members",
        "frequency_limit",
        "mode_changed",
        "no_partner_admin",
        "not_a_party",
        "not_initiator",
        "not_bound_to_partner",
        "not_resale",
        "orders_awaiting_partner_payment",
        "partner_admin_decides",
        "partner_admin_only",
        "reserved_instances_or_support_plan",
        "same_mode",
        "unused_pickup_vouchers",
    }
)

# Incentive payouts and invoice verification (domain/incentives.py, domain/invoices.py).
INCENTIVES = frozenset(
    {
        "amounts_do_not_add_up",
        "buyer_tax_id_mismatch",
        "buyer_title_mismatch",
        "invoice_number_used",
        "issued_before_notification",
        "issued_in_future",
        "not_certified",
        "not_partner",
        "not_vendor",
        "payout_exists",
        "payout_not_startable",
        "seller_name_mismatch",
        "seller_tax_id_mismatch",
        "special_invoice_required",
        "total_exceeds_payout",
    }
)

# Renewal tasks and customer authorization (domain/renewals.py, domain/authorizations.py).
RENEWALS = frozenset(
    {
        "authorization_refused",
        "commitment_letter_required",
        "distributor_has_no_admin",
        "distributor_not_active",
        "not_ops",
        "partner_payment",
        "party_not_found",
        "reseller_without_distributor",
    }
)

# Onboarding, certification and development paths (domain/onboarding.py, certification.py).
ONBOARDING = frozenset(
    {
        "application_open",
        "bank_locked",
        "case_exists",
        "certificate_exists",
        "certification_threshold_not_met",
        "earlier_level_first",
        "invalid_uscc",
        "no_such_level",
        "path_not_open",
        "path_refused",
        "service_certificates",
        "service_cloud_cases",
        "service_hcips_without_hcia",
        "service_path_once_per_company",
        "service_persons",
        "software_differentiation_advanced",
        "software_role_solutions",
        "wrong_amount",
    }
)

# The CLI contract (starter/): bad input, Temporal and configuration problems.
CLI = frozenset(
    {
        "already_decided",
        "already_running",
        "internal_error",
        "invalid_configuration",
        "invalid_duration",
        "invalid_file",
        "invalid_rows",
        "no_worker",
        "refused",
        "schedule_missing",
        "temporal_unreachable",
        "unknown_decision",
        "unknown_user",
        "user_inactive",
        "role_not_allowed",
        "workflow_finished",
        "workflow_not_running",
        "bank_unavailable",
        "demo_data_in_production",
        "payment_gateway_unavailable",
    }
)

# The JSON API (starter/console/api*.py): personal tokens, task decisions, pagination.
API = frozenset(
    {
        "claim_refused",
        "decision_refused",
        "http_error",
        "invalid_cursor",
        "invoice_not_accepted",
        "method_not_allowed",
        "task_closed",
        "reassign_not_allowed",
        "reassignee_out_of_scope",
        "task_held",
        "task_not_held",
        "token_expired",
        "token_invalid",
        "token_missing",
        "token_revoked",
        "unknown_token",
    }
)

# "<area>_<status>": a decision on a workflow that has already ended ("invitation_accepted").
STATUS_AREAS = frozenset(
    {"invitation", "request", "payout", "renewal", "authorization", "application"}
)

RULES = (
    GENERAL
    | ACTORS
    | GUARD
    | INVITATIONS
    | UNBINDING
    | INCENTIVES
    | RENEWALS
    | ONBOARDING
    | CLI
    | API
)


def status_rule(area: str, status: str) -> str:
    """The rule id of a decision refused because the workflow already ended in ``status``."""
    if area not in STATUS_AREAS:
        raise ValueError(f"unknown status area {area!r}")
    return f"{area}_{status.lower()}"


def is_registered(rule: str) -> bool:
    """True for a listed id, or ``<area>_<status>`` of a known area; always snake_case."""
    if not SNAKE_CASE.match(rule):
        return False
    if rule in RULES:
        return True
    area = rule.split("_", 1)[0]
    return area in STATUS_AREAS and "_" in rule


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def rule_from_type(type_name: str) -> str:
    """A snake_case id for an error type name (``BankUnavailableError`` -> ``bank_unavailable``)."""
    if SNAKE_CASE.match(type_name):
        return type_name
    snake = _CAMEL.sub("_", type_name).lower()
    return snake.removesuffix("_error") or "business_rule"
