"""Activities of the unbinding workflow: fresh facts, the request row, balance recovery,
voucher disposition and the decision with its effect on the binding (each idempotent)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.errors import business_errors
from activities.parties import customer_snapshot, partner_snapshot
from domain.errors import InvalidStateError, NotFoundError
from domain.parties import AssociationMode, Role
from domain.unbinding import (
    BindingFacts,
    ChangeContext,
    Contact,
    Disposition,
    DispositionAction,
    HeldVoucher,
    Initiator,
    RequestStatus,
    VoucherIssuer,
    VoucherKind,
    disposition_for,
    recoverable_amount,
)
from domain.unbinding_models import (
    ApplyChangeDecision,
    ChangeApplied,
    ChangeRequestRef,
    DisposeVouchers,
    Dispositions,
    LoadChangeContext,
    RecordChangeRequest,
    RecoverBalance,
    RecoveryResult,
)
from infra.db import insert_ignore
from infra.tables import Binding, User
from infra.tables.unbinding import (
    BalanceRecovery,
    BindingChangeRequest,
    CustomerVoucher,
    VoucherDisposition,
)

# What a disposition does to the voucher row.
_VOUCHER_STATUS = {
    DispositionAction.RECALLED: "recalled",
    DispositionAction.RETURNED_TO_ISSUER: "returned",
}


async def change_context(s: AsyncSession, binding_id: int) -> ChangeContext:
    """Binding, partner, customer, the earlier requests and the partner's admins, read now.

    Shared by the activity and the CLI's pre-check, so both apply the rules to the same facts.
    """
    row = await s.get(Binding, binding_id, populate_existing=True)
    if row is None:
        return ChangeContext(binding=None)
    binding = BindingFacts.model_validate(row, from_attributes=True)
    customer_times = (
        await s.scalars(
            select(BindingChangeRequest.created_at).where(
                BindingChangeRequest.customer_id == row.customer_id,
                BindingChangeRequest.initiator == Initiator.CUSTOMER.value,
            )
        )
    ).all()
    # The partner side's limit is per partner and customer: a previous partner's requests
    # do not count against a new one.
    partner_times = (
        await s.scalars(
            select(BindingChangeRequest.created_at).where(
                BindingChangeRequest.customer_id == row.customer_id,
                BindingChangeRequest.partner_id == row.partner_id,
                BindingChangeRequest.initiator == Initiator.PARTNER.value,
            )
        )
    ).all()
    admins = (
        await s.scalars(
            select(User)
            .where(
                User.partner_id == row.partner_id,
                User.role == Role.PARTNER_ADMIN.value,
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    ).all()
    return ChangeContext(
        binding=binding,
        partner=await partner_snapshot(s, row.partner_id),
        customer=await customer_snapshot(s, row.customer_id),
        partner_request_times=list(partner_times),
        customer_request_times=list(customer_times),
        partner_admins=[Contact(user_id=u.id, name=u.name, email=u.email) for u in admins],
    )


class UnbindingActivities:
    """Database work of the unbinding workflow."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn
    @business_errors
    async def load_change_context(self, req: LoadChangeContext) -> ChangeContext:
        """The facts the unbinding rules read, fresh from the database."""
        async with self._sessions() as s:
            return await change_context(s, req.binding_id)

    @activity.defn
    @business_errors
    async def record_change_request(self, req: RecordChangeRequest) -> ChangeRequestRef:
        """Writes the PENDING request once; a retry returns the same row."""
        async with self._sessions.begin() as s:
            await s.execute(
                insert_ignore(s, BindingChangeRequest, ["request_key"]).values(
                    request_key=req.key,
                    workflow_id=req.workflow_id,
                    binding_id=req.binding_id,
                    partner_id=req.partner_id,
                    customer_id=req.customer_id,
                    kind=req.kind.value,
                    initiator=req.initiator.value,
                    requested_by=req.requested_by,
                    reason=req.reason,
                    previous_mode=req.previous_mode.value,
                    new_mode=req.new_mode.value if req.new_mode else None,
                    status=RequestStatus.PENDING.value,
                    created_at=req.created_at,
                    expires_at=req.expires_at,
                    auto_decided=False,
                )
            )
            request_id = await s.scalar(
                select(BindingChangeRequest.id).where(BindingChangeRequest.request_key == req.key)
            )
        assert request_id is not None
        return ChangeRequestRef(id=request_id)

    @activity.defn
    @business_errors
    async def recover_allocated_balance(self, req: RecoverBalance) -> RecoveryResult:
        """Moves the binding's unused allocation into a recovery record, once per request.

        The record and the zeroed balance commit together; a retry finds the record and
        returns its amount without touching the balance again.
        """
        async with self._sessions.begin() as s:
            binding = await s.get(Binding, req.binding_id, populate_existing=True)
            if binding is None:
                raise NotFoundError(f"binding {req.binding_id} does not exist")
            amount = recoverable_amount(binding.allocated_balance)
            inserted = cast(
                CursorResult[Any],
                await s.execute(
                    insert_ignore(s, BalanceRecovery, ["request_id"]).values(
                        request_id=req.request_id,
                        binding_id=binding.id,
                        partner_id=binding.partner_id,
                        customer_id=binding.customer_id,
                        amount=amount,
                        recovered_at=req.at,
                    )
                ),
            )
            if inserted.rowcount == 1:
                await s.execute(
                    update(Binding)
                    .where(Binding.id == binding.id)
                    .values(allocated_balance=binding.allocated_balance - amount)
                )
            recorded = await s.scalar(
                select(BalanceRecovery.amount).where(BalanceRecovery.request_id == req.request_id)
            )
        assert recorded is not None
        return RecoveryResult(amount=recorded)

    @activity.defn
    @business_errors
    async def dispose_customer_vouchers(self, req: DisposeVouchers) -> Dispositions:
        """Recalls the partner's vouchers, keeps the vendor's, returns cash coupons to their
        issuer; one disposition row per request and item, so a retry changes nothing."""
        async with self._sessions.begin() as s:
            held = (
                await s.scalars(
                    select(CustomerVoucher)
                    .where(
                        CustomerVoucher.customer_id == req.customer_id,
                        CustomerVoucher.status == "held",
                    )
                    .order_by(CustomerVoucher.id)
                    .execution_options(populate_existing=True)
                )
            ).all()
            for row in held:
                voucher = HeldVoucher.model_validate(row, from_attributes=True)
                action = disposition_for(voucher, req.partner_id)
                if action is None:
                    continue
                await s.execute(
                    insert_ignore(s, VoucherDisposition, ["request_id", "voucher_id"]).values(
                        request_id=req.request_id,
                        voucher_id=row.id,
                        action=action.value,
                        kind=row.kind,
                        issuer=row.issuer,
                        issuer_partner_id=row.issuer_partner_id,
                        amount=row.balance,
                        disposed_at=req.at,
                    )
                )
                if action in _VOUCHER_STATUS:
                    await s.execute(
                        update(CustomerVoucher)
                        .where(CustomerVoucher.id == row.id, CustomerVoucher.status == "held")
                        .values(status=_VOUCHER_STATUS[action], disposed_at=req.at)
                    )
            done = (
                await s.scalars(
                    select(VoucherDisposition)
                    .where(VoucherDisposition.request_id == req.request_id)
                    .order_by(VoucherDisposition.voucher_id)
                )
            ).all()
        return Dispositions(
            items=[
                Disposition(
                    voucher_id=d.voucher_id,
                    action=DispositionAction(d.action),
                    kind=VoucherKind(d.kind),
                    issuer=VoucherIssuer(d.issuer),
                    issuer_partner_id=d.issuer_partner_id,
                    amount=d.amount,
                )
                for d in done
            ]
        )

    @activity.defn
    @business_errors
    async def apply_change_decision(self, req: ApplyChangeDecision) -> ChangeApplied:
        """Stores the decision and ends the binding (or switches its mode) atomically.

        A retry after the commit finds the request already decided and changes nothing.
        """
        async with self._sessions.begin() as s:
            row = await s.get(BindingChangeRequest, req.request_id, populate_existing=True)
            if row is None:
                raise NotFoundError(f"change request {req.request_id} does not exist")
            if row.status != RequestStatus.PENDING.value:
                return ChangeApplied(status=RequestStatus(row.status))
            if req.effect == "end_binding":
                changed = cast(
                    CursorResult[Any],
                    await s.execute(
                        update(Binding)
                        .where(Binding.id == req.binding_id, Binding.status == "active")
                        .values(
                            status="ended",
                            ended_at=req.decided_at,
                            ended_by=req.decided_by or "system",
                            ended_reason=req.ended_reason,
                            awaiting_budget=False,
                        )
                    ),
                )
                if changed.rowcount != 1:
                    raise InvalidStateError(f"binding {req.binding_id} is no longer active")
            elif req.effect == "switch_mode":
                assert req.new_mode is not None
                changed = cast(
                    CursorResult[Any],
                    await s.execute(
                        update(Binding)
                        .where(
                            Binding.id == req.binding_id,
                            Binding.status == "active",
                            Binding.mode == req.previous_mode.value,
                        )
                        .values(
                            mode=req.new_mode.value,
                            # resale: frozen until the partner sets the budget, as when bound
                            awaiting_budget=req.new_mode == AssociationMode.RESALE,
                        )
                    ),
                )
                if changed.rowcount != 1:
                    raise InvalidStateError(
                        f"binding {req.binding_id} is no longer active in "
                        f"{req.previous_mode.value} mode"
                    )
            await s.execute(
                update(BindingChangeRequest)
                .where(BindingChangeRequest.id == row.id)
                .values(
                    status=req.status.value,
                    decided_by=req.decided_by,
                    decided_at=req.decided_at,
                    decision_comment=req.comment,
                    auto_decided=req.auto_decided,
                )
            )
        return ChangeApplied(status=req.status)
