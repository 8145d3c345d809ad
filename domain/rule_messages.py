"""The message of every rule id, in English; the catalogs (locales/) hold the translations.

A refusal shown in English keeps the detailed message it was raised with; in another language
the reader gets this rule's message from the catalog, so every id of ``domain.rules`` must be
here (tests/i18n checks it) and in both catalogs.
"""

from __future__ import annotations

from domain.text import N_

RULE_MESSAGES: dict[str, str] = {
    # General
    "business_rule": N_("A business rule refused the request."),
    "not_found": N_("The partner, customer, user, binding or workflow does not exist."),
    "permission_denied": N_("Your role or party does not allow this action."),
    "ineligible": N_("An eligibility rule refuses the request."),
    "invalid_state": N_("The request does not fit the current state."),
    "invalid_input": N_("The input is malformed."),
    "permanent_delivery_failure": N_("The mail server refused the message permanently."),
    "role_not_allowed": N_("Your role may not take this decision."),
    "unknown_decision": N_("This decision is not one the process knows."),
    "actor_not_verified": N_(
        "The acting user could not be verified: unknown, inactive or of another party."
    ),
    # Decisions inside a workflow (workflows/guard.py)
    "decision_timed_out": N_("The decision did not complete in time and was refused; try again."),
    "internal_invariant": N_("An internal consistency check failed."),
    # Association (binding) and invitations
    "already_bound": N_("The customer is already associated with this partner."),
    "bound_to_other_partner": N_(
        "The customer is already associated with another partner and cannot be associated again."
    ),
    "consulting_not_permitted": N_("This partner may not associate customers in consulting mode."),
    "credit_account_no_resale": N_(
        "The customer has a credit account and cannot be associated in resale mode."
    ),
    "customer_is_partner": N_(
        "The customer is a partner or is applying to be one, and cannot become a sub-customer."
    ),
    "customer_not_found": N_("The customer does not exist."),
    "eligibility": N_("The customer cannot be associated with the partner."),
    "enterprise_account": N_("Enterprise master or member accounts cannot be associated this way."),
    "in_reward_programme": N_(
        "The customer is in the vendor's reward-promotion programme and cannot be associated."
    ),
    "not_partner_user": N_("Only a user of this partner may do this."),
    "partner_not_active": N_("The partner is not active."),
    "partner_not_found": N_("The partner does not exist."),
    "partner_type_has_no_sub_customers": N_("This partner type has no sub-customers."),
    "recharge_bonus": N_("The customer has an unused recharge bonus balance."),
    "reported_by_direct_sales": N_(
        "The customer was reported by the vendor's direct sales and cannot be associated."
    ),
    "reserved_instances": N_("The customer has valid reserved instances."),
    "special_contract": N_("The customer has a special contract and cannot be associated."),
    "still_pending": N_("An invitation to this customer is still pending."),
    "stored_value_card": N_("The customer has an unused stored-value card."),
    # Unbinding and association-type switch
    "account_frozen": N_("The customer's account is frozen."),
    "approval_rechecked": N_(
        "The request was approved, but the rules refused it when they were checked again."
    ),
    "arrears": N_("The customer's account is in arrears."),
    "binding_ended": N_("The association has already ended."),
    "binding_not_found": N_("The association does not exist."),
    "customer_cannot_switch": N_(
        "The customer cannot switch the association type; only the partner administrator can."
    ),
    "customer_decides": N_("The customer decides this request."),
    "enterprise_master_with_members": N_(
        "An enterprise master account with independent member accounts cannot do this."
    ),
    "frequency_limit": N_("The limit on how often this request may be made has been reached."),
    "mode_changed": N_("The association type changed after the request was made."),
    "no_partner_admin": N_("The partner has no administrator to decide this request."),
    "not_a_party": N_("You are not a party to this association."),
    "not_initiator": N_("Only whoever raised the request may withdraw it."),
    "not_bound_to_partner": N_("The customer is not associated with this partner."),
    "not_resale": N_("The association is not in resale mode."),
    "orders_awaiting_partner_payment": N_(
        "The customer has orders awaiting the partner's payment."
    ),
    "partner_admin_decides": N_("The partner administrator decides this request."),
    "partner_admin_only": N_(
        "Only the partner administrator may unbind a customer or switch its association type."
    ),
    "reserved_instances_or_support_plan": N_(
        "The customer has valid reserved instances or a support plan."
    ),
    "same_mode": N_("The association is already of this type."),
    "unused_pickup_vouchers": N_("The customer has unused pickup vouchers."),
    # Incentives and invoices
    "amounts_do_not_add_up": N_("The invoice amounts do not add up."),
    "buyer_tax_id_mismatch": N_("The buyer's tax id on the invoice is not the vendor's."),
    "buyer_title_mismatch": N_("The buyer's title on the invoice is not the vendor's."),
    "invoice_number_used": N_("This invoice number has already been used."),
    "issued_before_notification": N_("The invoice was issued before the invoice notification."),
    "issued_in_future": N_("The invoice date is in the future."),
    "not_certified": N_("Business-info certification is not complete."),
    "not_partner": N_("Only the partner may do this."),
    "not_vendor": N_("Only the vendor's staff may do this."),
    "payout_exists": N_("A payout for this period already exists."),
    "payout_not_startable": N_("This payout cannot be started."),
    "seller_name_mismatch": N_("The seller's name on the invoice is not the partner's."),
    "seller_tax_id_mismatch": N_("The seller's tax id on the invoice is not the partner's."),
    "special_invoice_required": N_(
        "A VAT special invoice is required; ordinary invoices are refused."
    ),
    "total_exceeds_payout": N_("The invoices add up to more than the payout."),
    # Renewals and authorizations on the customer's behalf
    "authorization_refused": N_("The authorization to order on the customer's behalf was refused."),
    "commitment_letter_required": N_(
        "The commitment letter for operating on customers' behalf must be accepted first."
    ),
    "distributor_has_no_admin": N_("The distributor has no administrator to decide this request."),
    "distributor_not_active": N_("The distributor is not active."),
    "not_ops": N_("Only operations staff may do this."),
    "partner_payment": N_("The partner pays this order on the customer's behalf."),
    "party_not_found": N_("The partner or customer does not exist."),
    "reseller_without_distributor": N_("This cloud reseller has no distributor."),
    # Onboarding, certification and development paths
    "application_open": N_("An application for this unified social credit code is already open."),
    "bank_locked": N_("The bank verification is locked after too many wrong entries."),
    "case_exists": N_("This case has already been submitted."),
    "certificate_exists": N_("This certificate has already been recorded."),
    "certification_threshold_not_met": N_("The certification requirements are not met."),
    "earlier_level_first": N_("The earlier certification level must be reached first."),
    "invalid_uscc": N_("The unified social credit code is not valid."),
    "no_such_level": N_("This path has no such certification level."),
    "path_not_open": N_("This development path is not open to the partner."),
    "path_refused": N_("Joining this development path was refused."),
    "service_certificates": N_("The service path needs more individual certificates."),
    "service_cloud_cases": N_("The service path needs a cloud service case in the last 12 months."),
    "service_hcips_without_hcia": N_("Without an HCIA, four HCIP certificates are needed."),
    "service_path_once_per_company": N_("The service path may be chosen only once per company."),
    "service_persons": N_("The service path needs more certified persons."),
    "software_differentiation_advanced": N_(
        "Differentiation certification needs at least one advanced certified cloud software solution."
    ),
    "software_role_solutions": N_(
        "Role certification needs at least one certified cloud software solution."
    ),
    "wrong_amount": N_("The amount entered is not the amount deposited."),
    # The command line
    "already_decided": N_("This has already been decided."),
    "already_running": N_("This workflow is already running."),
    "internal_error": N_("An internal error occurred."),
    "invalid_configuration": N_("The configuration is not valid."),
    "invalid_duration": N_("The duration is not valid."),
    "invalid_file": N_("The file cannot be read."),
    "invalid_rows": N_("Some rows of the file are not valid; nothing was imported."),
    "no_worker": N_("No worker is running for this task queue."),
    "refused": N_("The request was refused."),
    "schedule_missing": N_("The schedule does not exist."),
    "temporal_unreachable": N_("The Temporal server cannot be reached."),
    "unknown_user": N_("The user does not exist."),
    "user_inactive": N_("The user is inactive."),
    "workflow_finished": N_("The workflow has already finished."),
    "workflow_not_running": N_("The workflow is not running."),
    "bank_unavailable": N_("The bank service is unavailable; try again later."),
    "demo_data_in_production": N_("Demo data cannot be loaded in production."),
    "payment_gateway_unavailable": N_("The payment gateway is unavailable; try again later."),
    # The JSON API
    "claim_refused": N_("The task cannot be claimed, released or reassigned now."),
    "decision_refused": N_("A business rule refused the decision; nothing was recorded."),
    "http_error": N_("The request cannot be served."),
    "invalid_cursor": N_("The cursor is not one this API gave out; start again without it."),
    "invoice_not_accepted": N_("The invoice was not accepted."),
    "method_not_allowed": N_("This method is not allowed here."),
    "task_closed": N_("This task is closed; nothing was recorded."),
    "task_held": N_("Someone else holds this task; nothing was recorded."),
    "task_not_held": N_("Nobody holds this task; it is already in the queue."),
    "reassign_not_allowed": N_(
        "Only ops, ecosystem managers and partner admins can reassign tasks."
    ),
    "reassignee_out_of_scope": N_("That user cannot act on this task; it waits for another queue."),
    "token_expired": N_("This API token has expired; make a new one."),
    "token_invalid": N_("This API token is not valid (unknown, or its user is inactive)."),
    "token_missing": N_("Send a personal API token: “Authorization: Bearer <token>”."),
    "token_revoked": N_("This API token was revoked; make a new one."),
    "unknown_token": N_("There is no API token with this id."),
}

