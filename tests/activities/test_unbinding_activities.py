"""Each unbinding activity run twice with the same request: one row, one effect
(on SQLite, and on PostgreSQL when it is up)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from activities.registry import Deps
from activities.unbinding import UnbindingActivities
from domain.parties import AssociationMode, Role
from domain.unbinding import ChangeKind, DispositionAction, Initiator, RequestStatus
from domain.unbinding_models import (
    ApplyChangeDecision,
    DisposeVouchers,
    LoadChangeContext,
    RecordChangeRequest,
    RecoverBalance,
)
from infra.tables import Binding
from infra.tables.unbinding import (
    BalanceRecovery,
    BindingChangeRequest,
    CustomerVoucher,
    VoucherDisposition,
)
from tests.factories import add_binding, add_customer, add_partner, add_user

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def count(sessions: Sessions, table: type) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(table)) or 0)


async def bound(
    sessions: Sessions, mode: str = "resale", allocated: str = "800.00", partner: str = "P-1"
) -> int:
    return await add_binding(
        sessions, partner, "C-1", mode, allocated, started_at=NOW - timedelta(days=100)
    )


@pytest.fixture
async def acts(deps: Deps, sessions: Sessions, db_kind: str) -> UnbindingActivities:
    await add_partner(sessions, "P-1")
    await add_customer(sessions, "C-1")
    return UnbindingActivities(deps.sessions)


def record(
    binding_id: int, key: str = "binding-change-1/run-1", **kw: object
) -> RecordChangeRequest:
    values: dict[str, object] = dict(
        key=key,
        workflow_id="binding-change-1",
        binding_id=binding_id,
        partner_id="P-1",
        customer_id="C-1",
        kind=ChangeKind.UNBIND,
        initiator=Initiator.PARTNER,
        requested_by="pa-1",
        previous_mode=AssociationMode.RESALE,
        created_at=NOW,
        expires_at=NOW + timedelta(days=7),
    )
    values.update(kw)
    return RecordChangeRequest.model_validate(values)


async def test_record_change_request_writes_one_row(
    acts: UnbindingActivities, sessions: Sessions
) -> None:
    b = await bound(sessions)
    first = await acts.record_change_request(record(b))
    second = await acts.record_change_request(record(b))
    assert first.id == second.id
    assert await count(sessions, BindingChangeRequest) == 1


async def test_recover_allocated_balance_once_per_request(
    acts: UnbindingActivities, sessions: Sessions
) -> None:
    b = await bound(sessions, allocated="800.10")
    ref = await acts.record_change_request(record(b))
    req = RecoverBalance(request_id=ref.id, binding_id=b, at=NOW)
    first = await acts.recover_allocated_balance(req)
    # money allocated after the recovery must not be swept up by a retry of the same request
    async with sessions.begin() as s:
        row = await s.get(Binding, b)
        assert row is not None
        row.allocated_balance = Decimal("5.00")
    second = await acts.recover_allocated_balance(req)
    assert first.amount == second.amount == Decimal("800.10")
    assert await count(sessions, BalanceRecovery) == 1
    async with sessions() as s:
        row = await s.get(Binding, b)
        assert row is not None and row.allocated_balance == Decimal("5.00")


async def test_dispose_vouchers_once_per_request_and_item(
    acts: UnbindingActivities, sessions: Sessions
) -> None:
    await add_partner(sessions, "P-9", uscc="91350100M000100Y43")
    b = await bound(sessions)
    ref = await acts.record_change_request(record(b))
    async with sessions.begin() as s:
        s.add_all(
            [
                CustomerVoucher(
                    id="V-P",
                    customer_id="C-1",
                    kind="voucher",
                    issuer="partner",
                    issuer_partner_id="P-1",
                    balance=Decimal("100"),
                ),
                CustomerVoucher(
                    id="V-V",
                    customer_id="C-1",
                    kind="voucher",
                    issuer="vendor",
                    balance=Decimal("50"),
                ),
                CustomerVoucher(
                    id="K-V",
                    customer_id="C-1",
                    kind="cash_coupon",
                    issuer="vendor",
                    balance=Decimal("5"),
                ),
                CustomerVoucher(
                    id="V-9",
                    customer_id="C-1",
                    kind="voucher",
                    issuer="partner",
                    issuer_partner_id="P-9",
                    balance=Decimal("7"),
                ),
                CustomerVoucher(
                    id="V-U",
                    customer_id="C-1",
                    kind="voucher",
                    issuer="partner",
                    issuer_partner_id="P-1",
                    balance=Decimal("0"),
                    status="used",
                ),
            ]
        )
    req = DisposeVouchers(request_id=ref.id, partner_id="P-1", customer_id="C-1", at=NOW)
    first = await acts.dispose_customer_vouchers(req)
    second = await acts.dispose_customer_vouchers(req)
    assert first == second
    assert {d.voucher_id: d.action for d in first.items} == {
        "V-P": DispositionAction.RECALLED,
        "V-V": DispositionAction.KEPT,
        "K-V": DispositionAction.RETURNED_TO_ISSUER,
    }
    assert await count(sessions, VoucherDisposition) == 3
    async with sessions() as s:
        found = (await s.execute(select(CustomerVoucher.id, CustomerVoucher.status))).all()
    status = {vid: st for vid, st in found}
    assert status == {
        "V-P": "recalled",
        "V-V": "held",
        "K-V": "returned",
        "V-9": "held",
        "V-U": "used",
    }


async def test_apply_decision_ends_the_binding_with_the_decision_atomically(
    acts: UnbindingActivities, sessions: Sessions
) -> None:
    b = await bound(sessions)
    ref = await acts.record_change_request(record(b))
    req = ApplyChangeDecision(
        request_id=ref.id,
        status=RequestStatus.APPROVED,
        decided_by="C-1",
        decided_at=NOW,
        effect="end_binding",
        binding_id=b,
        previous_mode=AssociationMode.RESALE,
        ended_reason="partner request 1: no reason given",
    )
    assert (await acts.apply_change_decision(req)).status == RequestStatus.APPROVED
    # a retry after the commit changes nothing, even with another time
    retry = req.model_copy(update={"decided_at": NOW + timedelta(minutes=1)})
    assert (await acts.apply_change_decision(retry)).status == RequestStatus.APPROVED
    async with sessions() as s:
        binding = await s.get(Binding, b)
        row = await s.get(BindingChangeRequest, ref.id)
    assert binding is not None and row is not None
    assert (binding.status, binding.ended_by, binding.ended_at) == ("ended", "C-1", NOW)
    assert (row.status, row.decided_by, row.decided_at) == ("APPROVED", "C-1", NOW)


async def test_apply_decision_refuses_a_binding_ended_meanwhile_and_records_nothing(
    acts: UnbindingActivities, sessions: Sessions
) -> None:
    b = await bound(sessions)
    ref = await acts.record_change_request(record(b))
    async with sessions.begin() as s:
        row = await s.get(Binding, b)
        assert row is not None
        row.status = "ended"
    req = ApplyChangeDecision(
        request_id=ref.id,
        status=RequestStatus.APPROVED,
        decided_by="C-1",
        decided_at=NOW,
        effect="end_binding",
        binding_id=b,
        previous_mode=AssociationMode.RESALE,
    )
    with pytest.raises(ApplicationError) as err:
        await acts.apply_change_decision(req)
    assert err.value.type == "InvalidStateError" and err.value.non_retryable
    async with sessions() as s:
        request = await s.get(BindingChangeRequest, ref.id)
    assert request is not None and request.status == "PENDING"


async def test_apply_decision_switches_the_mode(
    acts: UnbindingActivities, sessions: Sessions
) -> None:
    b = await bound(sessions, mode="consulting")
    ref = await acts.record_change_request(
        record(
            b,
            kind=ChangeKind.SWITCH_MODE,
            previous_mode=AssociationMode.CONSULTING,
            new_mode=AssociationMode.RESALE,
        )
    )
    req = ApplyChangeDecision(
        request_id=ref.id,
        status=RequestStatus.APPROVED,
        decided_by="C-1",
        decided_at=NOW,
        effect="switch_mode",
        binding_id=b,
        previous_mode=AssociationMode.CONSULTING,
        new_mode=AssociationMode.RESALE,
    )
    await acts.apply_change_decision(req)
    await acts.apply_change_decision(req)
    async with sessions() as s:
        binding = await s.get(Binding, b)
        row = await s.get(BindingChangeRequest, ref.id)
    assert binding is not None and (binding.mode, binding.status, binding.awaiting_budget) == (
        "resale",
        "active",
        True,
    )
    assert row is not None and (row.previous_mode, row.new_mode) == ("consulting", "resale")


async def test_context_counts_each_sides_requests_and_lists_the_admins(
    acts: UnbindingActivities, sessions: Sessions
) -> None:
    await add_user(sessions, "pa-1", Role.PARTNER_ADMIN, partner_id="P-1")
    await add_user(sessions, "ps-1", Role.PARTNER_STAFF, partner_id="P-1")
    await add_partner(sessions, "P-0", uscc="91350100M000100Y43")
    old = await bound(sessions, partner="P-0")
    async with sessions.begin() as s:
        row = await s.get(Binding, old)
        assert row is not None
        row.status = "ended"
    b = await bound(sessions)
    # the previous partner's request does not count against P-1
    await acts.record_change_request(record(old, key="old/1", partner_id="P-0"))
    await acts.record_change_request(record(b, key="a/1"))
    await acts.record_change_request(
        record(b, key="a/2", initiator=Initiator.CUSTOMER, requested_by="C-1")
    )
    ctx = await acts.load_change_context(LoadChangeContext(binding_id=b))
    assert ctx.binding is not None and ctx.binding.allocated_balance == Decimal("800.00")
    assert len(ctx.partner_request_times) == 1
    assert len(ctx.customer_request_times) == 1
    assert [a.user_id for a in ctx.partner_admins] == ["pa-1"]
    missing = await acts.load_change_context(LoadChangeContext(binding_id=9999))
    assert missing.binding is None
