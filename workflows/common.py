"""What every workflow uses: activity options, email, tasks, audit, actor verification,
search attributes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities.actors import ActorActivities
    from activities.notify import EmailActivities
    from domain.errors import PermissionDeniedError
    from domain.notifications import EmailRequest, EmailResult, LinkSpec
    from domain.parties import Actor, Role

from workflows.guard import bound
from workflows.options import ACTIVITY_TIMEOUT, RETRY
from workflows.steps import (
    event,
    operators,
    task_closed,
    task_opened,
    task_reassigned,
    write_step,
)

__all__ = ["ACTIVITY_TIMEOUT", "RETRY"]  # the shared options, as every workflow imports them

PARTNER_ID = SearchAttributeKey.for_keyword("PartnerId")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
BUSINESS_STATUS = SearchAttributeKey.for_keyword("BusinessStatus")


def set_business_status(status: str) -> None:
    """Upserts ``BusinessStatus`` when the starter indexed this workflow.

    Starters set ``PartnerId``/``CustomerId`` on a server that has the custom search
    attributes; on a server without them (the time-skipping test server) nothing is indexed,
    and upserting would fail the workflow task, so we check what the start carried.
    """
    indexed = workflow.info().typed_search_attributes
    if indexed.get(PARTNER_ID) is not None or indexed.get(CUSTOMER_ID) is not None:
        workflow.upsert_search_attributes([BUSINESS_STATUS.value_set(status)])


def run_key() -> str:
    """``workflow_id/run_id``: the business id of this run (a resend is a new run)."""
    info = workflow.info()
    return f"{info.workflow_id}/{info.run_id}"


async def send_email(
    key: str,
    to: str,
    template: str,
    context: dict[str, object],
    links: list[LinkSpec] | None = None,
) -> EmailResult:
    """Sends one email through the outbox (once per key).

    An undeliverable email (SMTP 5xx, or a header we refuse to send) does not fail the
    process: it goes on the timeline and ops gets a task to fix the address.
    """
    result = await workflow.execute_activity_method(
        EmailActivities.send_email,
        EmailRequest(
            key=key,
            to=to,
            template=template,
            context=context,
            links=links or [],
            workflow_id=workflow.info().workflow_id,
        ),
        start_to_close_timeout=timedelta(seconds=60),
        schedule_to_close_timeout=bound(),
        # The activity heartbeats during the SMTP exchange: a crashed worker is noticed fast.
        heartbeat_timeout=timedelta(seconds=10),
        retry_policy=RETRY,
    )
    if result.undeliverable:
        await _report_undeliverable(key, to, template, result)
    return result


def bounded_key(key: str) -> str:
    """``key`` within the 200 characters of the key columns, still unique when shortened."""
    if len(key) <= 200:
        return key
    return f"{key[:150]}:{hashlib.sha256(key.encode()).hexdigest()[:40]}"


async def _report_undeliverable(key: str, to: str, template: str, result: EmailResult) -> None:
    # ``to`` may hold the very line break that made the email invalid: show it escaped.
    shown = to if result.status == "bounced" else repr(to)
    what = "bounced" if result.status == "bounced" else "was not sent"
    # One task per address and workflow: several emails to the same bad address need one fix.
    digest = hashlib.sha256(to.encode()).hexdigest()[:16]
    await write_step(
        event(
            bounded_key(f"{key}:{result.status}"),
            f"email_{result.status}",
            "system",
            f"{template} email to {shown} {what}: {result.error or 'no reason given'}",
        ),
        task_opened(
            bounded_key(f"{workflow.info().workflow_id}:email_bounced:{digest}"),
            "email_bounced",
            f"Fix the email address {shown}: {template} {what} ({result.error or ''})"[:300],
            Role.OPS,
            None,
            None,
        ),
    )


def link(
    name: str,
    action: str,
    actor_id: str,
    expires_at: datetime | None,
    *,
    task_key: str | None = None,
    offline: bool = False,
) -> LinkSpec:
    """A signed-link spec bound to this run (and to ``task_key``), with a deterministic nonce.

    ``offline`` marks the one link that never expires (an invitation handed over offline);
    every other link's expiry is capped by the signer's TTL.
    """
    info = workflow.info()
    return LinkSpec(
        name=name,
        workflow_id=info.workflow_id,
        run_id=info.run_id,
        task_key=task_key,
        offline=offline,
        action=action,
        actor_id=actor_id,
        nonce=str(workflow.uuid4()),
        expires_at=expires_at,
    )


async def open_task(
    key: str,
    kind: str,
    title: str,
    role: Role,
    party: str | None,
    due_at: datetime | None,
) -> None:
    """Opens a human task (once per key)."""
    await write_step(task_opened(key, kind, title, role, party, due_at))


async def close_task(
    key: str,
    status: str,
    *,
    decision: str | None = None,
    comment: str | None = None,
    decided_by: str | None = None,
) -> None:
    """Closes a human task with its outcome."""
    await write_step(
        task_closed(key, status, decision=decision, comment=comment, decided_by=decided_by)
    )


async def reassign_task(key: str, role: Role, party: str | None, comment: str) -> None:
    """Escalation: the open task moves to another role."""
    await write_step(task_reassigned(key, role, party, comment))


async def audit(
    key: str, event_name: str, actor: str, detail: str = "", *, operator: str | None = None
) -> None:
    """Records one business event on this workflow's timeline (once per key)."""
    await write_step(event(key, event_name, actor, detail, operator=operator))


async def verify_actor(actor: Actor, operator: str | None = None) -> None:
    """Looks the claimed actor up before a decision takes effect; refuses a false claim.

    Validators check that the claimed role and party may decide; this checks that the claim
    is true (an update can be sent straight to Temporal with any payload). A refusal is
    audited with who tried and fails the update with rule ``actor_not_verified``.
    """
    check = await workflow.execute_activity_method(
        ActorActivities.verify_actor,
        actor,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        schedule_to_close_timeout=bound(),
        retry_policy=RETRY,
    )
    if check.verified:
        if operator:
            operators()[actor.user_id] = operator
        else:  # e.g. a signed link: the actor acted without an operator this time
            operators().pop(actor.user_id, None)
        return
    update = workflow.current_update_info()
    attempt = update.id if update is not None else str(workflow.uuid4())
    # One event per attempt; the update id is the caller's and may be long: hashed.
    digest = hashlib.sha256(attempt.encode()).hexdigest()[:24]
    claimed = actor.describe()
    await audit(
        bounded_key(f"{workflow.info().workflow_id}:actor_refused:{digest}"),
        "actor_refused",
        actor.user_id,
        f"{update.name if update else 'decision'} refused: claimed {claimed}; "
        f"stored: {check.stored}; {check.reason}",
        operator=operator,
    )
    raise PermissionDeniedError(
        f"{claimed} could not be verified ({check.reason}); the decision was not taken. "
        "Act as yourself (`--as` your own user id) or ask ops to fix your user.",
        rule="actor_not_verified",
    ).to_application_error()


async def wait_until(done: Callable[[], bool], until: datetime) -> bool:
    """Waits until ``done()`` or ``until``; True when done."""
    timeout = until - workflow.now()
    if timeout <= timedelta(0):
        return done()
    try:
        await workflow.wait_condition(done, timeout=timeout)
    except TimeoutError:
        return done()
    return True


def fmt_utc(at: datetime) -> str:
    """A time as emails and messages show it."""
    return f"{at:%Y-%m-%d %H:%M} UTC"
