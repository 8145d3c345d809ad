"""Links are bound to one decision: the run and task they were issued for, an expiry, one use.

Real worker on the time-skipping server, real database, real SMTP sink, the ASGI link server.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.registry import Deps
from domain.certification import CertificationAsk, CertLevel, DevelopmentPath, PathInvitation
from domain.invitations import InvitationRequest, InvitationStatus
from domain.notifications import LinkSpec
from domain.parties import Actor, AssociationMode, Decision, Role
from infra.config import Settings
from infra.links import InvalidLinkError
from infra.smtp_sink import MailSink
from infra.tables import Binding, Customer, LinkUse, User
from starter.web.links import create_app
from tests.factories import add_customer, add_partner, add_user
from tests.harness import eventually, finished
from workflows.development_path import DevelopmentPathWorkflow
from workflows.invitation import InvitationWorkflow

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def web(settings: Settings, client: Client) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, client=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def link_in_mail(mailbox: MailSink, to: str, subject: str, label: str, nth: int = 0) -> str:
    """The path of the link after ``label`` in the nth email to ``to`` whose subject has ``subject``."""

    async def find() -> str:
        mails = [m for m in mailbox.to(to) if subject in m.subject]
        assert len(mails) > nth
        found = re.search(rf"{label}\s+(http://links.test/a/\S+)", mails[nth].text())
        assert found
        return found.group(1).removeprefix("http://links.test")

    return await eventually(find)


async def uses(sessions: Sessions) -> list[LinkUse]:
    async with sessions() as s:
        return list((await s.scalars(select(LinkUse))).all())


async def start_invitation(
    client: Client, worker: Worker, wid: str, staff: Actor, mode: AssociationMode
) -> None:
    await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(partner_id="P-1", customer_id="C-1", mode=mode, requested_by=staff),
        id=wid,
        task_queue=worker.task_queue,
    )


async def test_old_link_of_a_cancelled_invitation_does_not_act_on_the_new_one(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    web: httpx.AsyncClient,
) -> None:
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1")
    wid = f"invitation-P-1-C-1-{uuid.uuid4().hex[:6]}"
    await start_invitation(client, worker, wid, staff, AssociationMode.RESALE)
    old = await link_in_mail(mailbox, "c-1@customer.test", "invites you", "Accept:")
    first = client.get_workflow_handle_for(InvitationWorkflow.run, wid)
    await first.execute_update(InvitationWorkflow.cancel, Decision(actor=staff, nonce="c-1"))
    assert (await finished(env, first)).status == InvitationStatus.CANCELLED

    # The partner invites the same customer again, in the other mode: a new run, same id.
    await start_invitation(client, worker, wid, staff, AssociationMode.CONSULTING)
    new = await link_in_mail(mailbox, "c-1@customer.test", "invites you", "Accept:", nth=1)
    current = client.get_workflow_handle_for(InvitationWorkflow.run, wid)

    fresh = await web.get(new)
    assert fresh.status_code == 200 and "This link works once, until " in fresh.text
    assert re.search(r"until [A-Z][a-z]+ \d{1,2}, \d{4} \d{1,2}:\d\d [AP]M UTC", fresh.text)
    assert "utc" not in fresh.text
    page = await web.get(old)
    assert page.status_code == 410 and "invitation this link came from is closed" in page.text
    assert "<form" not in page.text
    done = await web.post(old)
    assert done.status_code == 410
    assert "invitation this link came from is closed (CANCELLED" in done.text
    assert (await current.query(InvitationWorkflow.status)).status == InvitationStatus.PENDING
    async with sessions() as s:
        assert (await s.scalars(select(Binding))).all() == []

    # The new invitation's own link decides it, in the mode it was sent in.
    accepted = await web.post(new)
    assert accepted.status_code == 200 and "ACCEPTED" in accepted.text
    async with sessions() as s:
        bindings = (await s.scalars(select(Binding))).all()
    assert [(b.customer_id, b.mode) for b in bindings] == [("C-1", "consulting")]


async def test_refusal_at_acceptance_shows_a_refusal_page_and_uses_the_link(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    web: httpx.AsyncClient,
) -> None:
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1")
    wid = f"invitation-P-1-C-1-{uuid.uuid4().hex[:6]}"
    await start_invitation(client, worker, wid, staff, AssociationMode.RESALE)
    path = await link_in_mail(mailbox, "c-1@customer.test", "invites you", "Accept:")
    # Eligibility changes before the customer accepts: checked again at acceptance.
    async with sessions.begin() as s:
        await s.execute(
            update(Customer).where(Customer.id == "C-1").values(has_credit_account=True)
        )

    refused = await web.post(path)
    assert refused.status_code == 422
    assert "Done" not in refused.text and "Refused" in refused.text
    assert "credit account" in refused.text
    handle = client.get_workflow_handle_for(InvitationWorkflow.run, wid)
    assert (await finished(env, handle)).status == InvitationStatus.REFUSED
    [use] = await uses(sessions)
    assert use.outcome.startswith("Nothing was done") and "credit account" in use.outcome
    again = await web.post(path)
    assert again.status_code == 409 and "already used" in again.text
    async with sessions() as s:
        assert (await s.scalars(select(Binding))).all() == []


async def test_manager_approval_link_expires_and_a_refused_link_never_acts_later(
    client: Client,
    worker: Worker,
    settings: Settings,
    deps: Deps,
    sessions: Sessions,
    mailbox: MailSink,
    web: httpx.AsyncClient,
) -> None:
    await add_partner(sessions, "P-A", certified_solutions=1)
    admin = await add_user(sessions, "pa-a", Role.PARTNER_ADMIN, partner_id="P-A")
    manager = await add_user(sessions, "em-1", Role.ECOSYSTEM_MANAGER)
    handle = await client.start_workflow(
        DevelopmentPathWorkflow.run,
        PathInvitation(partner_id="P-A", path=DevelopmentPath.SOFTWARE, invited_by=manager),
        id=f"path-P-A-software-{uuid.uuid4().hex[:6]}",
        task_queue=worker.task_queue,
    )
    join = await link_in_mail(mailbox, "p-a@partner.test", "join", r"valid until [^)]*\):")
    joined = await web.post(join)
    assert joined.status_code == 200 and "JOINED" in joined.text
    signed_from = datetime.now(UTC)
    await handle.execute_update(
        DevelopmentPathWorkflow.request_certification,
        CertificationAsk(actor=admin, level=CertLevel.ROLE),
        id="ask-1",
    )
    approve = await link_in_mail(mailbox, "em-1@users.test", "To decide", "Approve:")

    # The approval has no business deadline, yet its link expires within the TTL.
    claims = deps.signer.verify(approve.removeprefix("/a/"))
    assert claims.expires_at is not None
    assert claims.expires_at <= datetime.now(UTC) + settings.link_ttl
    assert claims.expires_at >= signed_from + settings.link_ttl - timedelta(minutes=1)
    with pytest.raises(InvalidLinkError, match=r"expired on .* UTC"):
        deps.signer.verify(
            approve.removeprefix("/a/"), now=claims.expires_at + timedelta(seconds=1)
        )

    # Refused (the manager is deactivated): the link is used, and does not act later.
    async with sessions.begin() as s:
        await s.execute(update(User).where(User.id == "em-1").values(active=False))
    refused = await web.post(approve)
    assert refused.status_code == 403 and "deactivated" in refused.text
    async with sessions.begin() as s:
        await s.execute(update(User).where(User.id == "em-1").values(active=True))
    again = await web.post(approve)
    assert again.status_code == 409 and "already used" in again.text
    view = await handle.query(DevelopmentPathWorkflow.status)
    assert view.pending_step == "certification:role" and view.certified == []
    [use] = [u for u in await uses(sessions) if u.action == "approve"]
    assert use.actor == "em-1" and "deactivated" in use.outcome


async def test_a_link_signed_before_links_named_their_run_is_refused(
    client: Client,
    worker: Worker,
    deps: Deps,
    sessions: Sessions,
    mailbox: MailSink,
    web: httpx.AsyncClient,
) -> None:
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1")
    wid = f"invitation-P-1-C-1-{uuid.uuid4().hex[:6]}"
    await start_invitation(client, worker, wid, staff, AssociationMode.RESALE)
    await link_in_mail(mailbox, "c-1@customer.test", "invites you", "Accept:")
    unbound = deps.signer.url(
        LinkSpec(name="accept_url", workflow_id=wid, action="accept", actor_id="C-1", nonce="n")
    ).removeprefix("http://links.test")
    resp = await web.post(unbound)
    assert resp.status_code == 410 and "no longer works" in resp.text
    handle = client.get_workflow_handle_for(InvitationWorkflow.run, wid)
    assert (await handle.query(InvitationWorkflow.status)).status == InvitationStatus.PENDING


async def test_a_link_stays_usable_when_temporal_cannot_be_reached(
    settings: Settings, deps: Deps, sessions: Sessions
) -> None:
    down = settings.model_copy(
        update={"temporal_address": "127.0.0.1:1", "temporal_connect_wait_seconds": 0.5}
    )
    app = create_app(down)  # connects on first use, to a port where nothing listens
    path = deps.signer.url(
        LinkSpec(
            name="accept_url",
            workflow_id="invitation-P-1-C-1",
            run_id="run-1",
            action="accept",
            actor_id="C-1",
            nonce="n-down",
        )
    ).removeprefix("http://links.test")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as web:
        for _ in range(2):
            resp = await web.post(path)
            assert resp.status_code == 503 and "the link still works" in resp.text
            assert "127.0.0.1:1" not in resp.text
    [use] = await uses(sessions)
    assert use.outcome == "pending"
