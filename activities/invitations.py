"""Activities of the invitation workflow: fresh facts, the invitation row, the binding."""

from __future__ import annotations

import asyncio
import logging
from enum import Enum

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.errors import business_errors
from activities.notify import EmailActivities
from activities.parties import active_binding, customer_snapshot, partner_snapshot
from activities.tasks import apply_step
from domain.errors import NotFoundError
from domain.invitation_models import BindingOutcome, CreateBinding, LoadContext, RecordInvitation
from domain.invitations import (
    InvitationContext,
    Refusal,
    already_bound_here,
    binding_refusals,
)
from domain.parties import AssociationMode
from domain.tasks import Done
from infra.db import table_of, upsert
from infra.metrics import EMAILS
from infra.tables import Binding, Invitation

# What a later record of the same run changes (the first one inserts every column).
_RECORD_UPDATES = ("status", "sent_to", "expires_at", "decided_at", "decided_by", "reason")


log = logging.getLogger("partnerflow.activity")
# How long the acceptance emails may hold the decision up before the workflow's own send
# takes over (an SMTP outage must not stretch every acceptance by the SMTP timeout).
EARLY_SEND_WITHIN = 5.0

# Built once, bound at execution (see activities.parties).
_BINDINGS = table_of(Binding)
_BINDING_BY_KEY = select(_BINDINGS.c.id).where(_BINDINGS.c.idempotency_key == bindparam("key"))
_INSERT_BINDING = insert(_BINDINGS).returning(_BINDINGS.c.id)


class InvitationActivities:
    """Database work of the invitation workflow."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], outbox: EmailActivities | None = None
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox

    @activity.defn
    @business_errors
    async def load_invitation_context(self, req: LoadContext) -> InvitationContext:
        """Partner, customer and the customer's active binding, read now."""
        async with self._sessions() as s:
            return InvitationContext(
                partner=await partner_snapshot(s, req.partner_id),
                customer=await customer_snapshot(s, req.customer_id),
                active_binding=await active_binding(s, req.customer_id),
            )

    @activity.defn
    @business_errors
    async def record_invitation(self, req: RecordInvitation) -> Done:
        """Upserts the invitation row keyed by workflow run."""
        values = {
            name: value.value if isinstance(value, Enum) else value
            for name, value in req.model_dump(mode="python", exclude={"step"}).items()
        }
        async with self._sessions.begin() as s:
            await apply_step(s, req.step)
            await s.execute(upsert(s, Invitation, ["run_key"], _RECORD_UPDATES), values)
        return Done()

    @activity.defn
    @business_errors
    async def create_binding(self, req: CreateBinding) -> BindingOutcome:
        """Re-checks eligibility and writes the binding in one transaction; then sends
        ``req.notify`` at once (see :meth:`_notify_bound`).

        The partial unique index on active bindings settles a race between two partners: the
        loser's insert fails and it gets the "bound to another partner" refusal.
        """
        outcome = await self._bind(req)
        if outcome.binding_id is not None and not outcome.already_bound:
            await self._notify_bound(req, outcome.binding_id)
        return outcome

    async def _notify_bound(self, req: CreateBinding, binding_id: int) -> None:
        """Sends the acceptance emails now, through the outbox, instead of one workflow task
        and one activity round later: the customer hears within the decision's own round.

        Best effort, and bounded: the workflow sends the same keys afterwards with its own
        retries (an SMTP outage, a bounce), and an outbox key is sent once.
        """
        if self._outbox is None:
            return
        for email in req.notify:
            email = email.model_copy(
                update={"context": {**email.context, "binding_id": binding_id}}
            )
            try:
                result = await asyncio.wait_for(self._outbox.send_email(email), EARLY_SEND_WITHIN)
            except Exception as exc:
                log.info(
                    "%s: sent later by the workflow (%s: %s)", email.key, type(exc).__name__, exc
                )
                return
            EMAILS.labels(email.template, result.status).inc()

    async def _bind(self, req: CreateBinding) -> BindingOutcome:
        try:
            async with self._sessions.begin() as s:
                existing = await s.scalar(_BINDING_BY_KEY, {"key": req.key})
                if existing is not None:  # a retry after the commit
                    return BindingOutcome(binding_id=existing)
                partner = await partner_snapshot(s, req.partner_id)
                customer = await customer_snapshot(s, req.customer_id)
                if partner is None or customer is None:
                    raise NotFoundError(
                        f"partner {req.partner_id} or customer {req.customer_id} no longer exists"
                    )
                bound = await active_binding(s, req.customer_id)
                if already_bound_here(req.partner_id, bound):
                    assert bound is not None
                    return BindingOutcome(binding_id=bound.id, already_bound=True)
                refusals = binding_refusals(partner, customer, req.mode, bound)
                if refusals:
                    return BindingOutcome(refusals=refusals)
                binding_id = await s.scalar(
                    _INSERT_BINDING,
                    {
                        "idempotency_key": req.key,
                        "partner_id": req.partner_id,
                        "customer_id": req.customer_id,
                        "mode": req.mode.value,
                        "status": "active",
                        "awaiting_budget": req.mode == AssociationMode.RESALE,
                        "created_by": req.decided_by,
                        "started_at": req.at,
                        "workflow_id": req.workflow_id,
                    },
                )
                return BindingOutcome(binding_id=binding_id)
        except IntegrityError:
            async with self._sessions() as s:
                mine = await s.scalar(_BINDING_BY_KEY, {"key": req.key})
                if mine is not None:
                    return BindingOutcome(binding_id=mine)
            return BindingOutcome(
                refusals=[
                    Refusal(
                        rule="bound_to_other_partner",
                        message=f"customer {req.customer_id} was bound to another partner "
                        "meanwhile: a customer has one partner",
                    )
                ]
            )
