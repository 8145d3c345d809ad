"""A step's records in one transaction (workflows/steps.py): written together, once per key on
a retry, and not at all when any part of the step fails."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from activities.onboarding import FakeBankVerifier, OnboardingActivities
from activities.tasks import TaskActivities
from domain.onboarding_models import RecordBusinessInfo
from domain.parties import Role
from domain.tasks import AuditRecord, Bookkeeping, CloseTask, OpenTask
from infra.tables import AuditEvent, HumanTask

Sessions = async_sessionmaker[AsyncSession]
AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _task(key: str) -> OpenTask:
    return OpenTask(
        key=key,
        kind="k",
        title=f"task {key}",
        workflow_id="wf-1",
        assignee_role=Role.OPS,
        created_at=AT,
    )


def _event(key: str) -> AuditRecord:
    return AuditRecord(key=key, workflow_id="wf-1", event="e", actor="ops-1", occurred_at=AT)


async def _tasks(sessions: Sessions) -> dict[str, str]:
    async with sessions() as s:
        rows = (await s.execute(select(HumanTask.idempotency_key, HumanTask.status))).all()
    return {key: status for key, status in rows}


async def _events(sessions: Sessions) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


async def test_a_step_writes_its_records_together_and_once(
    db_kind: str, sessions: Sessions
) -> None:
    acts = TaskActivities(sessions)
    await acts.record_step(Bookkeeping(open=[_task("a")], audit=[_event("opened-a")]))
    handover = Bookkeeping(
        close=[CloseTask(key="a", status="done", decision="ok", decided_by="u", decided_at=AT)],
        open=[_task("b")],
        audit=[_event("decided-a")],
    )
    await acts.record_step(handover)
    await acts.record_step(handover)  # a retry after a commit whose answer was lost
    assert await _tasks(sessions) == {"a": "done", "b": "open"}
    assert await _events(sessions) == 2


async def test_a_step_that_fails_writes_nothing(db_kind: str, sessions: Sessions) -> None:
    acts = TaskActivities(sessions)
    broken = Bookkeeping(
        open=[_task("c")],
        close=[CloseTask(key="missing", status="done", decided_at=AT)],
        audit=[_event("never")],
    )
    with pytest.raises(ApplicationError) as err:
        await acts.record_step(broken)
    assert err.value.type == "NotFoundError" and err.value.non_retryable
    assert await _tasks(sessions) == {} and await _events(sessions) == 0


async def test_the_state_row_and_its_step_commit_or_fail_together(
    db_kind: str, sessions: Sessions, tmp_path: Path
) -> None:
    # The row's activity carries the step: a row that cannot be written (no application with
    # that key) takes the step's task and event down with it.
    acts = OnboardingActivities(sessions, FakeBankVerifier(tmp_path / "bank"))
    row = RecordBusinessInfo(
        application_key="no-such-application",
        company_name="ACME",
        tax_id="91440000000000000Y",
        bank_name="Bank",
        bank_account="6222000011112222",
        account_holder="ACME",
        at=AT,
        step=Bookkeeping(open=[_task("d")], audit=[_event("submitted")]),
    )
    with pytest.raises(ApplicationError) as err:
        await acts.record_business_info(row)
    assert err.value.type == "NotFoundError"
    assert await _tasks(sessions) == {} and await _events(sessions) == 0
