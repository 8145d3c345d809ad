"""``partnerflow tasks claim|release|reassign``: the console's claim commands in the CLI.

The listing (``partnerflow tasks --as USER``) is the group's callback in ``cli/core.py``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from starter.cli.output import emit
from starter.cli.runner import JSON_HELP, run_async
from starter.services.context import AppContext
from starter.services.errors import BadInputError, RefusedError
from starter.services.tasks import ClaimError, NotInScopeError, claim, reassign, release

tasks_app = typer.Typer(help="The approver inbox: human tasks waiting for a person.")

Json = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
TaskId = Annotated[int, typer.Argument(help="The task id (`partnerflow tasks --as USER`).")]
AsUser = Annotated[str, typer.Option("--as", help="The user who acts.")]


async def _act(
    ctx: AppContext, what: str, task_id: int, as_user: str, to: str | None, as_json: bool
) -> None:
    actor = await ctx.actor(as_user)
    try:
        if what == "claim":
            task = await claim(ctx.sessions, actor, task_id, ctx.client)
        elif what == "release":
            task = await release(ctx.sessions, actor, task_id)
        else:
            assert to is not None
            task = await reassign(ctx.sessions, actor, task_id, await ctx.actor(to))
    except NotInScopeError:
        raise BadInputError(
            f"no open task {task_id} that {as_user} may act on", rule="not_found"
        ) from None
    except ClaimError as exc:
        raise RefusedError(str(exc), rule="invalid_state") from None
    holder = task.assignee_user or "nobody (back in the queue)"
    emit(
        {"id": task.id, "title": task.title, "assignee_user": task.assignee_user},
        as_json,
        f"task {task.id} ({task.title}): held by {holder}",
    )


def _run(as_json: bool, what: str, task_id: int, as_user: str, to: str | None = None) -> None:
    async def body(ctx: AppContext) -> None:
        await _act(ctx, what, task_id, as_user, to, as_json)

    run_async(as_json, body)


@tasks_app.command("claim")
def claim_cmd(task_id: TaskId, as_user: AsUser, as_json: Json = False) -> None:
    """Take a task from the queue (a renewal task is claimed in its workflow too)."""
    _run(as_json, "claim", task_id, as_user)


@tasks_app.command("release")
def release_cmd(task_id: TaskId, as_user: AsUser, as_json: Json = False) -> None:
    """Put a task back in the queue (its holder, or ops / managers / partner admins)."""
    _run(as_json, "release", task_id, as_user)


@tasks_app.command("reassign")
def reassign_cmd(
    task_id: TaskId,
    to: Annotated[str, typer.Option("--to", help="The user who gets the task.")],
    as_user: AsUser,
    as_json: Json = False,
) -> None:
    """Hand a task to another user who may act on it (ops, managers, partner admins)."""
    _run(as_json, "reassign", task_id, as_user, to)
