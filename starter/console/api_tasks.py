"""``/api/tasks``: the inbox, one task, claim / release / reassign, and deciding.

The same services and rules as the console's task pages (``starter.services.tasks``, the
task kinds of ``starter.console.tasks``): the token's user is the actor, a task outside the
actor's scope is 404 like a missing one, and the workflow's validators decide what is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from infra.db import utcnow
from infra.i18n import N_
from infra.tables import HumanTask
from starter.console import deciding as dc
from starter.console import inbox as ib
from starter.console import tasks as tk
from starter.console.api_base import (
    PROBLEMS,
    ApiProblem,
    Caller,
    CallerDep,
    ContextDep,
    FieldProblem,
    from_cli_error,
)
from starter.services.errors import CliError
from starter.services.task_pages import MAX_PAGE, Holder, TaskState, tasks_page
from starter.services.tasks import task_in_scope

router = APIRouter(prefix="/tasks", tags=["tasks"], responses=PROBLEMS)

# The fields each decision form reads (``starter.console.tasks.BUILDERS``).
FORM_FIELDS: dict[str, tuple[str, ...]] = {
    "decision": ("comment",),
    "method": ("method",),
    "invoice": (
        "invoice_number",
        "invoice_type",
        "buyer_title",
        "buyer_tax_id",
        "seller_name",
        "seller_tax_id",
        "amount_excl_tax",
        "tax_amount",
        "total",
        "issued_on",
    ),
    "amount": ("amount",),
    "business_info": (
        "company_name",
        "tax_id",
        "registered_address",
        "bank_name",
        "bank_account",
        "account_holder",
    ),
    "feedback": ("outcome", "reason", "accept_commitment_letter"),
}


class ActionOut(BaseModel):
    """A decision the task offers: its name for `decide`, and the fields it reads."""

    name: str
    label: str
    form: str
    fields: list[str]
    saying_no: bool = Field(description="A refusal in the answer is the outcome asked for.")


class TaskOut(BaseModel):
    """A human task as its inbox line and task page show it."""

    id: int
    kind: str
    title: str
    ask: str
    workflow_id: str
    business_object: str
    queue: str
    assignee_user: str | None
    status: str
    due_at: datetime | None
    due_text: str
    overdue: bool
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    actions: list[ActionOut]
    elsewhere: str | None = Field(None, description="For kinds decided elsewhere: what to do.")


class TaskDetailOut(TaskOut):
    """One task with the facts its workflow reports (its `status` query)."""

    facts: dict[str, Any]


class TaskPageOut(BaseModel):
    """A page of tasks; pass `next_cursor` as `cursor` for the next one."""

    items: list[TaskOut]
    next_cursor: str | None


class ReassignIn(BaseModel):
    """Whom to hand the task to."""

    to: str = Field(min_length=1, max_length=64, description="A user id.")


FieldValue = str | int | float | bool


class DecideIn(BaseModel):
    """A decision on a task: one of the task's `actions` and the fields its form reads."""

    action: str = Field(min_length=1, max_length=64, examples=["approve"])
    nonce: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="Idempotency key: sending the same decision again with the same nonce "
        "records it once. Made for you when absent.",
    )
    comment: str | None = Field(None, max_length=1000, description="On the timeline.")
    fields: dict[str, FieldValue] = Field(
        default_factory=dict,
        description="The action's form fields (see the task's `actions`); amounts as "
        'strings ("1234.50"), dates as YYYY-MM-DD.',
    )


class DecisionOut(BaseModel):
    """The decision recorded: the workflow's answer and the task as it is now."""

    status: str | None
    result: dict[str, Any]
    task: TaskOut


def task_out(task: HumanTask, caller: Caller) -> TaskOut:
    """The task in the caller's language and zone."""
    kind = tk.kind_of(task.kind)
    due_text, overdue = ib.due_text(task.due_at, utcnow(), caller.locale, caller.timezone)
    return TaskOut(
        id=task.id,
        kind=task.kind,
        title=task.title,
        ask=caller.t(kind.ask),
        workflow_id=task.workflow_id,
        business_object=ib.business_object(task.workflow_id, caller.locale),
        queue=ib.queue_name(task),
        assignee_user=task.assignee_user,
        status=task.status,
        due_at=task.due_at,
        due_text=due_text,
        overdue=overdue and task.status == "open",
        decision=task.decision,
        decided_by=task.decided_by,
        decided_at=task.decided_at,
        actions=[
            ActionOut(
                name=a.name,
                label=caller.t(a.label),
                form=a.form,
                fields=list(FORM_FIELDS.get(a.form, ())),
                saying_no=a.saying_no,
            )
            for a in kind.actions
        ],
        elsewhere=caller.t(kind.elsewhere) if kind.elsewhere else None,
    )


def _form(body: DecideIn) -> dict[str, str]:
    """The JSON fields as the form strings the task kinds' builders read."""
    form = {
        name: ("yes" if value else "no") if isinstance(value, bool) else str(value)
        for name, value in body.fields.items()
    }
    if body.comment is not None:
        form["comment"] = body.comment
    return form