# ``<area>_<status>`` ids: a decision on a workflow that has already ended.
STATUS_AREA_NAMES: dict[str, str] = {
    "invitation": N_("invitation"),
    "request": N_("request"),
    "payout": N_("payout"),
    "renewal": N_("renewal task"),
    "authorization": N_("authorization"),
    "application": N_("application"),
}
STATUS_MESSAGE = N_("The %(area)s has already ended (%(status)s).")

# Workflow statuses as readers see them (``<area>_<status>`` refusals, the console, emails).
STATUS_NAMES = (
    N_("ACCEPTED"),
    N_("ALREADY_BOUND"),
    N_("ALREADY_SETTLED"),
    N_("APPROVED"),
    N_("AWAITING_AMOUNT"),
    N_("AWAITING_APPLICATION"),
    N_("AWAITING_APPROVAL"),
    N_("AWAITING_AUTHORIZATION"),
    N_("AWAITING_BUSINESS_INFO"),
    N_("AWAITING_CUSTOMER"),
    N_("AWAITING_DISTRIBUTOR"),
    N_("AWAITING_INVOICE"),
    N_("AWAITING_SIGNATURES"),
    N_("BANK_LOCKED"),
    N_("CALCULATING"),
    N_("CANCELLED"),
    N_("CHANGES_REQUESTED"),
    N_("CHECKING"),
    N_("CLAIMED"),
    N_("DECLINED"),
    N_("EXPIRED"),
    N_("FROZEN"),
    N_("HELD"),
    N_("IN_REVIEW"),
    N_("LAPSED"),
    N_("LOST"),
    N_("NO_INCENTIVE"),
    N_("OPEN"),
    N_("PAID"),
    N_("PARTNER_PAYS"),
    N_("PENDING"),
    N_("REFUSED"),
    N_("REJECTED"),
    N_("RENEWED"),
    N_("REVOKED"),
    N_("STARTING"),
    N_("SUBMITTED"),
    N_("WILL_RENEW"),
    N_("WITHDRAWN"),
)
