"""Builds every activity object once from its dependencies (the worker's composition root)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.actors import ActorActivities
from activities.incentives import IncentiveActivities
from activities.invitations import InvitationActivities
from activities.notify import EmailActivities
from activities.onboarding import (
    DevelopmentPathActivities,
    OnboardingActivities,
    bank_verifier_for,
)
from activities.payments import PaymentActivities, gateway_for
from activities.renewals import AuthorizationActivities, RenewalActivities
from activities.tasks import TaskActivities
from activities.unbinding import UnbindingActivities
from infra.config import Settings
from infra.links import LinkSigner
from infra.mailer import EmailRenderer, SmtpConfig, SmtpMailer
from infra.tracing import TracedSmtpMailer


@dataclass(kw_only=True)
class Deps:
    """What activities need from the outside world."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    mailer: SmtpMailer
    renderer: EmailRenderer
    signer: LinkSigner


def build_deps(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> Deps:
    """The default dependencies for these settings."""
    return Deps(
        settings=settings,
        sessions=sessions,
        mailer=TracedSmtpMailer(
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=settings.smtp_password,
                starttls=settings.smtp_starttls,
                timeout=settings.smtp_timeout_seconds,
                pool_size=settings.smtp_pool_size,
            )
        ),
        renderer=EmailRenderer(),
        signer=LinkSigner(settings.link_secret, settings.public_base_url, settings.link_ttl),
    )


def build_activities(deps: Deps) -> list[Callable[..., Any]]:
    """Every activity method, bound to its object."""
    email = EmailActivities(
        deps.sessions,
        deps.mailer,
        deps.renderer,
        deps.signer,
        sender=deps.settings.mail_from,
        message_id_domain=deps.settings.message_id_domain,
        default_locale=deps.settings.default_locale,
    )
    tasks = TaskActivities(deps.sessions)
    actors = ActorActivities(deps.sessions)
    onboarding = OnboardingActivities(
        deps.sessions,
        bank_verifier_for(deps.settings.environment, deps.settings.fake_bank_dir),
        min_amount=deps.settings.onboarding_bank_min_amount,
        max_amount=deps.settings.onboarding_bank_max_amount,
    )
    paths = DevelopmentPathActivities(deps.sessions)
    renewals = RenewalActivities(deps.sessions)
    authorizations = AuthorizationActivities(deps.sessions)
    invitations = InvitationActivities(deps.sessions, outbox=email)
    unbinding = UnbindingActivities(deps.sessions)
    incentives = IncentiveActivities(deps.sessions, deps.settings.incentive_rates)
    payments = PaymentActivities(deps.sessions, gateway_for(deps.settings.payment_gateway))
    return [
        renewals.find_renewal_candidates,
        renewals.start_renewals,
        renewals.load_renewal_context,
        renewals.check_renewal_subscription,
        renewals.record_renewal,
        authorizations.load_authorization_context,
        authorizations.find_authorization,
        authorizations.accept_commitment_letter,
        authorizations.record_authorization,
        email.send_email,
        tasks.open_task,
        tasks.close_task,
        tasks.record_audit,
        tasks.record_step,
        actors.verify_actor,
        onboarding.load_onboarding_context,
        onboarding.record_application,
        onboarding.record_business_info,
        onboarding.start_bank_deposit,
        onboarding.check_bank_amount,
        onboarding.unlock_bank,
        onboarding.record_signature,
        onboarding.activate_partner,
        onboarding.release_applicant,
        onboarding.role_recipients,
        paths.load_path_context,
        paths.join_path,
        paths.update_membership,
        paths.load_path_facts,
        paths.record_certification,
        invitations.load_invitation_context,
        invitations.record_invitation,
        invitations.create_binding,
        unbinding.load_change_context,
        unbinding.record_change_request,
        unbinding.recover_allocated_balance,
        unbinding.dispose_customer_vouchers,
        unbinding.apply_change_decision,
        incentives.open_payout,
        incentives.record_payout,
        incentives.compute_incentive,
        incentives.bill_status,
        incentives.load_partner,
        incentives.staff_contacts,
        incentives.record_invoice,
        incentives.issue_voucher,
        incentives.credit_recharge_account,
        incentives.list_active_partners,
        payments.pay_bank_transfer,
    ]
