"""Builds every activity object once from its dependencies (the worker's composition root)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.invitations import InvitationActivities
from activities.notify import EmailActivities
from activities.tasks import TaskActivities
from infra.config import Settings
from infra.links import LinkSigner
from infra.mailer import EmailRenderer, SmtpConfig, SmtpMailer


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
        mailer=SmtpMailer(
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=settings.smtp_password,
                starttls=settings.smtp_starttls,
                timeout=settings.smtp_timeout_seconds,
            )
        ),
        renderer=EmailRenderer(),
        signer=LinkSigner(settings.link_secret, settings.public_base_url),
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
    )
    tasks = TaskActivities(deps.sessions)
    invitations = InvitationActivities(deps.sessions)
    return [
        email.send_email,
        tasks.open_task,
        tasks.close_task,
        tasks.record_audit,
        invitations.load_invitation_context,
        invitations.record_invitation,
        invitations.create_binding,
    ]
