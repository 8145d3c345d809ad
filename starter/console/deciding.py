"""Deciding a task, for the console's task page and the JSON API alike: who may decide now,
the payload from the form, the typed update, what the workflow's answer means, the comment.

Each front door words the outcome its own way (a page with a hint, a problem document); the
rules of deciding live here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from domain.parties import Actor
from infra.db import insert_ignore, utcnow
from infra.tables import AuditEvent, HumanTask
from starter.console import tasks as tk

Sessions = async_sessionmaker[AsyncSession]

MAX_COMMENT = 1000


class TaskHeldError(Exception):
    """Someone else has claimed the task: only they (or a reassignment) can decide it."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"{holder} holds this task")
        self.holder = holder


class OutcomeRefusedError(Exception):
    """The workflow answered, but with a refusal instead of the decision: a rule re-checked
    at the decision (``REFUSED``), or invoice verification (``accepted: false``)."""

    def __init__(self, reason: str, rules: list[str], *, invoice: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rules = rules
        self.invoice = invoice


def refused_outcome(result: Mapping[str, Any], action: tk.Action) -> OutcomeRefusedError | None:
    """The refusal in a workflow's answer, or None when the decision was recorded. A
    ``REFUSED`` status is the outcome asked for when the action says no (decline, reject)."""
    if str(result.get("status") or "") == "REFUSED" and not action.saying_no:
        refusals = list(result.get("refusals") or [])
        reason = str(result.get("reason") or "") or "; ".join(
            str(r.get("message")) for r in refusals if r.get("message")
        )
        rules = [str(r.get("rule")) for r in refusals if r.get("rule")]
        return OutcomeRefusedError(reason or "a business rule refused it", rules, invoice=False)
    if result.get("accepted") is False:
        problems = list(result.get("problems") or [])
        reason = "; ".join(str(p.get("message")) for p in problems) or "see the rules"
        rules = [str(p.get("rule")) for p in problems if p.get("rule")]
        return OutcomeRefusedError(reason, rules, invoice=True)
    return None


async def record_comment(
    sessions: Sessions, task: HumanTask, actor: Actor, nonce: str, text: str
) -> None:
    """The decider's comment on the timeline, under the decider's name (once per decision)."""
    async with sessions.begin() as s:
        await s.execute(
            insert_ignore(s, AuditEvent, ["idempotency_key"]).values(
                idempotency_key=f"{task.workflow_id}:comment:{nonce}"[:200],
                workflow_id=task.workflow_id,
                event="comment",
                actor=actor.user_id[:64],
                detail=f"{actor.name or actor.user_id} on '{task.title}': {text}"[:2000],
                occurred_at=utcnow(),
            )
        )


async def decide_task(
    sessions: Sessions,
    client: Client,
    actor: Actor,
    task: HumanTask,
    action: tk.Action,
    form: Mapping[str, str],
    nonce: str,
) -> dict[str, Any]:
    """Decides an open task in the actor's scope with ``action`` and returns the workflow's
    answer; the comment goes on the timeline once the decision is recorded.

    Raises TaskHeldError (claimed by someone else), ``tasks.FormError`` (field errors),
    RefusedError (a rule refused; nothing recorded), CliError (Temporal unavailable),
    OutcomeRefusedError (the answer is a refusal).
    """
    if task.assignee_user not in (None, actor.user_id):
        raise TaskHeldError(task.assignee_user)
    body = tk.payload(action, actor, form, nonce)
    result = await tk.decide(client, task.workflow_id, action, body, nonce)
    refusal = refused_outcome(result, action)
    if refusal is not None:
        raise refusal
    comment = str(form.get("comment") or "").strip()[:MAX_COMMENT]
    if comment:
        await record_comment(sessions, task, actor, nonce, comment)
    return result