@router.get("", response_model=TaskPageOut, summary=N_("The inbox: tasks in your scope"))
async def list_tasks(
    caller: CallerDep,
    ctx: ContextDep,
    state: TaskState = TaskState.OPEN,
    holder: Holder = Holder.ANY,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> TaskPageOut:
    """Overdue and soonest due first; `holder=me` for your claimed tasks, `queue` for the
    unclaimed ones."""
    page = await tasks_page(
        ctx.sessions, caller.actor, state=state, holder=holder, cursor=cursor, limit=limit
    )
    return TaskPageOut(
        items=[task_out(t, caller) for t in page.tasks], next_cursor=page.next_cursor
    )


@router.get("/{task_id}", response_model=TaskDetailOut, summary=N_("One task, with its facts"))
async def get_task(task_id: int, caller: CallerDep, ctx: ContextDep) -> TaskDetailOut:
    """The task and what its workflow reports; 404 outside your scope."""
    task = await task_in_scope(ctx.sessions, caller.actor, task_id)
    facts = await tk.workflow_facts(await ctx.client(), task.workflow_id)
    return TaskDetailOut(**task_out(task, caller).model_dump(), facts=facts)


@router.post("/{task_id}/claim", response_model=TaskOut, summary=N_("Claim a task"))
async def claim(task_id: int, caller: CallerDep, ctx: ContextDep) -> TaskOut:
    """Takes an open, unclaimed task (a renewal task is claimed in its workflow too)."""
    task = await ib.claim(ctx.sessions, caller.actor, task_id, ctx.client)
    return task_out(task, caller)


@router.post(
    "/{task_id}/release", response_model=TaskOut, summary=N_("Put a task back in the queue")
)
async def release(task_id: int, caller: CallerDep, ctx: ContextDep) -> TaskOut:
    """Its holder may, and those who may reassign."""
    return task_out(await ib.release(ctx.sessions, caller.actor, task_id), caller)


@router.post("/{task_id}/reassign", response_model=TaskOut, summary=N_("Hand a task to someone"))
async def reassign(task_id: int, body: ReassignIn, caller: CallerDep, ctx: ContextDep) -> TaskOut:
    """Ops, ecosystem managers and partner admins hand an open task to a user who may act."""
    try:
        to = await ctx.actor(body.to)
    except CliError as exc:
        problem = from_cli_error(exc, caller.locale)
        raise ApiProblem(422, problem.type, problem.detail, field="to") from None
    return task_out(await ib.reassign(ctx.sessions, caller.actor, task_id, to), caller)


@router.post("/{task_id}/decide", response_model=DecisionOut, summary=N_("Decide a task"))
async def decide(task_id: int, body: DecideIn, caller: CallerDep, ctx: ContextDep) -> DecisionOut:
    """Runs the action's update on the task's workflow with you as the actor. A business
    refusal is 409 (type = the rule id) or 422 for a refused outcome; nothing is recorded."""
    task = await task_in_scope(ctx.sessions, caller.actor, task_id)
    kind = tk.kind_of(task.kind)
    action = next((a for a in kind.actions if a.name == body.action), None)
    if action is None:
        offered = ", ".join(a.name for a in kind.actions) or "-"
        raise ApiProblem(
            422,
            "unknown_decision",
            caller.t(N_("This task offers these decisions: %(offered)s."), offered=offered),
            field="action",
        )
    if task.status != "open":
        raise ApiProblem(
            409, "task_closed", caller.t(N_("This task is closed; nothing was recorded."))
        )
    nonce = body.nonce or tk.new_nonce()
    try:
        result = await dc.decide_task(
            ctx.sessions, await ctx.client(), caller.actor, task, action, _form(body), nonce
        )
    except dc.TaskHeldError as exc:
        detail = N_("%(user)s holds this task; nothing was recorded.")
        raise ApiProblem(409, "task_held", caller.t(detail, user=exc.holder)) from None
    except tk.FormError as exc:
        errors = [FieldProblem(field=f"fields.{k}", detail=v) for k, v in exc.fields.items()]
        raise ApiProblem(
            422,
            "invalid_input",
            caller.t(N_("Some fields need attention; nothing was recorded.")),
            field=errors[0].field if errors else None,
            errors=errors,
        ) from None
    except dc.OutcomeRefusedError as exc:
        raise _refused(exc, action, caller) from None
    status = str(result.get("status") or "") or None
    fresh = await task_in_scope(ctx.sessions, caller.actor, task_id)
    return DecisionOut(status=status, result=result, task=task_out(fresh, caller))


def _refused(exc: dc.OutcomeRefusedError, action: tk.Action, caller: Caller) -> ApiProblem:
    """A refusal in the workflow's answer (a rule re-checked at the decision, an invoice that
    verification refused) as a problem typed by its first rule, naming every rule."""
    if exc.invoice:
        type_ = exc.rules[0] if exc.rules else "invoice_not_accepted"
        detail = caller.t(N_("The invoice was not accepted: %(problems)s"), problems=exc.reason)
    else:
        type_ = exc.rules[0] if exc.rules else "decision_refused"
        detail = caller.t(
            N_("%(action)s refused: %(reason)s"), action=caller.t(action.label), reason=exc.reason
        )
    return ApiProblem(422, type_, detail, rules=exc.rules, title=N_("Refused"))


__all__ = ["DecideIn", "ReassignIn", "TaskOut", "router", "task_out"]
